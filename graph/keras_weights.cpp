#include "graph/keras_weights.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "graph/layout.h"

namespace xgrad {
namespace {

using Layout = KerasWeightSlot::Layout;

// Keras 2 splits long name lists over "layer_names0", "layer_names1", ... (HDF5 header limit).
std::vector<std::string> name_list(const hdf5::Group& g, const std::string& name) {
  if (g.has_attr(name)) return g.string_list_attr(name);
  std::vector<std::string> out;
  for (int chunk = 0; g.has_attr(name + std::to_string(chunk)); ++chunk)
    for (std::string& s : g.string_list_attr(name + std::to_string(chunk))) out.push_back(std::move(s));
  if (out.empty() && !g.has_attr(name + "0")) throw Error(g.where() + ": missing attribute \"" + name + "\"");
  return out;
}

// "sequential/conv2d/kernel:0" -> "kernel".
std::string variable_role(const std::string& weight_name) {
  std::string leaf = weight_name.substr(weight_name.find_last_of('/') + 1);
  return leaf.substr(0, leaf.find(':'));
}

std::string names(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

void read_keras2_layer(const hdf5::Group& g, const KerasLayerWeights& layer, Params& out) {
  const std::vector<std::string> weight_names = name_list(g, "weight_names");
  if (weight_names.size() != layer.slots.size())
    throw Error(g.where() + ": " + std::to_string(weight_names.size()) + " weights (" + names(weight_names) +
                ") but " + layer.where + " has " + std::to_string(layer.slots.size()));
  for (size_t i = 0; i < weight_names.size(); ++i) {
    const KerasWeightSlot& slot = layer.slots[i];
    const std::string role = variable_role(weight_names[i]);
    static const char* const known[] = {"kernel", "depthwise_kernel", "bias",           "gamma",
                                        "beta",   "moving_mean",      "moving_variance"};
    if (std::find(std::begin(known), std::end(known), role) != std::end(known) && role != slot.role)
      throw Error(g.where() + ": weight " + std::to_string(i) + " is \"" + weight_names[i] + "\" but " +
                  layer.where + " expects its " + slot.role + " there");
    out[slot.param] = keras_to_xgrad(slot, g.dataset(weight_names[i]), g.where() + "/" + weight_names[i]);
  }
}

Params read_keras2(const hdf5::Group& g, const KerasGraph& kg) {
  std::vector<std::string> file_layers;
  for (const std::string& name : name_list(g, "layer_names"))
    if (!name_list(g.group(name), "weight_names").empty()) file_layers.push_back(name);
  std::vector<const KerasLayerWeights*> model_layers;
  std::vector<std::string> model_names;
  for (const KerasLayerWeights& l : kg.layers)
    if (!l.slots.empty()) model_layers.push_back(&l), model_names.push_back(l.layer);
  if (file_layers.size() != model_layers.size())
    throw Error(g.where() + ": weights for " + std::to_string(file_layers.size()) + " layers (" +
                names(file_layers) + ") but the model has " + std::to_string(model_layers.size()) +
                " layers with weights (" + names(model_names) + ")");
  Params out;
  for (size_t k = 0; k < file_layers.size(); ++k)
    read_keras2_layer(g.group(file_layers[k]), *model_layers[k], out);
  return out;
}

Params read_keras3(const hdf5::Group& root, const KerasGraph& kg, bool sequential) {
  // Keras 2.13-2.15 .keras files used "_layer_checkpoint_dependencies" where Keras 3 writes "layers".
  const std::string top = root.has_group("layers") ? "layers" : "_layer_checkpoint_dependencies";
  std::map<std::string, int> seen;  // snake-case class name -> layers of that class so far
  Params out;
  for (size_t i = 0; i < kg.layers.size(); ++i) {
    const KerasLayerWeights& layer = kg.layers[i];
    if (sequential && i == 0 && layer.class_name == "InputLayer") continue;
    const std::string base = keras_snake_case(layer.class_name);
    const int n = seen[base]++;
    const std::string path = top + "/" + (n == 0 ? base : base + "_" + std::to_string(n)) + "/vars";
    if (layer.slots.empty()) continue;
    if (!root.has_group(path)) throw Error(root.where() + ": no group \"" + path + "\" for " + layer.where);
    const hdf5::Group vars = root.group(path);
    const size_t stored = vars.children().size();
    if (stored != layer.slots.size())
      throw Error(vars.where() + ": " + std::to_string(stored) + " variables but " + layer.where + " has " +
                  std::to_string(layer.slots.size()));
    for (size_t v = 0; v < stored; ++v)
      out[layer.slots[v].param] = keras_to_xgrad(layer.slots[v], vars.dataset(std::to_string(v)),
                                                 vars.where() + "/" + std::to_string(v));
  }
  return out;
}

}  // namespace

// The conversions are graph/layout.h's Keras layout read backwards; a depthwise kernel
// [kh, kw, C, M] has the bytes of an HWIO kernel [kh, kw, 1, C*M] (output channel c*M + m).
Tensor keras_to_xgrad(const KerasWeightSlot& slot, const Tensor& k, const std::string& where) {
  const Shape got = shape_of(k);
  if (got != slot.keras_shape)
    throw Error(where + ": shape " + to_string(got) + " but " + slot.param + " needs " +
                to_string(slot.keras_shape) + " (Keras layout)");
  const Shape& s = slot.keras_shape;
  LayoutEntry e{slot.param, slot.role, s, LayoutEntry::Transform::Identity, {}};
  switch (slot.layout) {
    case Layout::AsIs:
      return k;
    case Layout::ConvHWIO:
      e.transform = LayoutEntry::Transform::OihwToHwio;
      return from_layout(e, k);
    case Layout::DepthwiseHWCM: {
      e.transform = LayoutEntry::Transform::OihwToHwio;
      e.shape = {s[0], s[1], 1, s[2] * s[3]};
      Tensor hwio = k;
      hwio.reshape(e.shape);
      return from_layout(e, hwio);
    }
    case Layout::DenseRowsHWC:
      e.transform = LayoutEntry::Transform::FlattenRows;
      e.chw = {slot.hwc[2], slot.hwc[0], slot.hwc[1]};
      return from_layout(e, k);
  }
  return k;
}

Params read_keras_weights(const hdf5::Group& root, const KerasGraph& kg, bool sequential) {
  if (root.has_group("model_weights")) return read_keras2(root.group("model_weights"), kg);
  if (root.has_attr("layer_names") || root.has_attr("layer_names0")) return read_keras2(root, kg);
  if (root.has_group("layers") || root.has_group("_layer_checkpoint_dependencies"))
    return read_keras3(root, kg, sequential);
  throw Error(root.where() +
              ": no Keras weights (expected a \"model_weights\" group, a \"layer_names\" attribute "
              "or a \"layers\" group)");
}

}  // namespace xgrad
