#pragma once
// Internal to the Keras import: the state shared by the layer mappers (graph/keras_layers*.cpp).
#include <string>
#include <vector>

#include "graph/builder.h"
#include "graph/keras_fields.h"
#include "graph/keras_graph.h"

namespace xgrad {

// A Keras tensor as built in xgrad.
struct KTensor {
  Value v;
  Shape keras;      // Keras' per-sample shape: [H, W, C] for images (xgrad holds [C, H, W])
  Shape hwc;        // set on a flattened image whose elements Keras orders H,W,C and xgrad C,H,W
  std::string act;  // "softmax" or "sigmoid" when v is that activation of `pre` (for the loss)
  Value pre;
};

inline bool is_image(const KTensor& t) { return t.keras.size() == 3; }

struct KerasCall {
  const KerasFields& f;
  std::vector<KTensor> in;
  std::string name;  // node name: the layer's name, "<layer>_call<k>" for later calls of a shared layer
  bool first = true;
};

class KerasBuilder {
 public:
  KerasBuilder(std::string name, KerasGraph& out) : b(std::move(name)), out_(out) {}

  // Any registered op; an op this build lacks is a clear error.
  Value op(const std::string& type, const std::vector<Value>& inputs, const nlohmann::json& attrs,
           const std::string& name);
  // The param "<layer>.<short role>" for Keras variable `role`, created on the layer's first call
  // and recorded (with its Keras shape and layout) for the weight readers.
  Value weight(const KerasCall& c, const std::string& role, const Shape& shape, const Init& init,
               const Shape& keras_shape, KerasWeightSlot::Layout layout = KerasWeightSlot::Layout::AsIs,
               const Shape& hwc = {});
  // A state (BatchNormalization's moving statistics, or a fixed gamma/beta) named like weight().
  Value state(const KerasCall& c, const std::string& role, const Shape& shape, const Init& init, bool stored);
  // x followed by an activation op ("linear" adds nothing); `name` is "<layer>.<activation>".
  KTensor activate(const KTensor& x, const std::string& act, const std::string& name, double alpha = -1);
  // Keras' per-sample shape of an xgrad value (NCHW -> HWC for 4-D values).
  Shape keras_shape(Value v) const;
  void note(const std::string& text) { out_.notes.push_back(text); }
  // Lists every layer first (weight readers need them all, in order); set_layer picks the one
  // whose weights weight() records.
  void begin_layer(const KerasLayer& layer);
  void set_layer(size_t index) { current_ = index; }

  GraphBuilder b;

 private:
  KerasGraph& out_;
  size_t current_ = 0;
};

// Maps one call of a layer; null when the class is not supported.
using KerasLayerMapper = KTensor (*)(KerasBuilder&, const KerasCall&);
KerasLayerMapper keras_layer_mapper(const std::string& class_name);
// The layer classes keras_layer_mapper knows, for error messages.
std::string keras_supported_layers();

// Keras axis (of the tensor with its batch dimension) -> xgrad axis; the channel axis of an image
// is 3 in Keras and 1 in xgrad.
int64_t keras_axis(const KerasFields& f, const std::string& key, int64_t axis, const KTensor& t);

// Layer mappers, by family (keras_layers.cpp: with weights; keras_layers_shape.cpp: without).
KTensor map_conv2d(KerasBuilder& kb, const KerasCall& c);
KTensor map_depthwise_conv2d(KerasBuilder& kb, const KerasCall& c);
KTensor map_dense(KerasBuilder& kb, const KerasCall& c);
KTensor map_batch_norm(KerasBuilder& kb, const KerasCall& c);
KTensor map_pool2d(KerasBuilder& kb, const KerasCall& c);
KTensor map_global_pool2d(KerasBuilder& kb, const KerasCall& c);
KTensor map_flatten(KerasBuilder& kb, const KerasCall& c);
KTensor map_reshape(KerasBuilder& kb, const KerasCall& c);
KTensor map_activation(KerasBuilder& kb, const KerasCall& c);
KTensor map_relu(KerasBuilder& kb, const KerasCall& c);
KTensor map_leaky_relu(KerasBuilder& kb, const KerasCall& c);
KTensor map_elu(KerasBuilder& kb, const KerasCall& c);
KTensor map_softmax(KerasBuilder& kb, const KerasCall& c);
KTensor map_dropout(KerasBuilder& kb, const KerasCall& c);
KTensor map_add(KerasBuilder& kb, const KerasCall& c);
KTensor map_concatenate(KerasBuilder& kb, const KerasCall& c);

}  // namespace xgrad
