// Keras import: functional models in both inbound_nodes spellings, non-image inputs, the loss
// choices, and NHWC semantics checked against loops written from Keras' definitions.
#include <doctest/doctest.h>

#include "core/hdf5.h"
#include "graph/engine.h"
#include "graph/keras_config.h"
#include "graph/keras_import.h"
#include "tests/fixtures.h"
#include "tests/keras_fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;

namespace {

std::vector<std::string> op_types(const Graph& g) {
  std::vector<std::string> ops;
  for (const Node& n : g.nodes())
    if (n.kind == NodeKind::Op) ops.push_back(std::string(n.op->type()));
  return ops;
}

// Keras 2: [[["layer", node, tensor, {kwargs}], ...]]; Keras 3: [{"args": [tensors], "kwargs": {}}].
json inbound(bool keras3, const std::vector<std::string>& from) {
  if (!keras3) {
    json node = json::array();
    for (const std::string& f : from) node.push_back({f, 0, 0, json::object()});
    return json::array({node});
  }
  json tensors = json::array();
  for (const std::string& f : from)
    tensors.push_back(
        {{"class_name", "__keras_tensor__"},
         {"config", {{"shape", {nullptr, 8, 8, 4}}, {"dtype", "float32"}, {"keras_history", {f, 0, 0}}}}});
  return json::array(
      {{{"args", from.size() == 1 ? tensors : json::array({tensors})}, {"kwargs", json::object()}}});
}

json functional_layer(bool keras3, const std::string& cls, const std::string& name, json config,
                      const std::vector<std::string>& from) {
  config["name"] = name;
  json l = {
      {"class_name", cls}, {"name", name}, {"config", config}, {"inbound_nodes", inbound(keras3, from)}};
  if (keras3) l["module"] = "keras.layers", l["registered_name"] = nullptr;
  return l;
}

// x -> c1 (conv 3x3 same, relu) -> c2 (conv 3x3 same); add(c1, c2); concat(add, c1) on channels;
// global average pool; dense 3 softmax.
json residual_model(bool keras3) {
  const json conv = {{"filters", 4}, {"kernel_size", 3}, {"padding", "same"}, {"activation", "relu"}};
  json input = keras3 ? json{{"batch_shape", {nullptr, 8, 8, 3}}, {"dtype", "float32"}}
                      : json{{"batch_input_shape", {nullptr, 8, 8, 3}}, {"dtype", "float32"}};
  json layers = json::array(
      {functional_layer(keras3, "InputLayer", "x", input, {}),
       functional_layer(keras3, "Conv2D", "c1", conv, {"x"}),
       functional_layer(keras3, "Conv2D", "c2", conv, {"c1"}),
       functional_layer(keras3, "Add", "sum", json::object(), {"c1", "c2"}),
       functional_layer(keras3, "Concatenate", "cat", {{"axis", -1}}, {"sum", "c1"}),
       functional_layer(keras3, "GlobalAveragePooling2D", "gap", json::object(), {"cat"}),
       functional_layer(keras3, "Dense", "out", {{"units", 3}, {"activation", "softmax"}}, {"gap"})});
  layers[0]["inbound_nodes"] = json::array();
  const json in = keras3 ? json({"x", 0, 0}) : json::array({{"x", 0, 0}});
  const json out = keras3 ? json({"out", 0, 0}) : json::array({{"out", 0, 0}});
  return {{"class_name", "Functional"},
          {"config", {{"name", "res"}, {"layers", layers}, {"input_layers", in}, {"output_layers", out}}}};
}

}  // namespace

TEST_CASE("keras: functional models in the Keras 2 and Keras 3 spellings") {
  for (bool keras3 : {false, true}) {
    CAPTURE(keras3);
    const Graph g = import_keras_json(residual_model(keras3)).model.graph;
    CHECK(op_types(g) == std::vector<std::string>{"conv2d", "relu", "conv2d", "relu", "add", "concat",
                                                  "global_avg_pool2d", "matmul", "softmax",
                                                  "softmax_cross_entropy"});
    CHECK(g.node(g.id("cat")).info.shape == Shape{-1, 8, 8, 8});
    CHECK(g.node(g.id("out.w")).info.shape == Shape{8, 3});
    CHECK(g.node(g.id("image")).info.shape == Shape{-1, 3, 8, 8});
  }
  json odd = residual_model(true);  // call kwargs that are not an object hold no tensors: ignored
  odd["config"]["layers"][3]["inbound_nodes"][0]["kwargs"] = json::array({1});
  CHECK(import_keras_json(odd).model.graph.find("sum") >= 0);
}

