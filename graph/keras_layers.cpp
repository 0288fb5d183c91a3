// Keras layers with weights: Conv2D, DepthwiseConv2D, Dense, BatchNormalization.
#include <cmath>

#include "core/error.h"
#include "graph/keras_builder.h"

namespace xgrad {
namespace {

using nlohmann::json;
using Layout = KerasWeightSlot::Layout;

const KTensor& only_image(const KerasCall& c) {
  if (c.in.size() != 1) c.f.fail("inbound_nodes", "expected one input, found " + std::to_string(c.in.size()));
  if (!is_image(c.in[0]))
    c.f.fail("inbound_nodes", "expected an image input [H, W, C], found " + to_string(c.in[0].keras));
  return c.in[0];
}

// The conv2d attributes shared by Conv2D and DepthwiseConv2D.
json conv_attrs(const KerasCall& c, int64_t groups) {
  const auto stride = c.f.pair("strides", {1, 1});
  const auto dilation = c.f.pair("dilation_rate", {1, 1});
  if ((stride[0] > 1 || stride[1] > 1) && (dilation[0] > 1 || dilation[1] > 1))
    c.f.fail("dilation_rate", "strides > 1 together with dilation_rate > 1 is not supported (nor by Keras)");
  json attrs = {{"stride", stride}, {"padding", c.f.padding()}, {"dilation", dilation}};
  if (groups != 1) attrs["groups"] = groups;
  return attrs;
}

// Regularizers and constraints change training only: the imported model computes the same
// values without them, so they are left out with a note rather than refused.
void check_common(KerasBuilder& kb, const KerasCall& c) {
  c.f.require_channels_last();
  c.f.require("lora_rank", nullptr);
  for (const char* key :
       {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
        "bias_constraint", "depthwise_regularizer", "depthwise_constraint", "gamma_regularizer",
        "beta_regularizer", "gamma_constraint", "beta_constraint"})
    if (c.f.get(key) && c.first)
      kb.note(c.f.layer().where + ": " + key +
              " ignored (xgrad has no per-layer regularizers or constraints)");
}

KTensor finish_conv(KerasBuilder& kb, const KerasCall& c, Value y) {
  KTensor out{y, kb.keras_shape(y), {}, "", {}};
  return kb.activate(out, c.f.activation(), c.name + "." + c.f.activation());
}

}  // namespace

KTensor map_conv2d(KerasBuilder& kb, const KerasCall& c) {
  check_common(kb, c);
  const KTensor& x = only_image(c);
  const int64_t channels = x.keras[2], filters = c.f.integer("filters", 0), groups = c.f.integer("groups", 1);
  if (filters < 1) c.f.fail("filters", "expected a positive integer");
  if (groups < 1 || channels % groups != 0 || filters % groups != 0)
    c.f.fail("groups", std::to_string(groups) + " does not divide the " + std::to_string(channels) +
                           " input channels and the " + std::to_string(filters) + " filters");
  const auto k = c.f.pair("kernel_size", {0, 0});
  const int64_t in = channels / groups;
  Value w = kb.weight(c, "kernel", {filters, in, k[0], k[1]},
                      c.f.initializer("kernel_initializer", "glorot_uniform"), {k[0], k[1], in, filters},
                      Layout::ConvHWIO);
  std::vector<Value> inputs = {x.v, w};
  if (c.f.boolean("use_bias", true))
    inputs.push_back(
        kb.weight(c, "bias", {filters}, c.f.initializer("bias_initializer", "zeros"), {filters}));
  return finish_conv(kb, c, kb.op("conv2d", inputs, conv_attrs(c, groups), c.name));
}

// A depthwise conv is a grouped conv with one group per input channel: the Keras kernel
// [kh, kw, C, M] becomes [C*M, 1, kh, kw] with output channel c*M + m, as TensorFlow orders them.
KTensor map_depthwise_conv2d(KerasBuilder& kb, const KerasCall& c) {
  check_common(kb, c);
  const KTensor& x = only_image(c);
  const int64_t channels = x.keras[2], mult = c.f.integer("depth_multiplier", 1);
  if (mult < 1) c.f.fail("depth_multiplier", "expected a positive integer");
  const auto k = c.f.pair("kernel_size", {0, 0});
  Value w = kb.weight(c, "depthwise_kernel", {channels * mult, 1, k[0], k[1]},
                      c.f.initializer("depthwise_initializer", "glorot_uniform"),
                      {k[0], k[1], channels, mult}, Layout::DepthwiseHWCM);
  std::vector<Value> inputs = {x.v, w};
  if (c.f.boolean("use_bias", true))
    inputs.push_back(kb.weight(c, "bias", {channels * mult}, c.f.initializer("bias_initializer", "zeros"),
                               {channels * mult}));
  return finish_conv(kb, c, kb.op("conv2d", inputs, conv_attrs(c, channels), c.name));
}

KTensor map_dense(KerasBuilder& kb, const KerasCall& c) {
  check_common(kb, c);
  if (c.in.size() != 1) c.f.fail("inbound_nodes", "expected one input, found " + std::to_string(c.in.size()));
  const KTensor& x = c.in[0];
  if (x.keras.size() != 1)
    c.f.fail("inbound_nodes", "Dense on a " + std::to_string(x.keras.size() + 1) +
                                  "-D tensor is not supported (only [N, features]; add a Flatten)");
  const int64_t in = x.keras[0], units = c.f.integer("units", 0);
  if (units < 1) c.f.fail("units", "expected a positive integer");
  // After a Flatten of an image the rows of the kernel follow Keras' H,W,C order: permuted on load.
  const Layout layout = x.hwc.empty() ? Layout::AsIs : Layout::DenseRowsHWC;
  Value w = kb.weight(c, "kernel", {in, units}, c.f.initializer("kernel_initializer", "glorot_uniform"),
                      {in, units}, layout, x.hwc);
  std::vector<Value> inputs = {x.v, w};
  if (c.f.boolean("use_bias", true))
    inputs.push_back(kb.weight(c, "bias", {units}, c.f.initializer("bias_initializer", "zeros"), {units}));
  KTensor y{kb.op("matmul", inputs, json::object(), c.name), {units}, {}, "", {}};
  return kb.activate(y, c.f.activation(), c.name + "." + c.f.activation());
}

// Keras moves its statistics as moving = m·moving + (1 − m)·batch, xgrad (PyTorch) as
// moving = (1 − momentum)·moving + momentum·batch: momentum = 1 − m. Without center (scale) Keras
// has no beta (gamma): a state of zeros (ones) stands in, which no optimizer ever changes.
KTensor map_batch_norm(KerasBuilder& kb, const KerasCall& c) {
  check_common(kb, c);
  if (c.in.size() != 1) c.f.fail("inbound_nodes", "expected one input, found " + std::to_string(c.in.size()));
  const KTensor& x = c.in[0];
  const json* axis = c.f.get("axis");  // -1 (Keras 3), or a one-entry list once tf.keras built the layer
  if (axis && axis->is_array() && axis->size() == 1) axis = &(*axis)[0];
  if (axis && !axis->is_number_integer())
    c.f.fail("axis", "expected one integer axis, found " + axis->dump());
  const int64_t keras = axis ? axis->get<int64_t>() : -1;
  if (keras_axis(c.f, "axis", keras, x) != 1)
    c.f.fail("axis", "only the channel (last) axis is supported, found " + std::to_string(keras));
  if (!x.hwc.empty()) c.f.fail("inbound_nodes", "batch normalization of a flattened image is not supported");
  for (const char* key : {"renorm", "synchronized"}) c.f.require(key, false);
  for (const char* key : {"virtual_batch_size", "adjustment"}) c.f.require(key, nullptr);
  const Shape s{x.keras.back()};
  auto fixed = [&](const char* role, const char* init) { return kb.state(c, role, s, Init{init}, false); };
  const Value gamma = c.f.boolean("scale", true)
                          ? kb.weight(c, "gamma", s, c.f.initializer("gamma_initializer", "ones"), s)
                          : fixed("gamma", "ones");
  const Value beta = c.f.boolean("center", true)
                         ? kb.weight(c, "beta", s, c.f.initializer("beta_initializer", "zeros"), s)
                         : fixed("beta", "zeros");
  const Value mean = kb.state(c, "moving_mean", s, c.f.initializer("moving_mean_initializer", "zeros"), true);
  const Value var =
      kb.state(c, "moving_variance", s, c.f.initializer("moving_variance_initializer", "ones"), true);
  const double m = c.f.number("momentum", 0.99);
  if (!(m >= 0 && m <= 1)) c.f.fail("momentum", "expected a number in [0, 1]");
  // Rounded so 0.99 gives 0.01, not 0.010000000000000009.
  const json attrs = {{"epsilon", c.f.number("epsilon", 1e-3)},
                      {"momentum", std::round((1 - m) * 1e12) / 1e12}};
  return {kb.op("batch_norm", {x.v, gamma, beta, mean, var}, attrs, c.name), x.keras, {}, "", {}};
}

}  // namespace xgrad
