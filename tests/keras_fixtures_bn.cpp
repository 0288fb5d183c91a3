// The batch-norm fixture of tests/keras_fixtures.h: the Keras config of every generation, the same
// network built in xgrad, and its weights in both layouts.
#include "graph/builder.h"
#include "tests/keras_fixtures.h"

namespace xgrad::test {
namespace {

using nlohmann::json;

// What BatchNormalization writes: tf.keras (2.4-2.15) builds "axis" into a list of positive axes,
// standalone Keras 2.0-2.3 and Keras 3 keep the integer; Keras 3 adds "synchronized".
json batch_norm(KerasGen gen, const std::string& name, int64_t axis, bool center, const json& input_shape) {
  const bool tf_keras = gen == KerasGen::K2_4 || gen == KerasGen::K2_13;
  json c = {{"name", name},
            {"axis", tf_keras ? json::array({axis}) : json(-1)},
            {"momentum", 0.9},
            {"epsilon", 0.001},
            {"center", center},
            {"scale", true},
            {"beta_initializer", keras_initializer(gen, "Zeros")},
            {"gamma_initializer", keras_initializer(gen, "Ones")},
            {"moving_mean_initializer", keras_initializer(gen, "Zeros")},
            {"moving_variance_initializer", keras_initializer(gen, "Ones")},
            {"beta_regularizer", nullptr},
            {"gamma_regularizer", nullptr},
            {"beta_constraint", nullptr},
            {"gamma_constraint", nullptr}};
  if (gen == KerasGen::K3) c["synchronized"] = false;
  return keras_layer(gen, "BatchNormalization", c, input_shape);
}

json dense(KerasGen gen, const std::string& name, int units, const std::string& act, int in) {
  return keras_layer(gen, "Dense",
                     {{"name", name}, {"units", units}, {"activation", act}, {"use_bias", true}},
                     {nullptr, in});
}

Tensor random(Rng& rng, const Shape& shape, float low, float high) {
  Tensor t = make_tensor(shape);
  for (float& v : t) v = rng.uniform(low, high);
  return t;
}

}  // namespace

json keras_bn_config(KerasGen gen) {
  const json conv = {{"name", "conv"},         {"filters", 2},       {"kernel_size", {3, 3}},
                     {"strides", {1, 1}},      {"padding", "valid"}, {"data_format", "channels_last"},
                     {"activation", "linear"}, {"use_bias", true},   {"dilation_rate", {1, 1}}};
  json layers = json::array(
      {keras_layer(gen, "Conv2D", conv, {nullptr, 6, 6, 1}),
       batch_norm(gen, "bn", 3, true, {nullptr, 4, 4, 2}),
       keras_layer(gen, "Activation", {{"name", "act"}, {"activation", "relu"}}, {nullptr, 4, 4, 2}),
       keras_layer(gen, "MaxPooling2D",
                   {{"name", "pool"}, {"pool_size", {2, 2}}, {"strides", {2, 2}}, {"padding", "valid"}},
                   {nullptr, 4, 4, 2}),
       keras_layer(gen, "Flatten", {{"name", "flatten"}}, {nullptr, 2, 2, 2}),
       dense(gen, "fc1", 4, "linear", 8), batch_norm(gen, "bn2", 1, false, {nullptr, 4}),
       dense(gen, "fc2", 3, "softmax", 4)});
  return keras_sequential(gen, "bn_net", layers, {nullptr, 6, 6, 1});
}

Graph keras_bn_graph() {
  GraphBuilder b("bn_net");
  Value h = layers::conv2d(b, "conv", b.input("image", {-1, 1, 6, 6}), 2, 3);
  h = layers::batch_norm(b, "bn", h, 1e-3, 0.1);
  h = b.flatten(b.max_pool2d(b.relu(h), PoolOptions(2)));
  h = layers::dense(b, "fc1", h, 4);
  const Shape c{4};
  h = b.batch_norm(h, b.param("bn2.gamma", c, Init{"ones"}), b.state("bn2.beta", c, Init{"zeros"}),
                   b.state("bn2.mean", c, Init{"zeros"}), b.state("bn2.var", c, Init{"ones"}), 1e-3, 0.1,
                   "bn2");
  const Value logits = layers::dense(b, "fc2", h, 3);
  b.output("logits", logits);
  b.output("probs", b.softmax(logits));
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));
  return b.finish();
}

Params keras_bn_weights(uint64_t seed) {
  Rng rng(seed);
  Params w = init_params(keras_bn_graph(), rng);
  for (const char* bn : {"bn", "bn2"}) {
    const std::string name = bn;
    w[name + ".gamma"] = random(rng, shape_of(w.at(name + ".gamma")), 0.5f, 1.5f);
    w[name + ".mean"] = random(rng, shape_of(w.at(name + ".mean")), -0.5f, 0.5f);
    w[name + ".var"] = random(rng, shape_of(w.at(name + ".var")), 0.2f, 2.0f);
  }
  w["bn.beta"] = random(rng, {2}, -0.5f, 0.5f);
  w["conv.b"] = random(rng, {2}, -0.2f, 0.2f);
  return w;
}

std::vector<KerasVars> keras_bn_vars(const Params& w) {
  auto bn = [&](const std::string& name, bool center) {
    KerasVars v{name, "BatchNormalization", {{"gamma", w.at(name + ".gamma")}}};
    if (center) v.vars.push_back({"beta", w.at(name + ".beta")});
    v.vars.push_back({"moving_mean", w.at(name + ".mean")});
    v.vars.push_back({"moving_variance", w.at(name + ".var")});
    return v;
  };
  return {{"conv", "Conv2D", {{"kernel", keras_hwio(w.at("conv.w"))}, {"bias", w.at("conv.b")}}},
          bn("bn", true),
          {"act", "Activation", {}},
          {"pool", "MaxPooling2D", {}},
          {"flatten", "Flatten", {}},
          {"fc1", "Dense", {{"kernel", keras_hwc_rows(w.at("fc1.w"), 2, 2, 2)}, {"bias", w.at("fc1.b")}}},
          bn("bn2", false),
          {"fc2", "Dense", {{"kernel", w.at("fc2.w")}, {"bias", w.at("fc2.b")}}}};
}

}  // namespace xgrad::test