TEST_CASE("keras: a Dense-only model on [N, 8] features with binary cross-entropy trains") {
  const json config = {
      {"class_name", "Sequential"},
      {"config",
       {{"name", "tabular"},
        {"layers",
         {{{"class_name", "InputLayer"},
           {"config", {{"batch_input_shape", {nullptr, 8}}, {"name", "features"}}}},
          {{"class_name", "Dense"}, {"config", {{"name", "h"}, {"units", 16}, {"activation", "relu"}}}},
          {{"class_name", "Dense"}, {"config", {{"name", "p"}, {"units", 1}, {"activation", "sigmoid"}}}}}}}},
      {"compile_config", {{"loss", "binary_crossentropy"}}}};
  KerasImport imp = import_keras_json(config);
  const Graph& g = imp.model.graph;
  CHECK(op_types(g) ==
        std::vector<std::string>{"matmul", "relu", "matmul", "sigmoid", "sigmoid_cross_entropy"});
  CHECK(g.node(g.id("label")).info.shape == Shape{-1, 1});
  CHECK(g.node(g.id("label")).info.dtype == DType::Float32);
  CHECK(g.node(g.output("logits")).name == "p");
  CHECK(imp.notes.empty());
  Rng rng(1);
  const Params w = init_params(g, rng);
  Engine engine(g);
  // The engine binds feeds by reference until backward: they need a name.
  const Feeds feeds{{"image", filled({4, 8}, std::vector<float>(32, 0.5f))},
                    {"label", filled({4, 1}, {1, 0, 1, 0})}};
  engine.forward(feeds, w, /*training=*/true);
  engine.backward(g.output("loss"), g.params());
  CHECK(std::isfinite(engine.value(g.output("loss"))()));
  CHECK(engine.grad("h.w") != nullptr);
}

TEST_CASE("keras: loss choices") {
  auto model = [](const std::string& act, const json& loss) {
    json j = {
        {"class_name", "Sequential"},
        {"config",
         {{"name", "m"},
          {"layers",
           {{{"class_name", "Dense"},
             {"config",
              {{"name", "d"}, {"units", 3}, {"activation", act}, {"batch_input_shape", {nullptr, 4}}}}}}}}}};
    if (!loss.is_null()) j["compile_config"] = {{"loss", loss}};
    return import_keras_json(j);
  };
  SUBCASE("from_logits: the final linear output is the logits") {
    const json loss = {{"class_name", "SparseCategoricalCrossentropy"}, {"config", {{"from_logits", true}}}};
    const Graph g = model("linear", loss).model.graph;
    CHECK(g.node(g.output("logits")).name == "d");
    CHECK(g.node(g.output("probs")).name == "probs");
  }
  SUBCASE("mse stays mse on the activation's output") {
    const Graph g = model("tanh", "mse").model.graph;
    CHECK(g.node(g.output("output")).name == "d.tanh");
    CHECK(std::string(g.node(g.output("loss")).op->type()) == "mse");
  }
  SUBCASE("no loss: sigmoid gets sigmoid_cross_entropy, linear mse, and it is said") {
    KerasImport imp = model("sigmoid", nullptr);
    CHECK(std::string(imp.model.graph.node(imp.model.graph.output("loss")).op->type()) ==
          "sigmoid_cross_entropy");
    REQUIRE(imp.notes.size() == 1);
    CHECK(imp.notes[0].find("sigmoid_cross_entropy") != std::string::npos);
    CHECK(std::string(model("linear", nullptr)
                          .model.graph.node(model("linear", nullptr).model.graph.output("loss"))
                          .op->type()) == "mse");
  }
  SUBCASE("cross-entropy without a final softmax is an error naming the loss") {
    CHECK_THROWS_WITH_AS(model("relu", "categorical_crossentropy"),
                         doctest::Contains("needs a final softmax"), Error);
  }
}

