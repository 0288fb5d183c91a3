// State nodes: declared like params, valued in the same map, read by ops, updated only by ops in
// training mode, never a gradient target, carried by model format version 2.
#include <doctest/doctest.h>

#include "graph/engine.h"
#include "graph/serialize.h"
#include "ops/registry.h"
#include "tests/fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using test::vec;
using json = nlohmann::json;

namespace {

// y = x + s; in training mode s becomes the mean of x. A stand-in for any op that keeps state.
class TrackMean final : public Op {
 public:
  std::string_view type() const override { return "track_mean"; }
  Arity arity() const override { return {2, 2}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override { return in[0].shape; }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    for (size_t i = 0; i < out.size(); ++i) out.data()[i] = in[0]->data()[i] + in[1]->data()[0];
  }
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    *gx[0] = g;
    CHECK(gx[1] == nullptr);  // a state is never differentiated
  }
  void update_states(const RunContext& ctx, const Inputs& in, const Tensor&, const Workspace&,
                     const States& states) const override {
    CHECK(ctx.mode == Mode::Train);
    REQUIRE(states.size() == 2);
    CHECK(states[0] == nullptr);
    REQUIRE(states[1] != nullptr);
    double sum = 0;
    for (float v : *in[0]) sum += v;
    states[1]->data()[0] = float(sum / double(in[0]->size()));
  }
};

Graph tracking_graph() {
  Graph g("track");
  const int x = g.add_input("x", {-1});
  g.add_state("unused", {2}, Init{"ones"});
  const int w = g.add_param("w", {1}, Init{"ones"});
  const int s = g.add_state("s", {1}, Init{"zeros"});
  const int y = g.add_op("y", std::make_unique<TrackMean>(), {x, s});
  g.set_output("out",
               g.add_op("z", registry().make("sum"), {g.add_op("yw", registry().make("mul"), {y, w})}));
  return g;
}

}  // namespace

TEST_CASE("states are declared like params but are not params") {
  const Graph g = tracking_graph();
  CHECK(g.params() == std::vector<int>{g.id("w")});
  CHECK(g.states() == std::vector<int>{g.id("unused"), g.id("s")});
  CHECK(g.param_count() == 1);
  CHECK(std::string(kind_name(NodeKind::State)) == "state");
  Rng rng(0);
  Params p = init_params(g, rng);
  CHECK(p.size() == 3);
  CHECK(p.at("s")() == 0.0f);
  check_params(g, p);
  p.erase("s");
  CHECK_ERROR_HAS(check_params(g, p), "no value for state \"s\"");
  CHECK_ERROR_HAS(Graph().add_state("bad", {0}, Init{}), "state \"bad\"", "must be positive");
}

TEST_CASE("ops update states in training mode only, into updated_states()") {
  const Graph g = tracking_graph();
  Rng rng(0);
  Params p = init_params(g, rng);
  p["s"] = vec({5});
  const Feeds feeds = {{"x", vec({1, 2, 6})}};
  Engine e(g);
  e.forward(feeds, p, ForwardOptions::inference());
  CHECK(e.updated_states().empty());
  CHECK(e.value("y").data()[0] == 6.0f);  // read the state

  e.forward(feeds, p, ForwardOptions::training());
  CHECK(e.value("y").data()[0] == 6.0f);  // the pass read the state before the update
  CHECK(p.at("s")() == 5.0f);             // the weights map is not changed by forward
  REQUIRE(e.updated_states().size() == 1);
  CHECK(e.updated_states().at("s")() == 3.0f);
  e.backward(g.output("out"));
  REQUIRE(e.grad("x"));
  CHECK(e.grad("s") == nullptr);
  CHECK_ERROR_HAS(e.backward(g.output("out"), {g.id("s")}), "\"s\" is a state");
  e.store_states(p);
  CHECK(p.at("s")() == 3.0f);
  CHECK(p.at("unused").size() == 2);  // read by no op: left alone
}

TEST_CASE("forward runs only what the wanted outputs need") {
  Graph g("two");
  const int a = g.add_input("a", {-1});
  const int b = g.add_input("b", {-1});
  const int sa = g.add_op("sa", registry().make("sum"), {a});
  g.add_op("sb", registry().make("sum"), {b});
  Engine e(g);
  const Feeds only_a = {{"a", vec({1, 2})}};
  e.forward(only_a, {}, ForwardOptions::inference({sa}));
  CHECK(e.value("sa")() == 3.0f);
  CHECK_FALSE(e.computed(g.id("sb")));
  CHECK_ERROR_HAS(e.value("sb"), "\"sb\" was not computed");
  CHECK_ERROR_HAS(e.forward(only_a, {}), "no value given for input \"b\"");
  CHECK_ERROR_HAS(e.forward({{"a", vec({1})}, {"c", vec({1})}}, {}, ForwardOptions::inference({sa})), "\"c\"",
                  "not an input");
  CHECK_ERROR_HAS(e.backward(sa), "backward needs");
}

