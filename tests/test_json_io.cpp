// File reading and atomic writing, the strict JSON parser, the deterministic writer and gzip.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "core/json_io.h"
#include "core/rng.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;
using json = nlohmann::json;

TEST_CASE("read_text_file: contents, and clear errors for bad files") {
  TempDir dir;
  CHECK(read_text_file(dir.write("a.txt", "hello\n")) == "hello\n");
  CHECK(read_text_file(dir.write("empty.txt", "")).empty());
  CHECK_ERROR_HAS(read_text_file(dir.path("missing.json")), "missing.json", "cannot open", "No such file");
  CHECK_ERROR_HAS(read_text_file(dir.path("")), "is a directory");
  CHECK_ERROR_HAS(read_text_file(dir.path("a.txt/x")), "a.txt/x", "cannot open", "Not a directory");
  // The size limit is checked before reading anything.
  CHECK_ERROR_HAS(read_text_file(dir.write("big.txt", std::string(5000, 'x')), 4096), "big.txt", "5000 bytes",
                  "limit of 4096");
  // A FIFO without a writer must not hang.
  REQUIRE(::mkfifo(dir.path("fifo").c_str(), 0600) == 0);
  CHECK(read_text_file(dir.path("fifo")).empty());
  if (::geteuid() != 0) {  // root reads anything: permissions cannot make a file unreadable for it
    const std::string locked = dir.write("locked.json", "{}");
    ::chmod(locked.c_str(), 0);
    CHECK_ERROR_HAS(read_text_file(locked), "locked.json", "Permission denied");
  }
}

TEST_CASE("write_file_atomic: writes, replaces, and keeps the mode of a replaced file") {
  TempDir dir;
  const std::string p = dir.path("out.json");
  write_file_atomic(p, "one");
  CHECK(test::slurp(p) == "one");
  ::chmod(p.c_str(), 0640);
  write_file_atomic(p, "two, longer");
  CHECK(test::slurp(p) == "two, longer");
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(dir.entries() == std::vector<std::string>{"out.json"});  // no temp file left
}

TEST_CASE("write_file_atomic: a failed write leaves the old file and no temp file") {
  TempDir dir;
  // Failures root hits too: a target that is a directory, a parent that is a regular file, a
  // directory that does not exist.
  std::filesystem::create_directory(dir.path("sub"));
  dir.write("sub/keep.txt", "kept");
  CHECK_ERROR_HAS(write_file_atomic(dir.path("sub"), "x"), "sub", "is a directory");
  CHECK(test::slurp(dir.path("sub/keep.txt")) == "kept");
  dir.write("plain", "old");
  CHECK_ERROR_HAS(write_file_atomic(dir.path("plain/x.json"), "x"), "plain/x.json", "cannot create");
  CHECK_ERROR_HAS(write_file_atomic(dir.path("nowhere/x.json"), "x"), "nowhere/x.json", "No such file");
  CHECK(dir.entries() == std::vector<std::string>{"plain", "sub"});
  CHECK(test::slurp(dir.path("plain")) == "old");
}

TEST_CASE("write_file_atomic: a write that fails half-way (file size limit) keeps the old file") {
  TempDir dir;
  const std::string p = dir.write("model.json", "the previous model");
  // RLIMIT_FSIZE makes write(2) fail with EFBIG even for root, once SIGXFSZ is ignored.
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 1000;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  std::string msg;
  try {
    write_file_atomic(p, std::string(100000, 'x'));
  } catch (const Error& e) {
    msg = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, old_handler);
  CHECK(msg.find("model.json: write failed") != std::string::npos);
  CHECK(test::slurp(p) == "the previous model");
  CHECK(dir.entries() == std::vector<std::string>{"model.json"});
}

