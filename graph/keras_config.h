#pragma once
// Keras model configs of every generation brought to one form: a list of layers, each with its own
// config and the inputs of each of its calls, plus the model's inputs, outputs and loss.
//   Keras 2.0-2.1  {"class_name": "Sequential", "config": [layer, ...]} (or a bare list of layers)
//   Keras 2.2-2.12 {"class_name": "Sequential"|"Model"|"Functional", "config": {"name", "layers", ...}};
//                  Sequential's input from an InputLayer or a first layer's "batch_input_shape";
//                  functional "inbound_nodes": [[["layer", node, tensor, {kwargs}], ...]]
//   Keras 2.13+    the same plus "module", "registered_name", "build_config", "compile_config"
//   Keras 3        "batch_shape", dtype-policy objects, "inbound_nodes": [{"args": [keras tensors],
//   "kwargs"}]
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xgrad {

// One output tensor of one call of a layer: keras_history [layer, node_index, tensor_index].
struct KerasRef {
  std::string layer;
  int node = 0;
  int tensor = 0;
};

struct KerasLayer {
  std::string name, class_name;
  nlohmann::json config;                     // the layer's own "config" object
  std::vector<std::vector<KerasRef>> calls;  // the inputs of each call; empty for an InputLayer
  std::string where;                         // `layer "conv2d" (Conv2D) at config.layers[1]`
};

struct KerasModel {
  std::string name = "model";
  std::vector<KerasLayer> layers;  // Sequential: an InputLayer first, each layer calls the previous one
  std::vector<KerasRef> inputs, outputs;
  bool sequential = false;
  nlohmann::json loss;  // the compile/training config's "loss" (null when there is none)
  std::string source;   // file name for errors
};

// `j` is what model.to_json() writes, or config.json of a .keras archive. Errors read
// "<source>: <json path>: ..." and name the layer and its class where there is one.
KerasModel parse_keras_model(const nlohmann::json& j, const std::string& source);

// A Keras serialized object's class name: "Conv2D" from {"class_name": "Conv2D", ...}.
std::string keras_class_name(const nlohmann::json& j, const std::string& where);
// Layer class name -> snake case, as Keras names layer weight paths ("BatchNormalization" ->
// "batch_normalization", "Conv2D" -> "conv2d").
std::string keras_snake_case(const std::string& class_name);

}  // namespace xgrad
