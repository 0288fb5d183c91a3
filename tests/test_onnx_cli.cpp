// `xgrad export --onnx` and `xgrad import-onnx` run as a user would: a trained model goes to ONNX
// and back with identical weights; bad files give one error line, a non-zero exit and no output.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include <cstdio>

#include "graph/onnx.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;

namespace {

using CliResult = test::CliRun;

CliResult xgrad_cli(const TempDir& dir, const std::string& args) { return test::run_xgrad(dir.path(), args); }

}  // namespace

TEST_CASE("onnx cli: a trained model exported and imported back keeps its weights bit for bit") {
  TempDir dir;
  const Graph g = lenet("relu");
  Rng rng(4);
  const Params w = init_params(g, rng);
  save_model(dir.path("m.json"), g, &w, json{{"note", "trained"}});
  const std::string onnx_file = dir.path("m.onnx"), back = dir.path("back.json");
  REQUIRE(xgrad_cli(dir, "export --model " + dir.path("m.json") + " --onnx " + onnx_file + " --opset 11")
              .status == 0);
  REQUIRE(xgrad_cli(dir, "import-onnx " + onnx_file + " --out " + back).status == 0);
  const Model m = load_model(back);
  CHECK(m.meta == json{{"note", "trained"}});
  CHECK(m.weights.size() == w.size());
  for (const auto& [name, t] : w) {
    INFO("param ", name);
    REQUIRE(m.weights.count(name));
    CHECK(m.weights.at(name) == t);
  }
  CHECK(m.graph.output("loss") >= 0);  // ready for xgrad train
}

TEST_CASE("onnx cli: errors name the file, exit non-zero and write nothing") {
  TempDir dir;
  const std::string bad = dir.write("bad.onnx", "not a model");
  CliResult r = xgrad_cli(dir, "import-onnx " + bad + " --out " + dir.path("out.json"));
  CHECK(r.status == 1);
  CHECK(r.err == "xgrad: error: " + bad + ": not an ONNX model (the protobuf is truncated or corrupt)\n");
  save_model(dir.path("arch.json"), lenet("sigmoid"), nullptr, json::object());
  r = xgrad_cli(dir, "export --model " + dir.path("arch.json") + " --onnx " + dir.path("out.onnx"));
  CHECK(r.status == 1);
  CHECK(r.err.find("\"conv1.w\" has no weights") != std::string::npos);
  r = xgrad_cli(
      dir, "export --model " + dir.path("arch.json") + " --onnx " + dir.path("out.onnx") + " --opset 99");
  CHECK(r.err.find("opset: expected 11 to 17, found 99") != std::string::npos);
  CHECK(dir.entries() == std::vector<std::string>{"arch.json", "bad.onnx"});
}
#endif
