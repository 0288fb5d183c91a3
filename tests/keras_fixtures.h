#pragma once
// Keras model configs written by hand, one per generation of Keras' format, and Keras files
// written the way Keras writes them (see keras_fixtures.cpp for the field-by-field notes).
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/keras_import.h"
#include "graph/params.h"

namespace xgrad::test {

enum class KerasGen {
  K2_0,   // Keras 2.0-2.1: "config" is the bare list of layers, input from "batch_input_shape"
  K2_2,   // Keras 2.2-2.3: "config": {"name", "layers"}, no InputLayer, "batch_input_shape" on layer 1
  K2_4,   // tf.keras 2.4-2.12: an InputLayer with "batch_input_shape" first
  K2_13,  // tf.keras 2.13-2.15: plus "module", "registered_name", "build_config", "compile_config"
  K3,     // Keras 3: InputLayer "batch_shape", dtype-policy objects, serialized initializers
};

constexpr KerasGen kKerasGens[] = {KerasGen::K2_0, KerasGen::K2_2, KerasGen::K2_4, KerasGen::K2_13,
                                   KerasGen::K3};

// A model config (as model.to_json() writes it) imported without weights; errors name "m.json".
KerasImport import_keras_json(const nlohmann::json& config);

// The seed notebook's LeNet (Conv2D 6x5x5 sigmoid, MaxPooling2D 2 "same", Conv2D 16x5x5 sigmoid,
// MaxPooling2D, Flatten, Dense 120/84 sigmoid, Dense 10 softmax) as Keras `gen` writes it in
// model.to_json(); K2_13 and K3 carry compile_config with categorical_crossentropy.
nlohmann::json keras_lenet_config(KerasGen gen);

// LeNet's weights in xgrad's layout (random, seeded), named as keras_lenet_config imports them.
Params keras_lenet_weights(uint64_t seed);

// Keras config pieces as generation `gen` writes them: an initializer without arguments ("Zeros",
// "Ones"); a layer {"class_name", "config"} (+ dtype, and module/registered_name/build_config from
// 2.13 on); a Sequential model of `layers` (named, input excluded) taking `input_shape` ([null, ...]),
// with categorical cross-entropy in compile_config from 2.13 on.
nlohmann::json keras_initializer(KerasGen gen, const std::string& cls);
nlohmann::json keras_layer(KerasGen gen, const std::string& cls, nlohmann::json config,
                           const nlohmann::json& input_shape);
nlohmann::json keras_sequential(KerasGen gen, const std::string& name, nlohmann::json layers,
                                const nlohmann::json& input_shape);

// One layer's variables in Keras' layout and order (what Keras' weight files store).
struct KerasVars {
  std::string layer, class_name;
  std::vector<std::pair<std::string, Tensor>> vars;  // Keras role ("kernel", "gamma", ...) -> value
};
// Conv kernels OIHW -> Keras' HWIO; dense rows after a Flatten of [C, H, W] in Keras' H,W,C order.
Tensor keras_hwio(const Tensor& oihw);
Tensor keras_hwc_rows(const Tensor& rows, size_t C, size_t H, size_t W);

// Writes `w` (xgrad layout, keras_lenet_config names) in Keras' layout:
//   Keras 2 model.save(): root attributes model_config (+ training_config), group model_weights
//     with layer_names, one group per layer with weight_names and datasets "<layer>/kernel:0"...
//   Keras 2 save_weights(): the same weights layout at the root, no model_config.
//   Keras 3 model.weights.h5: /layers/<snake class>[_n]/vars/<i>.
void write_keras2_h5(const std::string& path, const nlohmann::json& config, const Params& w,
                     bool with_config);
void write_keras3_weights(const std::string& path, const Params& w);
// The same for any model: its layers' variables, in the model's layer order.
void write_keras2_h5(const std::string& path, const nlohmann::json& config, const std::vector<KerasVars>& w,
                     bool with_config);
void write_keras3_weights(const std::string& path, const std::vector<KerasVars>& w);

// A small conv + batch-norm + dense network, the batch-norm tests' model and the Keras fuzz seeds':
//   image [6, 6, 1] -> conv (Conv2D, 2 filters 3x3) -> bn (BatchNormalization, momentum 0.9)
//   -> act (Activation relu) -> pool (MaxPooling2D 2) -> flatten -> fc1 (Dense 4)
//   -> bn2 (BatchNormalization, center=false) -> fc2 (Dense 3, softmax)
// with each generation's BatchNormalization fields (axis -1, or [3] as tf.keras writes a built layer).
nlohmann::json keras_bn_config(KerasGen gen);
// The same network built in xgrad: params conv.w/.b, bn.gamma/.beta, fc1.w/.b, bn2.gamma, fc2.w/.b;
// states bn.mean/.var, bn2.beta (zeros: Keras has no beta without center), bn2.mean/.var.
Graph keras_bn_graph();
// Random values for every param and state of keras_bn_graph (variances positive, bn2.beta zeros).
Params keras_bn_weights(uint64_t seed);
// `w` as Keras stores it, layer by layer.
std::vector<KerasVars> keras_bn_vars(const Params& w);

}  // namespace xgrad::test
