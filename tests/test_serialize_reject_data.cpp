// Loading is validation, continued: weights and whole files (empty, truncated, not UTF-8, too deep,
// too large, a directory, corrupt gzip).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include "core/json_io.h"
#include "tests/test_serialize_cases.h"

using namespace xgrad;
using test::at;
using test::check_cases;
using test::TempDir;
using test::valid_model;
using json = nlohmann::json;

TEST_CASE("reject: weights") {
  check_cases({
      {"unknown param",
       [](json& j) {
         j["weights"]["conv9.w"] = {{"shape", {2}}, {"data", {1, 2}}};
       },
       {"weights.conv9.w: the graph has no param or state named \"conv9.w\""}},
      {"weights for an op node",
       [](json& j) {
         j["weights"]["act"] = {{"shape", {2}}, {"data", {1, 2}}};
       },
       {"weights.act", "op node"}},
      {"wrong length",
       [](json& j) { at(j, "/weights/conv.b/data").push_back(1); },
       {"weights.conv.b.data: holds 3 numbers, shape [2] needs 2"}},
      {"wrong shape",
       [](json& j) {
         j["weights"]["conv.b"] = {{"shape", {1, 2}}, {"data", {1, 2}}};
       },
       {"weights.conv.b.shape", "[1, 2]", "[2]"}},
      {"null value",
       [](json& j) { at(j, "/weights/conv.b/data/1") = nullptr; },
       {"weights.conv.b.data[1]: expected a number, found null"}},
      {"string value", [](json& j) { at(j, "/weights/conv.b/data/0") = "0.5"; }, {"weights.conv.b.data[0]"}},
      {"beyond float32",
       [](json& j) { at(j, "/weights/conv.b/data/0") = 1e39; },
       {"weights.conv.b.data[0]", "float32 range"}},
      {"missing data",
       [](json& j) { at(j, "/weights/conv.b").erase("data"); },
       {"weights.conv.b: missing field \"data\""}},
      {"data and data_b64",
       [](json& j) { at(j, "/weights/conv.b/data_b64") = "AAAAAAAAAAA="; },
       {"weights.conv.b", "both"}},
      {"bad base64",
       [](json& j) {
         at(j, "/weights/conv.b").erase("data");
         at(j, "/weights/conv.b/data_b64") = "AA*A";
       },
       {"weights.conv.b.data_b64", "invalid base64"}},
      {"base64 too short",
       [](json& j) {
         at(j, "/weights/conv.b").erase("data");
         at(j, "/weights/conv.b/data_b64") = "AAAAAA==";
       },
       {"weights.conv.b.data_b64", "holds 4 bytes", "needs 8"}},
      {"base64 NaN",
       [](json& j) {
         at(j, "/weights/conv.b").erase("data");
         at(j, "/weights/conv.b/data_b64") = "AADAfwAAAAA=";
       },
       {"weights.conv.b.data_b64", "element 0 is not finite"}},
      {"weights not an object",
       [](json& j) { j["weights"] = json::array(); },
       {"weights: expected an object"}},
  });
}

TEST_CASE("reject: files that are not model files") {
  TempDir dir;
  const std::string valid = valid_model().dump();
  auto load = [&](const std::string& name, const std::string& text) {
    return load_model(dir.write(name, text));
  };
  CHECK_ERROR_HAS(load("empty.json", ""), "empty.json", "empty");
  CHECK_ERROR_HAS(load("trunc.json", valid.substr(0, valid.size() / 2)), "trunc.json", "not valid JSON");
  CHECK_ERROR_HAS(load("trailing.json", valid + " }"), "trailing.json", "not valid JSON");
  CHECK_ERROR_HAS(load("nan.json", "{\"x\": NaN}"), "nan.json", "not valid JSON");
  std::string inf = valid;  // nlohmann reads 1e999 as infinity
  inf.replace(inf.find("[0.5,"), 5, "[1e999,");
  CHECK_ERROR_HAS(load("inf.json", inf), "inf.json: weights.conv.b.data[0]: number overflow");
  std::string latin1 = valid;
  latin1.replace(latin1.find("small"), 5, "sm\xe4ll");
  CHECK_ERROR_HAS(load("utf8.json", latin1), "utf8.json", "not valid JSON");
  std::string dup = valid;
  dup.replace(dup.find("\"name\":\"small\""), 14, "\"name\":\"a\",\"name\":\"b\"");
  CHECK_ERROR_HAS(load("dup.json", dup), "dup.json", "duplicate key \"name\"");
  json deep = valid_model();
  json* cur = &deep["meta"];
  for (int i = 0; i < 100; ++i) cur = &((*cur)["x"] = json::object());
  CHECK_ERROR_HAS(load("deep.json", deep.dump()), "deep.json", "meta.x.x", "nested deeper than 64");
  CHECK_ERROR_HAS(load_model(dir.path("")), "is a directory");
  CHECK_ERROR_HAS(load_model(dir.path("absent.json")), "absent.json", "No such file");
  // A sparse file larger than the limit: refused from its size, before any memory is used.
  const std::string big = dir.path("big.json");
  const int fd = ::open(big.c_str(), O_CREAT | O_WRONLY, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, off_t(kMaxModelBytes) + 1) == 0);
  ::close(fd);
  CHECK_ERROR_HAS(load_model(big), "big.json", "more than the limit");
  // gzip that inflates past the limit, or is corrupt.
  CHECK_ERROR_HAS(load("bad.json.gz", gzip_compress(valid).substr(0, 20)), "bad.json.gz", "gzip");
}
