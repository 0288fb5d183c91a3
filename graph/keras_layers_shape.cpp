// Keras layers without weights: pooling, Flatten, Reshape, activations, Dropout, Add, Concatenate.
#include "core/error.h"
#include "graph/keras_builder.h"

namespace xgrad {
namespace {

using nlohmann::json;

const KTensor& one_input(const KerasCall& c) {
  if (c.in.size() != 1) c.f.fail("inbound_nodes", "expected one input, found " + std::to_string(c.in.size()));
  return c.in[0];
}

const KTensor& image_input(const KerasCall& c) {
  const KTensor& x = one_input(c);
  if (!is_image(x))
    c.f.fail("inbound_nodes", "expected an image input [H, W, C], found " + to_string(x.keras));
  c.f.require_channels_last();
  return x;
}

bool has_prefix(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

KTensor unary(KerasBuilder& kb, const KerasCall& c, const std::string& type, const json& attrs) {
  KTensor x = one_input(c);
  x.v = kb.op(type, {x.v}, attrs, c.name);
  x.act.clear();
  return x;
}

}  // namespace

KTensor map_pool2d(KerasBuilder& kb, const KerasCall& c) {
  const KTensor& x = image_input(c);
  const auto kernel = c.f.pair("pool_size", {2, 2});
  const auto stride = c.f.pair("strides", kernel);
  const std::string type = has_prefix(c.f.layer().class_name, "Max") ? "max_pool2d" : "avg_pool2d";
  Value y = kb.op(type, {x.v}, {{"kernel", kernel}, {"stride", stride}, {"padding", c.f.padding()}}, c.name);
  return {y, kb.keras_shape(y), {}, "", {}};
}

KTensor map_global_pool2d(KerasBuilder& kb, const KerasCall& c) {
  const KTensor& x = image_input(c);
  const std::string type =
      has_prefix(c.f.layer().class_name, "GlobalMax") ? "global_max_pool2d" : "global_avg_pool2d";
  const bool keepdims = c.f.boolean("keepdims", false);
  Value y = kb.op(type, {x.v}, json::object(), c.name);
  const int64_t channels = x.keras[2];
  // Whatever rank the op returns ([N, C] or [N, C, 1, 1]), give Keras' [C] or [1, 1, C].
  const Shape want = keepdims ? Shape{-1, channels, 1, 1} : Shape{-1, channels};
  if (kb.b.shape(y) != want)
    y = kb.op("reshape", {y}, {{"shape", Shape(want.begin() + 1, want.end())}}, c.name + ".reshape");
  return {y, keepdims ? Shape{1, 1, channels} : Shape{channels}, {}, "", {}};
}

KTensor map_flatten(KerasBuilder& kb, const KerasCall& c) {
  c.f.require_channels_last();
  const KTensor& x = one_input(c);
  Value y = kb.op("flatten", {x.v}, json::object(), c.name);
  KTensor out{y, {numel(x.keras)}, x.hwc, "", {}};
  // Keras flattens an image in H,W,C order, xgrad in C,H,W order: the same unless C or H*W is 1.
  if (is_image(x) && x.keras[2] > 1 && x.keras[0] * x.keras[1] > 1) out.hwc = x.keras;
  return out;
}

// Only reshapes that keep xgrad's element order equal to Keras': from or to an image with one
// channel (or 1x1), or between non-image shapes.
KTensor map_reshape(KerasBuilder& kb, const KerasCall& c) {
  const KTensor& x = one_input(c);
  const json* target = c.f.get("target_shape");
  if (!target || !target->is_array()) c.f.fail("target_shape", "expected a list of sizes");
  Shape keras;
  for (const json& d : *target) {
    if (!d.is_number_integer() || (d.get<int64_t>() < 1 && d.get<int64_t>() != -1))
      c.f.fail("target_shape", "expected positive sizes (one -1 allowed), found " + target->dump());
    keras.push_back(d.get<int64_t>());
  }
  auto order_free = [](const Shape& s) { return s.size() != 3 || s[2] == 1 || s[0] * s[1] == 1; };
  if (!x.hwc.empty() || !order_free(x.keras) || !order_free(keras))
    c.f.fail("target_shape", "reshaping " + to_string(x.keras) + " to " + target->dump() +
                                 " reorders channels-last data; only reshapes to or from images with one "
                                 "channel (or 1x1 images) are supported");
  Shape xgrad = keras.size() == 3 ? Shape{keras[2], keras[0], keras[1]} : keras;
  Value y = kb.op("reshape", {x.v}, {{"shape", xgrad}}, c.name);
  return {y, kb.keras_shape(y), {}, "", {}};
}

KTensor map_activation(KerasBuilder& kb, const KerasCall& c) {
  const std::string act = c.f.activation();
  if (act == "linear") return one_input(c);
  return kb.activate(one_input(c), act, c.name);
}

KTensor map_relu(KerasBuilder& kb, const KerasCall& c) {
  c.f.require("max_value", nullptr);
  if (c.f.number("threshold", 0.0) != 0.0) c.f.fail("threshold", "only 0 is supported");
  const double slope = c.f.number("negative_slope", 0.0);
  if (slope == 0.0) return unary(kb, c, "relu", json::object());
  return unary(kb, c, "leaky_relu", {{"alpha", slope}});
}

KTensor map_leaky_relu(KerasBuilder& kb, const KerasCall& c) {
  // Keras 2 calls the slope "alpha", Keras 3 "negative_slope"; the layer's default is 0.3.
  const double slope =
      c.f.get("negative_slope") ? c.f.number("negative_slope", 0.3) : c.f.number("alpha", 0.3);
  return unary(kb, c, "leaky_relu", {{"alpha", slope}});
}

KTensor map_elu(KerasBuilder& kb, const KerasCall& c) {
  return unary(kb, c, "elu", {{"alpha", c.f.number("alpha", 1.0)}});
}

KTensor map_softmax(KerasBuilder& kb, const KerasCall& c) {
  const KTensor& x = one_input(c);
  const json* axis = c.f.get("axis");
  if (axis && !axis->is_number_integer())
    c.f.fail("axis", "expected one integer axis, found " + axis->dump());
  if (!x.hwc.empty()) c.f.fail("axis", "softmax over a flattened image is not supported");
  KTensor y = x;
  y.v = kb.op("softmax", {x.v}, {{"axis", keras_axis(c.f, "axis", axis ? axis->get<int64_t>() : -1, x)}},
              c.name);
  y.act = "softmax";
  y.pre = x.v;
  return y;
}

KTensor map_dropout(KerasBuilder& kb, const KerasCall& c) {
  c.f.require("noise_shape", nullptr);
  const double rate = c.f.number("rate", -1);
  if (rate < 0 || rate >= 1) c.f.fail("rate", "expected a number in [0, 1)");
  return unary(kb, c, "dropout", {{"rate", rate}});
}

KTensor map_add(KerasBuilder& kb, const KerasCall& c) {
  if (c.in.size() < 2)
    c.f.fail("inbound_nodes", "expected at least two inputs, found " + std::to_string(c.in.size()));
  KTensor sum = c.in[0];
  for (size_t i = 1; i < c.in.size(); ++i) {
    if (c.in[i].keras != sum.keras || c.in[i].hwc != sum.hwc)
      c.f.fail("inbound_nodes",
               "inputs of different shapes " + to_string(sum.keras) + " and " + to_string(c.in[i].keras));
    const std::string name = i + 1 == c.in.size() ? c.name : c.name + "." + std::to_string(i);
    sum.v = kb.op("add", {sum.v, c.in[i].v}, json::object(), name);
  }
  sum.act.clear();
  return sum;
}

KTensor map_concatenate(KerasBuilder& kb, const KerasCall& c) {
  if (c.in.size() < 2)
    c.f.fail("inbound_nodes", "expected at least two inputs, found " + std::to_string(c.in.size()));
  std::vector<Value> inputs;
  for (const KTensor& t : c.in) {
    if (!t.hwc.empty()) c.f.fail("inbound_nodes", "concatenating a flattened image is not supported");
    if (t.keras.size() != c.in[0].keras.size()) c.f.fail("inbound_nodes", "inputs of different ranks");
    inputs.push_back(t.v);
  }
  const int64_t axis = keras_axis(c.f, "axis", c.f.integer("axis", -1), c.in[0]);
  Value y = kb.op("concat", inputs, {{"axis", axis}}, c.name);
  return {y, kb.keras_shape(y), {}, "", {}};
}

}  // namespace xgrad
