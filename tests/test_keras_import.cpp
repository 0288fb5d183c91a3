// Keras import: every config generation, the three file kinds, and exact predictions against
// xgrad's own LeNet with the same weights.
#include <doctest/doctest.h>

#include "core/hdf5.h"
#include "core/json_io.h"
#include "core/zip.h"
#include "graph/engine.h"
#include "graph/keras_config.h"
#include "graph/keras_import.h"
#include "models/lenet.h"
#include "tests/fixtures.h"
#include "tests/keras_fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;

namespace {

Tensor run(const Model& m, const Feeds& feeds, const std::string& output) {
  Engine engine(m.graph);
  engine.forward(feeds, m.weights, /*training=*/false);
  return engine.value(m.graph.output(output));
}

void check_same_weights(const Params& imported, const Params& expected) {
  REQUIRE(imported.size() == expected.size());
  for (const auto& [name, value] : expected) {
    CAPTURE(name);
    REQUIRE(imported.count(name));
    CHECK(imported.at(name) == value);
  }
}

// The imported model gives bit-identical logits and probabilities to xgrad's LeNet.
void check_predicts_like_lenet(const Model& m, const Params& w) {
  Model own{lenet("sigmoid"), w, json::object()};
  Rng rng(3);
  Feeds feeds = random_image_batch(rng, 5);
  CHECK(run(m, feeds, "logits") == run(own, feeds, "logits"));
  CHECK(run(m, feeds, "probs") == run(own, feeds, "probs"));
  CHECK(run(m, feeds, "loss") == run(own, feeds, "loss"));
}

}  // namespace

TEST_CASE("keras: the notebook LeNet in every config generation imports as xgrad's LeNet") {
  const Graph own = lenet("sigmoid");
  for (KerasGen gen : kKerasGens) {
    CAPTURE(int(gen));
    KerasImport imp = import_keras_json(keras_lenet_config(gen));
    Graph& g = imp.model.graph;
    // Same params (names, shapes, inits), same op sequence, same outputs and loss.
    REQUIRE(g.params().size() == own.params().size());
    for (size_t i = 0; i < own.params().size(); ++i) {
      CHECK(g.node(g.params()[i]).name == own.node(own.params()[i]).name);
      CHECK(g.node(g.params()[i]).info.shape == own.node(own.params()[i]).info.shape);
      CHECK(g.node(g.params()[i]).init.type == own.node(own.params()[i]).init.type);
    }
    std::vector<std::string> ops;
    for (const Node& n : g.nodes())
      if (n.kind == NodeKind::Op) ops.push_back(std::string(n.op->type()));
    CHECK(ops == std::vector<std::string>{"conv2d", "sigmoid", "max_pool2d", "conv2d", "sigmoid",
                                          "max_pool2d", "flatten", "matmul", "sigmoid", "matmul", "sigmoid",
                                          "matmul", "softmax", "softmax_cross_entropy"});
    CHECK(g.node(g.output("logits")).name == "fc3");
    CHECK(g.node(g.output("probs")).name == "fc3.softmax");
    CHECK(g.node(g.id("label")).info.dtype == DType::Int32);
    // Without a compile config the loss is chosen and said; with one, categorical labels are ids.
    const bool compiled = gen == KerasGen::K2_13 || gen == KerasGen::K3;
    REQUIRE(imp.notes.size() == 1);
    CHECK(imp.notes[0].find(compiled ? "class ids" : "no loss in the file") != std::string::npos);
  }
}

TEST_CASE("keras: model files of every kind carry the weights to exact predictions" *
          doctest::skip(!hdf5::available())) {
  TempDir dir;
  const Params w = keras_lenet_weights(7);
  SUBCASE("Keras 2 model.save() .h5") {
    write_keras2_h5(dir.path("m.h5"), keras_lenet_config(KerasGen::K2_4), w, true);
    KerasImport imp = import_keras(dir.path("m.h5"));
    check_same_weights(imp.model.weights, w);
    check_predicts_like_lenet(imp.model, w);
    CHECK(imp.model.meta["imported_from"]["format"] == "keras-h5");
  }
  SUBCASE("JSON config + Keras 2 save_weights() file") {
    write_keras2_h5(dir.path("w.h5"), json(), w, false);
    const std::string config = dir.write("m.json", keras_lenet_config(KerasGen::K2_2).dump());
    KerasImport imp = import_keras(config, dir.path("w.h5"));
    check_same_weights(imp.model.weights, w);
    check_predicts_like_lenet(imp.model, w);
  }
  SUBCASE("Keras 3 .keras archive") {
    if (!zip_available()) return;
    write_keras3_weights(dir.path("model.weights.h5"), w);
    write_zip(dir.path("m.keras"),
              {{"metadata.json", R"({"keras_version": "3.6.0", "date_saved": "2024-10-01@12:00:00"})"},
               {"config.json", keras_lenet_config(KerasGen::K3).dump()},
               {"model.weights.h5", read_text_file(dir.path("model.weights.h5"))}},
              true);
    KerasImport imp = import_keras(dir.path("m.keras"));
    check_same_weights(imp.model.weights, w);
    check_predicts_like_lenet(imp.model, w);
    CHECK(imp.model.meta["imported_from"]["format"] == "keras-v3");
  }
  SUBCASE("JSON config + Keras 3 save_weights() file") {
    write_keras3_weights(dir.path("x.weights.h5"), w);
    const std::string config = dir.write("m.json", keras_lenet_config(KerasGen::K3).dump());
    check_same_weights(import_keras(config, dir.path("x.weights.h5")).model.weights, w);
  }
}
