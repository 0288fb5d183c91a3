// Loading is validation: every malformed model is rejected with the file name, the JSON path and
// what was expected vs found. Each case mutates one field of a small valid model.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include "core/json_io.h"
#include "graph/serialize.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;
using json = nlohmann::json;

namespace {

// image [N,1,6,6] -> conv 2@3x3 [N,2,4,4] -> relu -> max pool 2 [N,2,2,2] -> flatten [N,8] -> fc [N,3]
json valid_model() {
  return json::parse(R"({
    "format": "xgrad-model", "format_version": 1, "name": "small",
    "graph": {
      "inputs": [{"name": "image", "shape": [-1, 1, 6, 6]}, {"name": "label", "shape": [-1], "dtype": "int32"}],
      "params": [{"name": "conv.w", "shape": [2, 1, 3, 3], "init": "glorot_uniform"},
                 {"name": "conv.b", "shape": [2], "init": "zeros"},
                 {"name": "fc.w", "shape": [8, 3], "init": {"type": "uniform", "low": -0.1, "high": 0.1}}],
      "nodes": [{"name": "conv", "op": "conv2d", "inputs": ["image", "conv.w", "conv.b"], "attrs": {"stride": 1}},
                {"name": "act", "op": "relu", "inputs": ["conv"]},
                {"name": "pool", "op": "max_pool2d", "inputs": ["act"], "attrs": {"kernel": 2}},
                {"name": "flat", "op": "flatten", "inputs": ["pool"]},
                {"name": "fc", "op": "matmul", "inputs": ["flat", "fc.w"]},
                {"name": "loss", "op": "softmax_cross_entropy", "inputs": ["fc", "label"]}],
      "outputs": {"logits": "fc", "loss": "loss"}
    },
    "weights": {"conv.b": {"shape": [2], "data": [0.5, -0.5]}},
    "meta": {}
  })");
}

struct Case {
  const char* what;
  std::function<void(json&)> mutate;
  std::vector<const char*> expected;  // substrings of the error message
};

