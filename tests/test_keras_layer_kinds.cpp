// Keras import: each activation spelling and activation layer, pooling and reshapes, chunked
// Keras 2 attributes.
#include <doctest/doctest.h>

#include "core/hdf5.h"
#include "graph/keras_config.h"
#include "graph/keras_import.h"
#include "tests/fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;

namespace {

// A Sequential model: input [per_sample] then `layers` ({"class_name", "config"} with names).
KerasImport sequential(const json& per_sample, json layers, const json& loss = "mse") {
  json shape = json::array({nullptr});
  for (const json& d : per_sample) shape.push_back(d);
  const json input = {{"class_name", "InputLayer"},
                      {"config", {{"batch_input_shape", shape}, {"name", "in"}}}};
  layers.insert(layers.begin(), input);
  return import_keras_model(parse_keras_model({{"class_name", "Sequential"},
                                               {"config", {{"name", "s"}, {"layers", layers}}},
                                               {"compile_config", {{"loss", loss}}}},
                                              "m.json"),
                            nullptr);
}

json keras_layer(const std::string& cls, const std::string& name, json config) {
  config["name"] = name;
  return {{"class_name", cls}, {"config", config}};
}

}  // namespace

TEST_CASE("keras: activations in every spelling, and the activation layers") {
  const std::vector<std::pair<json, std::string>> activations = {{"linear", ""},
                                                                 {"relu", "relu"},
                                                                 {"sigmoid", "sigmoid"},
                                                                 {"tanh", "tanh"},
                                                                 {"elu", "elu"},
                                                                 {"gelu", "gelu"},
                                                                 {"swish", "silu"},
                                                                 {"silu", "silu"},
                                                                 {"softplus", "softplus"},
                                                                 // Keras 2.13+/3 serialized function objects
                                                                 {{{"module", "keras.activations"},
                                                                   {"class_name", "function"},
                                                                   {"config", "relu"},
                                                                   {"registered_name", "function"}},
                                                                  "relu"}};
  for (const auto& [act, op] : activations) {
    CAPTURE(act.dump());
    const Graph g =
        sequential({4}, {keras_layer("Dense", "d", {{"units", 2}, {"activation", act}})}).model.graph;
    CHECK(g.node(g.output("output")).name == (op.empty() ? "d" : "d." + op));
    if (!op.empty()) CHECK(std::string(g.node(g.output("output")).op->type()) == op);
  }
  const Graph g =
      sequential({3, 3, 2}, {keras_layer("LeakyReLU", "k2", json::object()),  // Keras 2 default alpha 0.3
                             keras_layer("LeakyReLU", "k3", {{"negative_slope", 0.1}}),
                             keras_layer("ReLU", "r", json::object()),
                             keras_layer("ReLU", "rl", {{"negative_slope", 0.2}}),
                             keras_layer("ELU", "e", {{"alpha", 0.5}}),
                             keras_layer("Activation", "a", {{"activation", "tanh"}}),
                             keras_layer("Softmax", "s", json::object())})
          .model.graph;
  CHECK(g.node(g.id("k2")).op->attrs()["alpha"] == 0.3);
  CHECK(g.node(g.id("k3")).op->attrs()["alpha"] == 0.1);
  CHECK(std::string(g.node(g.id("r")).op->type()) == "relu");
  CHECK(g.node(g.id("rl")).op->attrs()["alpha"] == 0.2);
  CHECK(g.node(g.id("e")).op->attrs()["alpha"] == 0.5);
  CHECK(std::string(g.node(g.id("a")).op->type()) == "tanh");
  CHECK(g.node(g.id("s")).op->attrs()["axis"] == 1);  // Keras' last axis of an image: xgrad's channel axis
  CHECK_THROWS_WITH_AS(
      sequential({4}, {keras_layer("ReLU", "six", {{"max_value", 6.0}})}),
      "m.json: layer \"six\" (ReLU) at config.layers[1]: max_value: only null is supported, found 6.0",
      Error);
}

TEST_CASE("keras: pooling and reshapes") {
  const Graph g =
      sequential(
          {6, 6, 1},
          {keras_layer("Reshape", "r", {{"target_shape", {36}}}),
           keras_layer("Reshape", "back", {{"target_shape", {6, 6, 1}}}),
           keras_layer("Conv2D", "c",
                       {{"filters", 3}, {"kernel_size", 3}, {"strides", 2}, {"padding", "same"}}),
           keras_layer("AveragePooling2D", "ap", {{"pool_size", 2}, {"strides", 1}, {"padding", "same"}}),
           keras_layer("GlobalMaxPooling2D", "gmp", {{"keepdims", true}}),
           keras_layer("Flatten", "f", json::object())})
          .model.graph;
  CHECK(g.node(g.id("r")).info.shape == Shape{-1, 36});
  CHECK(g.node(g.id("back")).info.shape == Shape{-1, 1, 6, 6});
  CHECK(g.node(g.id("c")).info.shape == Shape{-1, 3, 3, 3});  // "same" with stride 2: ceil(6 / 2)
  CHECK(g.node(g.id("ap")).info.shape == Shape{-1, 3, 3, 3});
  CHECK(g.node(g.output("output")).info.shape == Shape{-1, 3});
  CHECK(g.node(g.id("label")).info.shape == Shape{-1, 3});
}

