// Keras BatchNormalization: every config generation, weights from every file kind, and exact
// agreement with the same conv + batch-norm + dense network built in xgrad, in evaluation and in
// a training step (gradients and the moved running statistics).
#include <doctest/doctest.h>

#include <map>

#include "core/hdf5.h"
#include "core/json_io.h"
#include "core/zip.h"
#include "graph/engine.h"
#include "graph/keras_config.h"
#include "graph/keras_import.h"
#include "graph/serialize.h"
#include "tests/fixtures.h"
#include "tests/keras_fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;

namespace {

// name -> (kind, shape, init) of every param and state.
std::map<std::string, std::string> declared(const Graph& g) {
  std::map<std::string, std::string> out;
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Param || n.kind == NodeKind::State)
      out[n.name] = std::string(kind_name(n.kind)) + " " + to_string(n.info.shape) + " " + n.init.type;
  return out;
}

Feeds batch(uint64_t seed) {
  Rng rng(seed);
  Tensor images = make_tensor({5, 1, 6, 6});
  for (float& v : images) v = rng.uniform(-1.0f, 1.0f);
  return {{"image", images}, {"label", filled({5}, {0, 2, 1, 1, 0})}};
}

// Evaluation outputs, then one training step: loss, every param's gradient and every moved
// statistic are bit-identical to xgrad's own network with the same weights.
void check_like_own(const Model& imported, const Params& w) {
  const Graph own = keras_bn_graph();
  const Feeds feeds = batch(11);
  Engine a(imported.graph), b(own);
  a.forward(feeds, imported.weights, /*training=*/false);
  b.forward(feeds, w, /*training=*/false);
  for (const char* out : {"logits", "probs", "loss"}) {
    CAPTURE(out);
    CHECK(a.value(imported.graph.output(out)) == b.value(own.output(out)));
  }
  a.forward(feeds, imported.weights, /*training=*/true);
  b.forward(feeds, w, /*training=*/true);
  a.backward(imported.graph.output("loss"));
  b.backward(own.output("loss"));
  CHECK(a.value(imported.graph.output("loss")) == b.value(own.output("loss")));
  for (int id : own.params()) {
    const std::string& name = own.node(id).name;
    CAPTURE(name);
    REQUIRE(a.grad(name));
    CHECK(*a.grad(name) == *b.grad(name));
  }
  REQUIRE(a.updated_states().size() == b.updated_states().size());
  for (const auto& [name, value] : b.updated_states()) {
    CAPTURE(name);
    CHECK(a.updated_states().at(name) == value);
  }
  for (const char* moved : {"bn.mean", "bn.var", "bn2.mean", "bn2.var"})
    CHECK(b.updated_states().at(moved) != w.at(moved));
}

}  // namespace

TEST_CASE("keras: BatchNormalization in every config generation") {
  const Graph own = keras_bn_graph();
  for (KerasGen gen : kKerasGens) {
    CAPTURE(int(gen));
    const Graph g = import_keras_json(keras_bn_config(gen)).model.graph;
    CHECK(declared(g) == declared(own));  // gamma/beta params, mean/var states, bn2's fixed beta
    for (const char* bn : {"bn", "bn2"}) {
      REQUIRE(std::string(g.node(g.id(bn)).op->type()) == "batch_norm");
      CHECK(g.node(g.id(bn)).op->attrs() == json{{"epsilon", 0.001}, {"momentum", 0.1}});  // 1 - 0.9
    }
  }
}