TEST_CASE("keras: Dropout") {
  const json config = {{"class_name", "Sequential"},
                       {"config",
                        {{"name", "m"},
                         {"layers",
                          {{{"class_name", "Dense"},
                            {"config", {{"name", "h"}, {"units", 4}, {"batch_input_shape", {nullptr, 3}}}}},
                           {{"class_name", "Dropout"},
                            {"config", {{"name", "drop"}, {"rate", 0.25}, {"noise_shape", nullptr}}}},
                           {{"class_name", "Dense"},
                            {"config", {{"name", "p"}, {"units", 2}, {"activation", "softmax"}}}}}}}}};
  const Graph g = import_keras_json(config).model.graph;
  CHECK(op_types(g) ==
        std::vector<std::string>{"matmul", "dropout", "matmul", "softmax", "softmax_cross_entropy"});
  CHECK(g.node(g.id("drop")).op->attrs()["rate"] == 0.25);
}

// DepthwiseConv2D (multiplier 2) -> Flatten -> Dense with weights in Keras' layout, against the
// NHWC loops of Keras' definitions: checks the kernel conversions and the Flatten row order.
TEST_CASE("keras: depthwise conv, flatten and dense compute what Keras computes" *
          doctest::skip(!hdf5::available())) {
  const json config = {{"class_name", "Sequential"},
                       {"config",
                        {{"name", "m"},
                         {"layers",
                          {{{"class_name", "DepthwiseConv2D"},
                            {"config",
                             {{"name", "dw"},
                              {"kernel_size", {2, 2}},
                              {"depth_multiplier", 2},
                              {"batch_input_shape", {nullptr, 3, 3, 2}}}}},
                           {{"class_name", "Flatten"}, {"config", {{"name", "f"}}}},
                           {{"class_name", "Dense"}, {"config", {{"name", "d"}, {"units", 3}}}}}}}},
                       {"compile_config", {{"loss", "mse"}}}};
  Rng rng(5);
  auto random = [&](const Shape& s) {
    Tensor t = make_tensor(s);
    for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
    return t;
  };
  const Tensor k = random({2, 2, 2, 2}), kb = random({4}), w = random({16, 3}), wb = random({3}),
               x = random({2, 3, 3, 2});
  TempDir dir;
  {  // Keras 2 save_weights layout
    const hdf5::Group root = hdf5::create_file(dir.path("w.h5"));
    root.write_string_list_attr("layer_names", {"dw", "f", "d"});
    const hdf5::Group dw = root.create_group("dw"), f = root.create_group("f"), d = root.create_group("d");
    dw.write_string_list_attr("weight_names", {"dw/depthwise_kernel:0", "dw/bias:0"});
    dw.write_dataset("dw/depthwise_kernel:0", k);
    dw.write_dataset("dw/bias:0", kb);
    f.write_string_list_attr("weight_names", {});
    d.write_string_list_attr("weight_names", {"d/kernel:0", "d/bias:0"});
    d.write_dataset("d/kernel:0", w);
    d.write_dataset("d/bias:0", wb);
  }
  const Model m = import_keras(dir.write("m.json", config.dump()), dir.path("w.h5")).model;
  Tensor nchw = make_tensor({2, 2, 3, 3});
  for (size_t n = 0; n < 2; ++n)
    for (size_t c = 0; c < 2; ++c)
      for (size_t y = 0; y < 3; ++y)
        for (size_t xx = 0; xx < 3; ++xx) nchw(n, c, y, xx) = x(n, y, xx, c);
  Engine engine(m.graph);
  engine.forward({{"image", nchw}, {"label", make_tensor({2, 3})}}, m.weights, false);
  const Tensor& got = engine.value("d");
  for (size_t n = 0; n < 2; ++n) {
    float flat[16];  // Keras' Flatten of the [2, 2, 4] depthwise output: (y*2 + x)*4 + channel
    for (size_t y = 0; y < 2; ++y)
      for (size_t xx = 0; xx < 2; ++xx)
        for (size_t c = 0; c < 2; ++c)
          for (size_t mm = 0; mm < 2; ++mm) {
            float s = kb(c * 2 + mm);
            for (size_t i = 0; i < 2; ++i)
              for (size_t j = 0; j < 2; ++j) s += x(n, y + i, xx + j, c) * k(i, j, c, mm);
            flat[(y * 2 + xx) * 4 + c * 2 + mm] = s;
          }
    for (size_t u = 0; u < 3; ++u) {
      float s = wb(u);
      for (size_t r = 0; r < 16; ++r) s += flat[r] * w(r, u);
      CHECK(got(n, u) == doctest::Approx(s).epsilon(1e-5));
    }
  }
}
