#pragma once
// Imports a trained Keras model as an xgrad model (graph + weights), ready to train, evaluate,
// save or export like any other. Files are told apart by their contents:
//   JSON       a model config (model.to_json(), or config.json of a .keras archive)
//   HDF5       a Keras 2 model (model.save("m.h5")): "model_config" attribute + "model_weights"
//   zip        a Keras 3 .keras archive: config.json + model.weights.h5
// `weights_path` (optional) is a weights file applied to the model: Keras 2 save_weights("w.h5")
// or Keras 3 save_weights("x.weights.h5"). See graph/keras_graph.h for the layout conversion.
#include <string>
#include <vector>

#include "graph/serialize.h"

namespace xgrad {

struct KerasImport {
  Model model;                     // weights: every param and state when the file had weights, else none
  std::vector<std::string> notes;  // choices made for the user (the loss picked, ignored fields)
};

KerasImport import_keras(const std::string& path, const std::string& weights_path = "");

// The same from a config already parsed; `h5` (may be null) holds the weights.
struct KerasModel;
namespace hdf5 {
class Group;
}
KerasImport import_keras_model(const KerasModel& config, const hdf5::Group* weights);

}  // namespace xgrad