json& at(json& j, const char* pointer) { return j[json::json_pointer(pointer)]; }

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    json j = valid_model();
    c.mutate(j);
    INFO(c.what);
    const std::string msg = test::error_of([&] { model_from_json(j, "m.json"); });
    INFO("message: " << msg);
    CHECK(msg.rfind("m.json: ", 0) == 0);
    for (const char* part : c.expected) CHECK(msg.find(part) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("the valid base model loads") {
  const Model m = model_from_json(valid_model(), "m.json");
  CHECK(m.graph.node(m.graph.id("fc")).info.shape == Shape{-1, 3});
  CHECK(m.weights.size() == 1);
  CHECK(m.weights.at("conv.b")(1) == -0.5f);
}

TEST_CASE("reject: envelope (format, version, fields)") {
  check_cases({
      {"wrong format",
       [](json& j) { j["format"] = "onnx"; },
       {"format: expected \"xgrad-model\"", "\"onnx\""}},
      {"newer version",
       [](json& j) { j["format_version"] = 2; },
       {"format_version", "written by a newer xgrad"}},
      {"version 0", [](json& j) { j["format_version"] = 0; }, {"format_version: expected 1, found 0"}},
      {"version as string",
       [](json& j) { j["format_version"] = "1"; },
       {"format_version: expected an integer"}},
      {"missing graph", [](json& j) { j.erase("graph"); }, {"missing field \"graph\""}},
      {"unknown top-level field", [](json& j) { j["weigths"] = json::object(); }, {"weigths: unknown field"}},
      {"meta not an object", [](json& j) { j["meta"] = json::array(); }, {"meta: expected an object"}},
      {"name not a string", [](json& j) { j["name"] = 3; }, {"name: expected a string"}},
      {"missing nodes", [](json& j) { at(j, "/graph").erase("nodes"); }, {"graph: missing field \"nodes\""}},
      {"node without op",
       [](json& j) { at(j, "/graph/nodes/1").erase("op"); },
       {"graph.nodes[1]: missing field \"op\""}},
      {"typo in node",
       [](json& j) { at(j, "/graph/nodes/2/atrs") = json::object(); },
       {"graph.nodes[2].atrs: unknown field"}},
      {"input without shape",
       [](json& j) { at(j, "/graph/inputs/0").erase("shape"); },
       {"graph.inputs[0]: missing field \"shape\""}},
      {"unknown dtype",
       [](json& j) { at(j, "/graph/inputs/1/dtype") = "float64"; },
       {"graph.inputs[1].dtype", "float64"}},
      {"unknown init",
       [](json& j) { at(j, "/graph/params/1/init") = "magic"; },
       {"graph.params[1].init", "magic"}},
      {"param without init",
       [](json& j) { at(j, "/graph/params/1").erase("init"); },
       {"graph.params[1]: missing field \"init\""}},
      {"nodes not an array",
       [](json& j) { at(j, "/graph/nodes") = json::object(); },
       {"graph.nodes: expected an array"}},
      {"inputs list holds a name",
       [](json& j) { at(j, "/graph/nodes/1/inputs/0") = 3; },
       {"graph.nodes[1].inputs[0]: expected a name"}},
  });
}

TEST_CASE("reject: dimensions and shapes") {
  check_cases({
      {"2.7",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = 2.7; },
       {"graph.inputs[0].shape[2]", "expected an integer dimension", "2.7"}},
      {"\"4\"",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = "4"; },
       {"graph.inputs[0].shape[2]", "the string \"4\""}},
      {"true",
       [](json& j) { at(j, "/graph/params/0/shape/0") = true; },
       {"graph.params[0].shape[0]", "found true"}},
      {"null",
       [](json& j) { at(j, "/graph/params/0/shape/0") = nullptr; },
       {"graph.params[0].shape[0]", "found null"}},
      {"6.0 is not an integer",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = 6.0; },
       {"graph.inputs[0].shape[2]"}},
      {"zero",
       [](json& j) { at(j, "/graph/params/1/shape/0") = 0; },
       {"graph.params[1].shape[0]: expected a positive dimension, found 0"}},
      {"negative",
       [](json& j) { at(j, "/graph/params/1/shape/0") = -2; },
       {"graph.params[1].shape[0]", "found -2"}},
      {"batch in a param",
       [](json& j) { at(j, "/graph/params/1/shape/0") = -1; },
       {"graph.params[1].shape[0]", "found -1"}},
      {"batch not leading",
       [](json& j) { at(j, "/graph/inputs/0/shape/1") = -1; },
       {"graph.inputs[0].shape[1]", "found -1"}},
      {"over 2^31 elements",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {65536, 65536};
       },
       {"graph.params[1].shape", "more than 2^31"}},
      {"overflows int64",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {int64_t(1) << 32, int64_t(1) << 32, int64_t(1) << 32};
       },
       {"graph.params[1].shape", "more than 2^31"}},
      {"zero after huge dims",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {int64_t(1) << 32, int64_t(1) << 32, 0};
       },
       {"graph.params[1].shape[2]", "positive"}},
      {"beyond int64",
       [](json& j) { at(j, "/graph/params/1/shape/0") = uint64_t(1) << 63; },
       {"graph.params[1].shape[0]", "too large"}},
      {"shape not an array",
       [](json& j) { at(j, "/graph/params/1/shape") = 2; },
       {"graph.params[1].shape: expected a shape"}},
      {"shapes do not fit",
       [](json& j) { at(j, "/graph/params/2/shape/0") = 7; },
       {"graph.nodes[4]", "fc", "matmul", "[-1, 8]", "[7, 3]"}},
  });
}