TEST_CASE("keras: BatchNormalization fields") {
  auto bn_with = [](const std::string& key, const json& value) {
    json j = keras_bn_config(KerasGen::K3);
    json& config = j["config"]["layers"][2]["config"];  // after the InputLayer and conv
    if (value.is_null())
      config.erase(key);
    else
      config[key] = value;
    return j;
  };
  const Graph defaults = import_keras_json(bn_with("momentum", nullptr)).model.graph;
  CHECK(defaults.node(defaults.id("bn")).op->attrs()["momentum"] == 0.01);  // Keras' default 0.99
  const Graph eps = import_keras_json(bn_with("epsilon", nullptr)).model.graph;
  CHECK(eps.node(eps.id("bn")).op->attrs()["epsilon"] == 0.001);
  const Graph unscaled = import_keras_json(bn_with("scale", false)).model.graph;
  CHECK(unscaled.node(unscaled.id("bn.gamma")).kind == NodeKind::State);  // a fixed gamma of ones
  CHECK(unscaled.node(unscaled.id("bn.gamma")).init.type == "ones");
  CHECK(unscaled.node(unscaled.id("bn.beta")).kind == NodeKind::Param);
  const std::string bn = "m.json: layer \"bn\" (BatchNormalization) at config.layers[2]: ";
  CHECK_THROWS_WITH_AS(import_keras_json(bn_with("axis", 1)),
                       (bn + "axis: only the channel (last) axis is supported, found 1").c_str(), Error);
  CHECK_THROWS_WITH_AS(import_keras_json(bn_with("axis", json::array({1, 2}))),
                       (bn + "axis: expected one integer axis, found [1,2]").c_str(), Error);
  CHECK_THROWS_WITH_AS(import_keras_json(bn_with("axis", 4)),
                       doctest::Contains("axis 4 is not a feature axis"), Error);
  CHECK_THROWS_WITH_AS(import_keras_json(bn_with("renorm", true)),
                       (bn + "renorm: only false is supported, found true").c_str(), Error);
  CHECK_THROWS_WITH_AS(import_keras_json(bn_with("momentum", 1.5)),
                       (bn + "momentum: expected a number in [0, 1]").c_str(), Error);
  json flat = keras_bn_config(KerasGen::K3);  // bn2 straight after the Flatten of an image
  flat["config"]["layers"].erase(6);
  CHECK_THROWS_WITH_AS(import_keras_json(flat), doctest::Contains("batch normalization of a flattened image"),
                       Error);
}

TEST_CASE("keras: a conv + batch-norm + dense model from every file kind predicts and trains like xgrad's" *
          doctest::skip(!hdf5::available())) {
  TempDir dir;
  const Params w = keras_bn_weights(5);
  const std::vector<KerasVars> vars = keras_bn_vars(w);
  Model m;
  SUBCASE("Keras 2 model.save() .h5") {
    write_keras2_h5(dir.path("m.h5"), keras_bn_config(KerasGen::K2_4), vars, true);
    m = import_keras(dir.path("m.h5")).model;
  }
  SUBCASE("Keras 2.13 JSON config + save_weights() file") {
    write_keras2_h5(dir.path("w.h5"), json(), vars, false);
    m = import_keras(dir.write("m.json", keras_bn_config(KerasGen::K2_13).dump()), dir.path("w.h5")).model;
  }
  SUBCASE("Keras 3 .keras archive") {
    if (!zip_available()) return;
    write_keras3_weights(dir.path("model.weights.h5"), vars);
    write_zip(dir.path("m.keras"),
              {{"metadata.json", R"({"keras_version": "3.6.0"})"},
               {"config.json", keras_bn_config(KerasGen::K3).dump()},
               {"model.weights.h5", read_text_file(dir.path("model.weights.h5"))}},
              true);
    m = import_keras(dir.path("m.keras")).model;
  }
  REQUIRE(m.weights.size() == w.size());
  for (const auto& [name, value] : w) {
    CAPTURE(name);
    CHECK(m.weights.at(name) == value);
  }
  check_like_own(m, w);
  // It saves like any other model: the statistics and the fixed beta travel as states.
  const Model back = model_from_json(model_to_json(m.graph, &m.weights, m.meta), "back.json");
  CHECK(back.graph.node(back.graph.id("bn2.beta")).kind == NodeKind::State);
  CHECK(back.weights == m.weights);
}
