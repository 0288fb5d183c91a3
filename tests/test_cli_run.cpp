// The xgrad program's run, summary and export commands, run as a user would (test::cli_path()):
// output, exit status and error messages.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "core/json_io.h"
#include "graph/engine.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;
using json = nlohmann::json;

namespace {

using CliResult = test::CliRun;

CliResult run_cli(const TempDir& dir, const std::string& args) { return test::run_xgrad(dir.path(), args); }

// x [N,2] -> z = x w (w [2,1]) -> s = sigmoid(z) -> loss = sum(s); nodes deliberately out of order.
const char* kTinyModel = R"({"format": "xgrad-model", "format_version": 1, "name": "tiny",
  "graph": {"inputs": [{"name": "x", "shape": [-1, 2]}],
            "params": [{"name": "w", "shape": [2, 1], "init": "zeros"},
                       {"name": "unused", "shape": [3], "init": {"type": "uniform", "low": -1, "high": 1}}],
            "nodes": [{"name": "loss", "op": "sum", "inputs": ["s"]},
                      {"name": "s", "op": "sigmoid", "inputs": ["z"]},
                      {"name": "z", "op": "matmul", "inputs": ["x", "w"]}],
            "outputs": {"loss": "loss"}},
  "weights": {"w": {"shape": [2, 1], "data": [0.5, -0.25]}}})";

std::vector<float> data_of(const json& t) { return t.at("data").get<std::vector<float>>(); }

}  // namespace

TEST_CASE("xgrad run: values and gradients of a hand-computed model") {
  TempDir dir;
  const std::string model = dir.write("tiny.json", kTinyModel);
  const std::string inputs = dir.write("in.json", R"({"x": {"shape": [2, 2], "data": [1, 2, 0, -1]}})");
  const CliResult r = run_cli(dir, "run --model " + model + " --inputs " + inputs + " --grads");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json out = json::parse(r.out);
  // z = [0, 0.25]; s = [0.5, sigmoid(0.25)]; loss = sum(s)
  const double s1 = 1 / (1 + std::exp(-0.25));
  CHECK(out["values"]["z"]["shape"] == json{2, 1});
  CHECK(data_of(out["values"]["z"]) == std::vector<float>{0.0f, 0.25f});
  CHECK(data_of(out["values"]["s"])[1] == doctest::Approx(s1));
  CHECK(out["values"]["loss"]["shape"] == json::array());
  CHECK(data_of(out["values"]["loss"])[0] == doctest::Approx(0.5 + s1));
  CHECK(data_of(out["values"]["x"]) == std::vector<float>{1, 2, 0, -1});
  CHECK_FALSE(out["values"].contains("w"));  // values: inputs and op nodes
  // dz = s(1-s); dw = x^T dz; dx = dz w^T; the unused param gets a zero gradient
  const double d0 = 0.25, d1 = s1 * (1 - s1);
  const auto dw = data_of(out["grads"]["w"]);
  CHECK(dw[0] == doctest::Approx(d0));
  CHECK(dw[1] == doctest::Approx(2 * d0 - d1));
  const auto dx = data_of(out["grads"]["x"]);
  CHECK(dx[0] == doctest::Approx(0.5 * d0));
  CHECK(dx[1] == doctest::Approx(-0.25 * d0));
  CHECK(dx[2] == doctest::Approx(0.5 * d1));
  CHECK(dx[3] == doctest::Approx(-0.25 * d1));
  CHECK(data_of(out["grads"]["unused"]) == std::vector<float>{0, 0, 0});

  // Without --grads: values only; --out writes the same bytes to a file.
  const CliResult plain = run_cli(dir, "run --model " + model + " --inputs " + inputs);
  CHECK(json::parse(plain.out)["grads"] == json::object());
  const std::string out_file = dir.path("r.json");
  REQUIRE(run_cli(dir, "run --model " + model + " --inputs " + inputs + " --out " + out_file).status == 0);
  CHECK(test::slurp(out_file) == plain.out);
}

TEST_CASE("xgrad run on LeNet gives the engine's own numbers, bit for bit; --seed initialises") {
  TempDir dir;
  const Graph g = lenet();
  Rng rng(4);
  Tensor image = make_tensor({1, 1, 28, 28});
  for (float& v : image) v = rng.uniform01();
  const Tensor label = make_tensor({1}, 7.0f);
  const std::string inputs =
      dir.write("in.json", dump_json({{"image", tensor_to_json(image)}, {"label", tensor_to_json(label)}}));
  const std::string model = test::source_dir() + "/models/lenet.json";
  const CliResult r = run_cli(dir, "run --model " + model + " --inputs " + inputs + " --grads --seed 3");
  INFO(r.err);
  REQUIRE(r.status == 0);
  const json out = json::parse(r.out);

  const Params w = complete_weights(g, {}, 3);
  const Feeds feeds{{"image", image}, {"label", label}};
  Engine e(g);
  e.forward(feeds, w, true);
  e.backward(g.output("loss"));
  const Tensor probs = tensor_from_json(out["values"]["probs"], "probs");
  const Tensor dconv1 = tensor_from_json(out["grads"]["conv1.w"], "conv1.w");
  CHECK(std::memcmp(probs.data(), e.value("probs").data(), 10 * sizeof(float)) == 0);
  CHECK(std::memcmp(dconv1.data(), e.grad("conv1.w")->data(), dconv1.size() * sizeof(float)) == 0);
  CHECK(out["grads"].size() == 11);  // 10 params + the float input; not the int32 label
  CHECK_FALSE(out["grads"].contains("label"));
  const json other = json::parse(run_cli(dir, "run --model " + model + " --inputs " + inputs).out);
  CHECK(other["values"]["probs"] != out["values"]["probs"]);  // seed 0 vs 3
}

