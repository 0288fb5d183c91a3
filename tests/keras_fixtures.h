#pragma once
// Keras model configs written by hand, one per generation of Keras' format, and Keras files
// written the way Keras writes them (see keras_fixtures.cpp for the field-by-field notes).
#include <string>

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

// The seed notebook's LeNet (Conv2D 6x5x5 sigmoid, MaxPooling2D 2 "same", Conv2D 16x5x5 sigmoid,
// MaxPooling2D, Flatten, Dense 120/84 sigmoid, Dense 10 softmax) as Keras `gen` writes it in
// model.to_json(); K2_13 and K3 carry compile_config with categorical_crossentropy.
nlohmann::json keras_lenet_config(KerasGen gen);

// LeNet's weights in xgrad's layout (random, seeded), named as keras_lenet_config imports them.
Params keras_lenet_weights(uint64_t seed);

// Writes `w` (xgrad layout, keras_lenet_config names) in Keras' layout:
//   Keras 2 model.save(): root attributes model_config (+ training_config), group model_weights
//     with layer_names, one group per layer with weight_names and datasets "<layer>/kernel:0"...
//   Keras 2 save_weights(): the same weights layout at the root, no model_config.
//   Keras 3 model.weights.h5: /layers/<snake class>[_n]/vars/<i>.
void write_keras2_h5(const std::string& path, const nlohmann::json& config, const Params& w,
                     bool with_config);
void write_keras3_weights(const std::string& path, const Params& w);

// Imports a Keras model config (already parsed JSON) without weights, as "m.json".
KerasImport import_keras_config(const nlohmann::json& config);

}  // namespace xgrad::test