TEST_CASE("keras: Keras 2 splits long layer_names attributes in chunks" * doctest::skip(!hdf5::available())) {
  TempDir dir;
  {
    const hdf5::Group root = hdf5::create_file(dir.path("w.h5"));
    root.write_string_list_attr("layer_names0", {"d"});
    root.write_string_list_attr("layer_names1", {"e"});
    for (const char* name : {"d", "e"}) {
      const hdf5::Group l = root.create_group(name);
      l.write_string_list_attr("weight_names", {std::string(name) + "/kernel:0"});
      l.write_dataset(std::string(name) + "/kernel:0", filled({2, 2}, {1, 2, 3, 4}));
    }
  }
  const json config = {
      {"class_name", "Sequential"},
      {"config",
       {{"name", "s"},
        {"layers",
         {keras_layer("Dense", "d", {{"units", 2}, {"use_bias", false}, {"batch_input_shape", {nullptr, 2}}}),
          keras_layer("Dense", "e", {{"units", 2}, {"use_bias", false}})}}}}};
  const Model m = import_keras(dir.write("m.json", config.dump()), dir.path("w.h5")).model;
  CHECK(m.weights.at("e.w") == filled({2, 2}, {1, 2, 3, 4}));
}

TEST_CASE("keras: initializers in every spelling") {
  auto vs = [](double scale, const std::string& mode, const std::string& dist) {
    return json{{"class_name", "VarianceScaling"},
                {"config", {{"scale", scale}, {"mode", mode}, {"distribution", dist}, {"seed", nullptr}}}};
  };
  const json keras3_he = {{"module", "keras.initializers"},
                          {"class_name", "HeNormal"},
                          {"config", {{"seed", nullptr}}},
                          {"registered_name", nullptr}};
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"class_name", "GlorotUniform"}, {"config", json::object()}}, "glorot_uniform"},
      {{{"class_name", "GlorotNormal"}, {"config", json::object()}}, "glorot_normal"},
      {{{"class_name", "HeUniform"}, {"config", json::object()}}, "he_uniform"},
      {keras3_he, "he_normal"},
      {{{"class_name", "Zeros"}, {"config", json::object()}}, "zeros"},
      {{{"class_name", "Ones"}, {"config", json::object()}}, "ones"},
      {"glorot_normal", "glorot_normal"},
      {"he_uniform", "he_uniform"},
      // Keras 2.0-2.3 wrote the named initializers as VarianceScaling.
      {vs(1.0, "fan_avg", "uniform"), "glorot_uniform"},
      {vs(1.0, "fan_avg", "normal"), "glorot_normal"},
      {vs(2.0, "fan_in", "uniform"), "he_uniform"},
      {vs(2.0, "fan_in", "truncated_normal"), "he_normal"}};
  for (const auto& [init, type] : cases) {
    CAPTURE(init.dump());
    const Graph g = sequential({4}, {keras_layer("Dense", "d", {{"units", 2}, {"kernel_initializer", init}})})
                        .model.graph;
    CHECK(g.node(g.id("d.w")).init.type == type);
  }
  CHECK_THROWS_WITH_AS(
      sequential({4}, {keras_layer("Dense", "d",
                                   {{"units", 2}, {"kernel_initializer", vs(3.0, "fan_out", "uniform")}})}),
      doctest::Contains(
          "m.json: layer \"d\" (Dense) at config.layers[1]: kernel_initializer: unsupported initializer"),
      Error);
}

TEST_CASE("keras: Conv2D groups, dilation and strides") {
  const Graph g =
      sequential(
          {9, 9, 4},
          {keras_layer("Conv2D", "c",
                       {{"filters", 6},
                        {"kernel_size", {3, 2}},
                        {"groups", 2},
                        {"dilation_rate", 2},
                        {"padding", "valid"}}),
           keras_layer("Conv2D", "s",
                       {{"filters", 2}, {"kernel_size", 3}, {"strides", {2, 1}}, {"padding", "same"}})})
          .model.graph;
  CHECK(g.node(g.id("c.w")).info.shape == Shape{6, 2, 3, 2});  // [filters, channels / groups, kh, kw]
  const json attrs = g.node(g.id("c")).op->attrs();
  CHECK(attrs["groups"] == 2);
  CHECK(attrs["dilation"] == json::array({2, 2}));
  CHECK(g.node(g.id("c")).info.shape == Shape{-1, 6, 5, 7});  // 9 - 2·(3 - 1), 9 - 2·(2 - 1)
  CHECK(g.node(g.id("s")).info.shape == Shape{-1, 2, 3, 7});  // "same": ceil(5 / 2), ceil(7 / 1)
}
