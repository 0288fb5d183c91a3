// The model format round trip: byte-identical save -> load -> save, bit-identical predictions,
// the C++ builders kept in sync with models/*.json, weight completion, compact encodings.
#include <doctest/doctest.h>

#include <cstring>

#include "core/json_io.h"
#include "graph/engine.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/fixtures.h"
#include "tests/paths.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::TempDir;
using json = nlohmann::json;

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return shape_of(a) == shape_of(b) && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Same nodes, kinds, shapes, dtypes, ops, attributes, inputs and outputs, by name.
void check_same_graph(const Graph& a, const Graph& b) {
  REQUIRE(a.size() == b.size());
  CHECK(a.name() == b.name());
  for (const Node& n : a.nodes()) {
    INFO("node " << n.name);
    const int id = b.find(n.name);
    REQUIRE(id >= 0);
    const Node& m = b.node(id);
    CHECK(m.kind == n.kind);
    CHECK(m.info.shape == n.info.shape);
    CHECK(m.info.dtype == n.info.dtype);
    if (n.kind == NodeKind::Param || n.kind == NodeKind::State) CHECK(m.init.to_json() == n.init.to_json());
    if (n.kind != NodeKind::Op) continue;
    CHECK(m.op->type() == n.op->type());
    CHECK(m.op->attrs() == n.op->attrs());
    REQUIRE(m.inputs.size() == n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) CHECK(b.node(m.inputs[i]).name == a.node(n.inputs[i]).name);
  }
  std::vector<std::string> pa, pb;  // params in the same order: the same seed gives the same weights
  for (int id : a.params()) pa.push_back(a.node(id).name);
  for (int id : b.params()) pb.push_back(b.node(id).name);
  CHECK(pa == pb);
  for (const auto& [role, id] : a.outputs()) CHECK(b.node(b.output(role)).name == a.node(id).name);
}

}  // namespace

TEST_CASE("models/lenet.json and lenet-relu.json are exactly what the C++ builders produce") {
  const std::string dir = test::source_dir() + "/models/";
  for (const char* act : {"sigmoid", "relu"}) {
    const std::string file = dir + (std::string(act) == "sigmoid" ? "lenet.json" : "lenet-relu.json");
    INFO(file);
    const Graph built = lenet(act);
    // If this fails after a builder change: build/xgrad export --builtin lenet --out models/lenet.json
    CHECK(test::slurp(file) == model_to_string(built, nullptr, json::object()));
    const Model loaded = load_model(file);
    check_same_graph(built, loaded.graph);
    CHECK(loaded.graph.param_count() == 44426);  // the activation has no params
    CHECK(loaded.weights.empty());
  }
}

TEST_CASE("trained LeNet: save -> load -> save is byte-identical and predicts bit-identically") {
  TempDir dir;
  const Graph g = lenet();
  Rng rng(11);
  Params w = init_params(g, rng);
  for (auto& [name, t] : w)  // trained-looking weights: every float bit pattern class, incl. -0
    for (float& v : t) v = rng.uniform(-3.0f, 3.0f) * (rng.below(5) == 0 ? 1e-20f : 1.0f);
  w["fc3.b"](0) = -0.0f;
  w["fc3.b"](1) = 16777216.0f;
  w["fc3.b"](2) = 3.4028235e38f;
  w["fc3.b"](3) = 1e-45f;  // smallest subnormal
  const json meta = {
      {"accuracy", 0.8125}, {"note", "caf\xc3\xa9"}, {"settings", {{"lr", 0.1}, {"epochs", 3}}}};
  const std::string p1 = dir.path("a.json"), p2 = dir.path("b.json");
  save_model(p1, g, &w, meta);
  const Model m = load_model(p1);
  save_model(p2, m.graph, &m.weights, m.meta);
  CHECK(test::slurp(p1) == test::slurp(p2));
  CHECK(m.meta == meta);
  REQUIRE(m.weights.size() == w.size());
  for (const auto& [name, t] : w) CHECK(same_bits(m.weights.at(name), t));
  check_same_graph(g, m.graph);

  const Feeds feeds = test::random_image_batch(rng, 4);
  Engine a(g), b(m.graph);
  a.forward(feeds, w);
  b.forward(feeds, m.weights);
  CHECK(same_bits(a.value("probs"), b.value("probs")));
  CHECK(same_bits(a.value("loss"), b.value("loss")));
}

