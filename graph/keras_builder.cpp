#include "graph/keras_builder.h"

#include <map>

#include "core/error.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

// Keras variable -> the role suffix of the xgrad param (xgrad's builders name theirs .w and .b).
std::string short_role(const std::string& role) {
  static const std::map<std::string, std::string> names = {{"kernel", "w"},
                                                           {"depthwise_kernel", "w"},
                                                           {"bias", "b"},
                                                           {"moving_mean", "mean"},
                                                           {"moving_variance", "var"}};
  auto it = names.find(role);
  return it == names.end() ? role : it->second;
}

const std::map<std::string, KerasLayerMapper>& mappers() {
  static const std::map<std::string, KerasLayerMapper> table = {
      {"Conv2D", map_conv2d},
      {"Convolution2D", map_conv2d},
      {"DepthwiseConv2D", map_depthwise_conv2d},
      {"Dense", map_dense},
      {"BatchNormalization", map_batch_norm},
      {"MaxPooling2D", map_pool2d},
      {"MaxPool2D", map_pool2d},
      {"AveragePooling2D", map_pool2d},
      {"AvgPool2D", map_pool2d},
      {"GlobalAveragePooling2D", map_global_pool2d},
      {"GlobalAvgPool2D", map_global_pool2d},
      {"GlobalMaxPooling2D", map_global_pool2d},
      {"GlobalMaxPool2D", map_global_pool2d},
      {"Flatten", map_flatten},
      {"Reshape", map_reshape},
      {"Activation", map_activation},
      {"ReLU", map_relu},
      {"LeakyReLU", map_leaky_relu},
      {"ELU", map_elu},
      {"Softmax", map_softmax},
      {"Dropout", map_dropout},
      {"Add", map_add},
      {"Concatenate", map_concatenate},
  };
  return table;
}

}  // namespace

KerasLayerMapper keras_layer_mapper(const std::string& class_name) {
  auto it = mappers().find(class_name);
  return it == mappers().end() ? nullptr : it->second;
}

std::string keras_supported_layers() {
  std::string names = "InputLayer";
  for (const auto& kv : mappers()) names += ", " + kv.first;
  return names;
}

Value KerasBuilder::op(const std::string& type, const std::vector<Value>& inputs, const nlohmann::json& attrs,
                       const std::string& name) {
  if (!registry().has(type))
    throw Error("needs the op \"" + type + "\", which this xgrad build does not have");
  return b.op(type, inputs, attrs, name);
}

void KerasBuilder::begin_layer(const KerasLayer& layer) {
  out_.layers.push_back({layer.name, layer.class_name, layer.where, {}});
}

Value KerasBuilder::weight(const KerasCall& c, const std::string& role, const Shape& shape, const Init& init,
                           const Shape& keras_shape, KerasWeightSlot::Layout layout, const Shape& hwc) {
  const std::string name = c.f.layer().name + "." + short_role(role);
  if (!c.first) return {b.graph().id(name)};
  out_.layers.at(current_).slots.push_back({role, name, keras_shape, layout, hwc});
  return b.param(name, shape, init);
}

Value KerasBuilder::state(const KerasCall& c, const std::string& role, const Shape& shape, const Init& init,
                          bool stored) {
  const std::string name = c.f.layer().name + "." + short_role(role);
  if (!c.first) return {b.graph().id(name)};
  if (stored)
    out_.layers.at(current_).slots.push_back({role, name, shape, KerasWeightSlot::Layout::AsIs, {}});
  return b.state(name, shape, init);
}

Shape KerasBuilder::keras_shape(Value v) const {
  const Shape& s = b.shape(v);
  Shape per_sample(s.begin() + 1, s.end());
  if (per_sample.size() == 3) return {per_sample[1], per_sample[2], per_sample[0]};
  return per_sample;
}

KTensor KerasBuilder::activate(const KTensor& x, const std::string& act, const std::string& name,
                               double alpha) {
  if (act == "linear") return x;
  nlohmann::json attrs = nlohmann::json::object();
  if (act == "softmax") {
    if (!x.hwc.empty()) throw Error("softmax over a flattened image is not supported");
    attrs["axis"] = is_image(x) ? 1 : -1;  // Keras' default axis -1 is the channel axis of an image
  }
  if (act == "gelu") attrs["approximate"] = "none";
  if (act == "leaky_relu") attrs["alpha"] = alpha < 0 ? 0.2 : alpha;  // keras.activations.leaky_relu: 0.2
  if (act == "elu" && alpha >= 0) attrs["alpha"] = alpha;
  KTensor y = x;
  y.v = op(act, {x.v}, attrs, name);
  y.act = act == "softmax" || act == "sigmoid" ? act : "";
  y.pre = x.v;
  return y;
}

int64_t keras_axis(const KerasFields& f, const std::string& key, int64_t axis, const KTensor& t) {
  const int64_t rank = int64_t(t.keras.size()) + 1;
  if (axis < -rank || axis >= rank || axis == 0 || axis == -rank)
    f.fail(key, "axis " + std::to_string(axis) + " is not a feature axis of a rank-" + std::to_string(rank) +
                    " tensor");
  if (axis < 0) axis += rank;
  if (!is_image(t)) return axis;
  static const int64_t nchw[] = {0, 2, 3, 1};  // Keras N,H,W,C axis -> xgrad N,C,H,W axis
  return nchw[axis];
}

}  // namespace xgrad