TEST_CASE("parse_json rejects what is not strict JSON, with the file and the JSON path") {
  CHECK_ERROR_HAS(parse_json("", "m.json"), "m.json", "empty");
  CHECK_ERROR_HAS(parse_json("  \n", "m.json"), "m.json", "only whitespace");
  CHECK_ERROR_HAS(parse_json("{\"a\": [1, 2", "m.json"), "m.json", "not valid JSON", "line 1");
  CHECK_ERROR_HAS(parse_json("{\"a\": 1} x", "m.json"), "m.json", "not valid JSON");
  CHECK_ERROR_HAS(parse_json("{\"a\": 1}{}", "m.json"), "not valid JSON");
  CHECK_ERROR_HAS(parse_json("{\"a\": \"\xff\xfe\"}", "m.json"), "m.json", "not valid JSON");
  CHECK_ERROR_HAS(parse_json("{\"a\": \"\xc3\"}", "m.json"), "not valid JSON");  // truncated UTF-8
  CHECK_ERROR_HAS(parse_json("{\"a\": NaN}", "m.json"), "not valid JSON");
  CHECK_ERROR_HAS(parse_json("{\"graph\": {\"params\": [{}, {\"name\": 1, \"name\": 2}]}}", "m.json"),
                  "m.json: graph.params[1]: duplicate key \"name\"");
  CHECK_ERROR_HAS(parse_json("{\"a\": 1, \"a\": 1}", "m.json"), "m.json: duplicate key \"a\"");
  // Deep nesting is refused (no stack overflow, no hang).
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_ERROR_HAS(parse_json(deep, "m.json"), "m.json", "nested deeper than 64");
  JsonLimits small;
  small.max_values = 10;
  CHECK_ERROR_HAS(parse_json("[1,2,3,4,5,6,7,8,9,10,11,12]", "m.json", small), "more than 10 JSON values");
  // Same keys in different objects are fine; unicode strings are kept.
  const json ok = parse_json("{\"a\": {\"k\": 1}, \"b\": {\"k\": \"\xc3\xa9\"}}", "m.json");
  CHECK(ok["b"]["k"] == "\xc3\xa9");
}

TEST_CASE("dump_json: layout, key order, and float32 data that reads back bit-identically") {
  const json j = {{"meta", {{"z", 1}, {"a", 0.1}}}, {"format", "x"}, {"data", {1.5, -0.0, 3.0}}};
  CHECK(dump_json(j) == "{\"format\": \"x\", \"data\": [1.5, -0.0, 3], \"meta\": {\"a\": 0.1, \"z\": 1}}\n");
  // Containers too wide for one line are indented; arrays of scalars stay on one line.
  json wide = {{"data", json::array()}, {"shape", {1000}}};
  for (int i = 0; i < 1000; ++i) wide["data"].push_back(double(float(i) / 7.0f));
  const std::string text = dump_json(wide);
  CHECK(text.rfind("{\n  \"shape\": [1000],\n  \"data\": [0, 0.14285715, ", 0) == 0);
  CHECK(std::count(text.begin(), text.end(), '\n') == 4);

  // Random bit patterns: written shortest, parsed back to the same float bits, written identically.
  Rng rng(3);
  json data = json::array();
  std::vector<float> floats;
  while (floats.size() < 20000) {
    const uint32_t bits = uint32_t(rng.next_u64());
    float f;
    std::memcpy(&f, &bits, 4);
    if (!std::isfinite(f)) continue;
    floats.push_back(f);
    data.push_back(double(f));
  }
  const std::string once = dump_json({{"data", data}});
  const json back = parse_json(once, "t");
  json again = json::array();  // what a tensor reader does: each number to float32
  for (size_t i = 0; i < floats.size(); ++i) {
    const float g = float(back["data"][i].get<double>());
    REQUIRE(std::memcmp(&g, &floats[i], 4) == 0);
    again.push_back(double(g));
  }
  CHECK(dump_json({{"data", again}}) == once);
  // Outside "data", doubles keep full precision.
  CHECK(dump_json({{"lr", double(0.1f)}}) == "{\"lr\": 0.10000000149011612}\n");
}

TEST_CASE("dump_json refuses what JSON cannot hold, naming the path") {
  CHECK_ERROR_HAS(dump_json({{"meta", {{"acc", std::nan("")}}}}), "meta.acc", "cannot be written");
  CHECK_ERROR_HAS(dump_json({{"w", {1.0, HUGE_VAL}}}), "w[1]", "cannot be written");
  CHECK_ERROR_HAS(dump_json({{"s", "\xff"}}), "s", "not valid UTF-8");
}

TEST_CASE("gzip round trip, limits and corrupt data") {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "{\"n\": " + std::to_string(i) + "}\n";
  const std::string gz = gzip_compress(text);
  CHECK(is_gzip(gz));
  CHECK(gz.size() < text.size() / 4);
  CHECK(gzip_decompress(gz, "f.gz", 1 << 20) == text);
  CHECK_ERROR_HAS(gzip_decompress(gz, "f.gz", 1000), "f.gz", "more than the limit of 1000");
  CHECK_ERROR_HAS(gzip_decompress(gz.substr(0, gz.size() / 2), "f.gz", 1 << 20), "f.gz", "truncated");
  std::string bad = gz;
  bad[bad.size() / 2] = char(bad[bad.size() / 2] ^ 0x55);
  CHECK_ERROR_HAS(gzip_decompress(bad, "f.gz", 1 << 20), "f.gz");
  TempDir dir;
  const std::string p = dir.path("m.json.gz");
  write_file_atomic(p, gzip_compress("{\"a\": [1, 2]}"));
  CHECK(read_json_file(p) == json{{"a", {1, 2}}});
}