TEST_CASE("nodes in any order load to the same graph, written back in topological order") {
  json j = json::parse(model_to_string(lenet(), nullptr, json::object()));
  json& nodes = j["graph"]["nodes"];
  std::reverse(nodes.begin(), nodes.end());
  const Model m = model_from_json(j, "reversed.json");
  check_same_graph(lenet(), m.graph);
  // Sorted: every node after its inputs, so the written file reads back to the same bytes.
  const std::string text = model_to_string(m.graph, nullptr, m.meta);
  const Model again = model_from_json(parse_json(text, "t"), "t");
  CHECK(model_to_string(again.graph, nullptr, again.meta) == text);
  for (const Node& n : m.graph.nodes())
    for (int in : n.inputs) CHECK(in < m.graph.id(n.name));
}

TEST_CASE("saving refuses NaN/Inf weights and unknown params, and leaves the old file") {
  TempDir dir;
  const Graph g = lenet();
  Rng rng(1);
  Params w = init_params(g, rng);
  const std::string p = dir.path("m.json");
  save_model(p, g, &w, json::object());
  const std::string before = test::slurp(p);
  w["fc2.w"](3, 4) = std::nanf("");
  CHECK_ERROR_HAS(save_model(p, g, &w, json::object()), "m.json: not written", "weights.fc2.w",
                  "data[256] is NaN");
  w["fc2.w"](3, 4) = -HUGE_VALF;
  CHECK_ERROR_HAS(save_model(p, g, &w, json::object()), "weights.fc2.w", "infinite");
  w["fc2.w"](3, 4) = 0.0f;
  w["nope"] = make_tensor({1});
  CHECK_ERROR_HAS(save_model(p, g, &w, json::object()), "\"nope\"", "not a param");
  w.erase("nope");
  CHECK_ERROR_HAS(save_model(p, g, &w, json{{"x", std::nan("")}}), "meta.x", "cannot be written");
  CHECK(test::slurp(p) == before);
  CHECK(dir.entries() == std::vector<std::string>{"m.json"});
}

TEST_CASE("complete_weights: given weights kept, the rest equal to init_params with that seed") {
  const Graph g = lenet();
  Rng rng(5);
  const Params reference = init_params(g, rng);
  Params given;
  given["conv2.w"] = make_tensor({16, 6, 5, 5}, 0.25f);
  const Params all = complete_weights(g, given, 5);
  CHECK(all.size() == reference.size());
  CHECK(same_bits(all.at("conv2.w"), given.at("conv2.w")));
  for (const char* name : {"conv1.w", "fc1.w", "fc3.w"}) CHECK(same_bits(all.at(name), reference.at(name)));
  CHECK_FALSE(same_bits(complete_weights(g, {}, 6).at("fc1.w"), reference.at("fc1.w")));
  given["conv2.w"] = make_tensor({3});
  CHECK_ERROR_HAS(complete_weights(g, given, 5), "conv2.w", "[3]");
  CHECK_ERROR_HAS(complete_weights(g, {{"zz", make_tensor({1})}}, 5), "\"zz\"", "not a param");
}

TEST_CASE("tensor JSON: scalars, base64 data, and the .json.gz file form") {
  Tensor s = make_tensor({}, 2.5f);
  CHECK(tensor_to_json(s) == json{{"shape", json::array()}, {"data", {2.5}}});
  CHECK(tensor_from_json(tensor_to_json(s), "s")() == 2.5f);
  // 1.0f, -2.0f as little-endian float32 bytes: 00 00 80 3f 00 00 00 c0
  const Tensor b = tensor_from_json({{"shape", {2}}, {"data_b64", "AACAPwAAAMA="}}, "b");
  CHECK(b(0) == 1.0f);
  CHECK(b(1) == -2.0f);
  CHECK_ERROR_HAS(tensor_from_json({{"shape", {2}}, {"data", {1, 2}}, {"dtype", "x"}}, "t"),
                  "t.dtype: unknown field");

  TempDir dir;
  const Graph g = lenet("relu");
  Rng rng(2);
  const Params w = init_params(g, rng);
  const std::string gz = dir.path("m.json.gz");
  save_model(gz, g, &w, json::object());
  CHECK(is_gzip(test::slurp(gz)));
  const Model m = load_model(gz);
  for (const auto& [name, t] : w) CHECK(same_bits(m.weights.at(name), t));
  CHECK(gzip_decompress(test::slurp(gz), "gz", 1 << 24) == model_to_string(g, &w, json::object()));
}