TEST_CASE("model format: states make version 2, a round trip is byte-identical") {
  const Graph g = tracking_graph();
  // track_mean is not a registered op: save only the declarations around a registered one.
  Graph h("bn-like");
  const int x = h.add_input("x", {-1, 2});
  h.add_param("w", {2}, Init{"ones"});
  h.add_state("m", {2}, Init{"zeros"});
  h.set_output("out", h.add_op("y", registry().make("sum"), {x}));
  Params values = {{"w", vec({1, 2})}, {"m", vec({0.5f, -0.25f})}};
  const std::string text = model_to_string(h, &values, json::object());
  const json j = json::parse(text);
  CHECK(j.at("format_version") == 2);
  CHECK(j.at("graph").at("states") == json::parse(R"([{"name": "m", "shape": [2], "init": "zeros"}])"));
  CHECK(j.at("weights").contains("m"));
  const Model m = model_from_json(j, "m.json");
  CHECK(m.graph.states() == std::vector<int>{m.graph.id("m")});
  CHECK(m.weights.at("m").data()[1] == -0.25f);
  CHECK(model_to_string(m.graph, &m.weights, m.meta) == text);
  CHECK(g.states().size() == 2);

  // No states: still version 1, readable by older builds.
  Graph plain("plain");
  plain.set_output("out", plain.add_op("y", registry().make("sum"), {plain.add_input("x", {-1})}));
  CHECK(json::parse(model_to_string(plain, nullptr, json::object())).at("format_version") == 1);
}

TEST_CASE("model format: bad states are refused with their JSON path") {
  const json v2 = json::parse(R"({"format": "xgrad-model", "format_version": 2, "graph": {
      "inputs": [{"name": "x", "shape": [-1, 2]}], "params": [],
      "states": [{"name": "m", "shape": [2], "init": "zeros"}],
      "nodes": [{"name": "y", "op": "sum", "inputs": ["x"]}], "outputs": {}}})");
  CHECK(model_from_json(v2, "f.json").graph.states().size() == 1);
  auto broken = [&](auto edit) {
    json j = v2;
    edit(j);
    return j;
  };
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["format_version"] = 1; }), "f.json"),
                  "f.json: graph.states: states need \"format_version\": 2");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["graph"].erase("states"); }), "f.json"),
                  "f.json: graph: missing field \"states\"");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["format_version"] = 3; }), "f.json"),
                  "written by a newer xgrad");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["graph"]["states"][0]["shape"] = {0}; }), "f.json"),
                  "f.json: graph.states[0].shape");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["graph"]["states"][0]["name"] = "x"; }), "f.json"),
                  "f.json: graph.states[0].name: duplicate name \"x\"");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) { j["graph"]["states"][0].erase("init"); }), "f.json"),
                  "f.json: graph.states[0]: missing field \"init\"");
  CHECK_ERROR_HAS(model_from_json(broken([](json& j) {
                                    j["weights"] = {{"m", {{"shape", {3}}, {"data", {1, 2, 3}}}}};
                                  }),
                                  "f.json"),
                  "f.json: weights.m.shape: [3] does not match the state's shape [2]");
}

TEST_CASE("model format: batch_norm's running statistics must be states, not params or inputs") {
  // Declared as params they would be trained by the optimizer and never updated by batch norm.
  const json v2 = json::parse(R"({"format": "xgrad-model", "format_version": 2, "graph": {
      "inputs": [{"name": "x", "shape": [-1, 2]}],
      "params": [{"name": "g", "shape": [2], "init": "ones"}, {"name": "b", "shape": [2], "init": "zeros"}],
      "states": [{"name": "m", "shape": [2], "init": "zeros"}, {"name": "v", "shape": [2], "init": "ones"}],
      "nodes": [{"name": "y", "op": "batch_norm", "inputs": ["x", "g", "b", "m", "v"]}], "outputs": {}}})");
  CHECK(model_from_json(v2, "f.json").graph.states().size() == 2);
  json as_param = v2;
  as_param["graph"]["params"].push_back(as_param["graph"]["states"][1]);
  as_param["graph"]["states"].erase(1);
  CHECK_ERROR_HAS(model_from_json(as_param, "f.json"),
                  "f.json: graph.nodes[0]: node \"y\" (batch_norm): input 4 \"v\" must be a state");
  CHECK_ERROR_HAS(model_from_json(as_param, "f.json"), "found a param");
  json as_input = v2;
  as_input["graph"]["inputs"].push_back({{"name", "m2"}, {"shape", {2}}});
  as_input["graph"]["nodes"][0]["inputs"][3] = "m2";
  CHECK_ERROR_HAS(model_from_json(as_input, "f.json"), "input 3 \"m2\" must be a state");
  CHECK_ERROR_HAS(model_from_json(as_input, "f.json"), "found an input");
}