TEST_CASE("reject: ops and attributes") {
  check_cases({
      {"unknown op",
       [](json& j) { at(j, "/graph/nodes/1/op") = "gelu"; },
       {"graph.nodes[1].op: unknown op \"gelu\"", "relu"}},
      {"unknown attribute",
       [](json& j) { at(j, "/graph/nodes/0/attrs/strides") = 1; },
       {"graph.nodes[0].attrs.strides: unknown attribute"}},
      {"missing kernel",
       [](json& j) { at(j, "/graph/nodes/2/attrs") = json::object(); },
       {"graph.nodes[2].attrs.kernel: required"}},
      {"stride as string",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = "2"; },
       {"graph.nodes[0].attrs.stride", "\"2\""}},
      {"stride 2.5",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = 2.5; },
       {"graph.nodes[0].attrs.stride"}},
      {"kernel 0",
       [](json& j) { at(j, "/graph/nodes/2/attrs/kernel") = 0; },
       {"graph.nodes[2].attrs.kernel"}},
      {"stride 0",
       [](json& j) {
         at(j, "/graph/nodes/0/attrs/stride") = {1, 0};
       },
       {"graph.nodes[0].attrs.stride"}},
      {"negative padding",
       [](json& j) { at(j, "/graph/nodes/0/attrs/padding") = -1; },
       {"graph.nodes[0].attrs.padding"}},
      {"huge unsigned attr",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = uint64_t(1) << 63; },
       {"graph.nodes[0].attrs.stride", "too large"}},
      {"window larger than input",
       [](json& j) { at(j, "/graph/nodes/2/attrs/kernel") = 5; },
       {"graph.nodes[2]", "pool", "larger than the padded input"}},
      {"attrs not an object",
       [](json& j) { at(j, "/graph/nodes/0/attrs") = json::array(); },
       {"graph.nodes[0].attrs: expected an object"}},
      {"wrong input count",
       [](json& j) {
         at(j, "/graph/nodes/1/inputs") = {"conv", "conv"};
       },
       {"graph.nodes[1]", "act", "expected 1 inputs, found 2"}},
  });
}

TEST_CASE("reject: names, references, cycles, outputs") {
  check_cases({
      {"unknown name",
       [](json& j) { at(j, "/graph/nodes/0/inputs/1") = "conv9.w"; },
       {"graph.nodes[0].inputs[1]: unknown name \"conv9.w\""}},
      {"duplicate input names",
       [](json& j) { at(j, "/graph/inputs/1/name") = "image"; },
       {"graph.inputs[1].name: duplicate name \"image\"", "graph.inputs[0]"}},
      {"node named like a param",
       [](json& j) { at(j, "/graph/nodes/1/name") = "fc.w"; },
       {"graph.nodes[1].name: duplicate name \"fc.w\"", "graph.params[2]"}},
      {"empty name", [](json& j) { at(j, "/graph/nodes/1/name") = ""; }, {"graph.nodes[1].name", "empty"}},
      {"self-loop",
       [](json& j) { at(j, "/graph/nodes/1/inputs/0") = "act"; },
       {"graph.nodes[1].inputs[0]", "\"act\" reads itself"}},
      {"cycle",
       [](json& j) { at(j, "/graph/nodes/0/inputs/0") = "pool"; },
       {"form a cycle", "\"conv\"", "\"act\"", "\"pool\""}},
      {"output names unknown node",
       [](json& j) { at(j, "/graph/outputs/logits") = "fc9"; },
       {"graph.outputs.logits: unknown node \"fc9\""}},
      {"output not a string",
       [](json& j) { at(j, "/graph/outputs/logits") = 1; },
       {"graph.outputs.logits: expected a node name"}},
      {"loss not a scalar",
       [](json& j) { at(j, "/graph/outputs/loss") = "fc"; },
       {"graph.outputs.loss", "[-1, 3]", "scalar"}},
  });
}

TEST_CASE("reject: weights") {
  check_cases({
      {"unknown param",
       [](json& j) {
         j["weights"]["conv9.w"] = {{"shape", {2}}, {"data", {1, 2}}};
       },
       {"weights.conv9.w: the graph has no param named \"conv9.w\""}},
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
      {"infinity (1e999 parses to inf)",
       [](json& j) { at(j, "/weights/conv.b/data/0") = HUGE_VAL; },
       {"weights.conv.b.data[0]"}},
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