TEST_CASE("xgrad run: bad inputs are errors naming the file, with a non-zero exit") {
  TempDir dir;
  const std::string model = dir.write("tiny.json", kTinyModel);
  auto run_inputs = [&](const std::string& text) {
    return run_cli(dir, "run --grads --model " + model + " --inputs " + dir.write("in.json", text));
  };
  struct Bad {
    std::string inputs;
    std::vector<const char*> expected;
  };
  const std::vector<Bad> cases = {
      {"{}", {"in.json: no value for input \"x\""}},
      {R"({"x": {"shape": [1, 2], "data": [1, 2]}, "y": {"shape": [1], "data": [1]}})",
       {"in.json: y: the model has no input named \"y\"", "x [-1, 2]"}},
      {R"({"x": {"shape": [1, 3], "data": [1, 2, 3]}})",
       {"in.json: x.shape: [1, 3] does not fit", "[-1, 2]"}},
      {R"({"x": {"shape": [1, 2], "data": [1]}})", {"in.json: x.data: holds 1 numbers"}},
      {R"({"x": {"shape": [1, 2], "data": [1, null]}})", {"in.json: x.data[1]"}},
      {R"({"x": {"shape": [1, 2], "data": [1, 2]})", {"in.json: not valid JSON"}},
      {"[1, 2]", {"in.json: expected an object"}},
  };
  for (const Bad& c : cases) {
    INFO(c.inputs);
    const CliResult r = run_inputs(c.inputs);
    INFO(r.err);
    CHECK(r.status != 0);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("xgrad: error: ", 0) == 0);
    for (const char* part : c.expected) CHECK(r.err.find(part) != std::string::npos);
  }
  json no_loss = json::parse(kTinyModel);
  no_loss["graph"]["outputs"] = {{"out", "s"}};
  const std::string m2 = dir.write("noloss.json", no_loss.dump());
  const std::string ok = dir.write("ok.json", R"({"x": {"shape": [1, 2], "data": [1, 2]}})");
  const CliResult r = run_cli(dir, "run --grads --model " + m2 + " --inputs " + ok);
  CHECK(r.status != 0);
  CHECK(r.err.find("--grads needs a \"loss\" output") != std::string::npos);
  CHECK(run_cli(dir, "run --model " + m2 + " --inputs " + ok).status == 0);
  const std::string square = dir.write("square.json", R"({"format": "xgrad-model", "format_version": 1,
    "graph": {"inputs": [{"name": "x", "shape": [2]}], "params": [],
              "nodes": [{"name": "sq", "op": "mul", "inputs": ["x", "x"]}], "outputs": {}}})");
  const std::string big = dir.write("big.json", R"({"x": {"shape": [2], "data": [2, 1e30]}})");
  const CliResult overflow = run_cli(dir, "run --model " + square + " --inputs " + big);
  CHECK(overflow.status != 0);
  CHECK(overflow.err.find("values.sq: data[1] is infinite") != std::string::npos);
  const CliResult missing = run_cli(dir, "run --model " + dir.path("none.json") + " --inputs " + ok);
  CHECK(missing.status != 0);
  CHECK(missing.err.find("none.json: cannot open") != std::string::npos);
}

TEST_CASE("xgrad summary: the LeNet table and its 44,426 parameters") {
  TempDir dir;
  const CliResult r = run_cli(dir, "summary --model " + test::source_dir() + "/models/lenet.json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  CHECK(r.out.find("Total params: 44,426\n") != std::string::npos);
  CHECK(r.out.find("conv1    conv2d                 [N, 6, 24, 24]     156\n") != std::string::npos);
  CHECK(r.out.find("fc1      matmul                 [N, 120]        30,840\n") != std::string::npos);
  CHECK(r.out.find("label    input int32            [N]                  0\n") != std::string::npos);
  const CliResult bad = run_cli(dir, "summary --model " + dir.write("x.json", "{\"format\": \"other\"}"));
  CHECK(bad.status != 0);
  CHECK(bad.err.find("x.json: format: expected \"xgrad-model\"") != std::string::npos);
}

TEST_CASE("xgrad export writes the builders' graphs; models/*.json are its output") {
  TempDir dir;
  const CliResult r = run_cli(dir, "export --builtin lenet");
  REQUIRE(r.status == 0);
  CHECK(r.out == test::slurp(test::source_dir() + "/models/lenet.json"));
  const std::string relu = dir.path("relu.json");
  REQUIRE(run_cli(dir, "export --builtin lenet-relu --out " + relu).status == 0);
  CHECK(test::slurp(relu) == test::slurp(test::source_dir() + "/models/lenet-relu.json"));
  REQUIRE(run_cli(dir, "export --builtin mlp --out " + dir.path("mlp.json.gz")).status == 0);
  CHECK(load_model(dir.path("mlp.json.gz")).graph.param_count() == mlp().param_count());
  const CliResult bad = run_cli(dir, "export --builtin alexnet");
  CHECK(bad.status != 0);
  CHECK(bad.err.find("unknown model \"alexnet\"") != std::string::npos);
}
