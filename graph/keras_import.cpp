#include "graph/keras_import.h"

#include <cstring>
#include <optional>

#include "core/error.h"
#include "core/hdf5.h"
#include "core/isolate.h"
#include "core/json_io.h"
#include "core/zip.h"
#include "graph/keras_config.h"
#include "graph/keras_graph.h"
#include "graph/keras_weights.h"

namespace xgrad {
namespace {

using nlohmann::json;

bool is_zip(const std::string& bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0;
}

std::string file_name(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// Keras 2 writes model_config and training_config as JSON text in root attributes.
KerasModel config_from_h5(const hdf5::Group& root, const std::string& path) {
  if (!root.has_attr("model_config"))
    throw Error(path +
                ": no \"model_config\" attribute: this is a weights file; pass it with --weights next to "
                "the model's JSON config");
  KerasModel m =
      parse_keras_model(parse_json(root.string_attr("model_config"), path + ": model_config"), path);
  if (m.loss.is_null() && root.has_attr("training_config")) {
    const json training = parse_json(root.string_attr("training_config"), path + ": training_config");
    if (training.is_object()) m.loss = training.value("loss", json());
  }
  return m;
}

// Params Keras does not store (a BatchNormalization without center or scale gets a fixed beta of
// zeros or gamma of ones) have constant inits: fill them so the weights are complete.
void complete_constants(const Graph& g, Params& weights) {
  for (const Node& n : g.nodes()) {  // params and states
    if (n.kind == NodeKind::Op || n.kind == NodeKind::Input || weights.count(n.name)) continue;
    if (n.init.type != "zeros" && n.init.type != "ones")
      throw Error("internal: no Keras weights for " + n.name);
    weights[n.name] = make_tensor(n.info.shape, n.init.type == "ones" ? 1.0f : 0.0f);
  }
}

}  // namespace

KerasImport import_keras_model(const KerasModel& config, const hdf5::Group* weights) {
  KerasGraph kg = keras_to_graph(config);
  KerasImport out{Model{std::move(kg.graph), {}, json::object()}, std::move(kg.notes)};
  if (weights) {
    out.model.weights = read_keras_weights(*weights, kg, config.sequential);
    complete_constants(out.model.graph, out.model.weights);
  }
  return out;
}

namespace {

// `bytes`: the file at `path`, read once by import_keras.
KerasImport import_keras_here(const std::string& path, const std::string& bytes,
                              const std::string& weights_path) {
  std::optional<hdf5::Group> weights;
  KerasModel config;
  std::string kind = "keras-json";
  if (hdf5::has_signature(bytes)) {
    weights = hdf5::open_file(path);
    config = config_from_h5(*weights, path);
    kind = "keras-h5";
  } else if (is_zip(bytes)) {  // Keras 3 .keras: config.json + model.weights.h5 (saving_lib.py)
    const ZipReader zip(bytes, path);
    config =
        parse_keras_model(parse_json(zip.read("config.json", kMaxModelBytes), path + ": config.json"), path);
    if (zip.contains("model.weights.h5"))
      weights = hdf5::open_image(zip.read("model.weights.h5"), path + ": model.weights.h5");
    kind = "keras-v3";
  } else {
    config = parse_keras_model(parse_json(bytes, path), path);
  }
  if (!weights_path.empty()) weights = hdf5::open_file(weights_path);  // replaces the file's own weights
  KerasImport out = import_keras_model(config, weights ? &*weights : nullptr);
  out.model.meta = {{"imported_from", {{"format", kind}, {"file", file_name(path)}}}};
  return out;
}

}  // namespace

// libhdf5 reads out of bounds on some corrupt files (tests/fuzz/regressions/keras_h5/libhdf5-*):
// an import that reads HDF5 runs first in a child process, so such a file ends in an Error, not a
// crash. A JSON config is read by xgrad's own code alone: no child.
KerasImport import_keras(const std::string& path, const std::string& weights_path) {
  const std::string bytes = read_text_file(path, kMaxModelBytes);
  if (weights_path.empty() && !hdf5::has_signature(bytes) && !is_zip(bytes))
    return import_keras_here(path, bytes, "");
  const std::string crash = run_in_child([&] { import_keras_here(path, bytes, weights_path); });
  if (!crash.empty())
    throw Error((weights_path.empty() ? path : path + " or " + weights_path) +
                ": the HDF5 library failed reading it (" + crash + "): the file is corrupt");
  return import_keras_here(path, bytes, weights_path);
}

}  // namespace xgrad
