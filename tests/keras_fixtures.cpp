#include "tests/keras_fixtures.h"

#include <map>

#include "core/hdf5.h"
#include "graph/keras_config.h"
#include "models/lenet.h"

namespace xgrad::test {
namespace {

using nlohmann::json;

// Keras 3 wraps dtypes in a policy object; tf.keras 2.x writes the bare name.
const json kPolicy = {{"module", "keras"},
                      {"class_name", "DTypePolicy"},
                      {"config", {{"name", "float32"}}},
                      {"registered_name", nullptr}};

// glorot_uniform as each generation spells it: Keras 2.0-2.3 as VarianceScaling, tf.keras by class
// name, 2.13+ and 3 as a serialized object with module and registered_name.
json glorot(KerasGen gen) {
  if (gen <= KerasGen::K2_2)
    return {
        {"class_name", "VarianceScaling"},
        {"config", {{"scale", 1.0}, {"mode", "fan_avg"}, {"distribution", "uniform"}, {"seed", nullptr}}}};
  json j = {{"class_name", "GlorotUniform"}, {"config", {{"seed", nullptr}}}};
  if (gen >= KerasGen::K2_13) j["module"] = "keras.initializers", j["registered_name"] = nullptr;
  return j;
}

json layer(KerasGen gen, const std::string& cls, json config, const json& input_shape) {
  return keras_layer(gen, cls, std::move(config), input_shape);
}

// What Conv2D and Dense write about their weights: initializers, no regularizers or constraints.
json weight_fields(KerasGen gen) {
  return {{"kernel_initializer", glorot(gen)}, {"bias_initializer", keras_initializer(gen, "Zeros")},
          {"kernel_regularizer", nullptr},     {"bias_regularizer", nullptr},
          {"activity_regularizer", nullptr},   {"kernel_constraint", nullptr},
          {"bias_constraint", nullptr}};
}

json conv(KerasGen gen, const std::string& name, int filters, const json& input_shape) {
  json c = {{"name", name},
            {"filters", filters},
            {"kernel_size", {5, 5}},
            {"strides", {1, 1}},
            {"padding", "valid"},
            {"data_format", "channels_last"},
            {"dilation_rate", {1, 1}},
            {"activation", "sigmoid"},
            {"use_bias", true}};
  c.update(weight_fields(gen));
  if (gen >= KerasGen::K2_4) c["groups"] = 1;
  return layer(gen, "Conv2D", c, input_shape);
}

json pool(KerasGen gen, const std::string& name, const json& input_shape) {
  return layer(gen, "MaxPooling2D",
               {{"name", name},
                {"pool_size", {2, 2}},
                {"padding", "same"},
                {"strides", {2, 2}},
                {"data_format", "channels_last"}},
               input_shape);
}

json dense(KerasGen gen, const std::string& name, int units, const std::string& act, int in) {
  json c = {{"name", name}, {"units", units}, {"activation", act}, {"use_bias", true}};
  c.update(weight_fields(gen));
  return layer(gen, "Dense", c, json::array({nullptr, in}));
}

json lenet_layers(KerasGen gen) {
  const json image = {nullptr, 28, 28, 1};
  json layers = json::array();
  layers.push_back(conv(gen, "conv1", 6, image));
  layers.push_back(pool(gen, "pool1", {nullptr, 24, 24, 6}));
  layers.push_back(conv(gen, "conv2", 16, {nullptr, 12, 12, 6}));
  layers.push_back(pool(gen, "pool2", {nullptr, 8, 8, 16}));
  layers.push_back(
      layer(gen, "Flatten", {{"name", "flatten"}, {"data_format", "channels_last"}}, {nullptr, 4, 4, 16}));
  layers.push_back(dense(gen, "fc1", 120, "sigmoid", 256));
  layers.push_back(dense(gen, "fc2", 84, "sigmoid", 120));
  layers.push_back(dense(gen, "fc3", 10, "softmax", 84));
  return layers;
}

}  // namespace

// OIHW -> HWIO by the definition: k[h][w][i][o] = x[o][i][h][w].
Tensor keras_hwio(const Tensor& x) {
  const auto& s = x.shape();
  Tensor k = make_tensor({int64_t(s[2]), int64_t(s[3]), int64_t(s[1]), int64_t(s[0])});
  for (size_t o = 0; o < s[0]; ++o)
    for (size_t i = 0; i < s[1]; ++i)
      for (size_t h = 0; h < s[2]; ++h)
        for (size_t w = 0; w < s[3]; ++w) k(h, w, i, o) = x(o, i, h, w);
  return k;
}

// Dense rows after a Flatten of [C, H, W]: xgrad row (c*H + h)*W + w is Keras row (h*W + w)*C + c.
Tensor keras_hwc_rows(const Tensor& x, size_t C, size_t H, size_t W) {
  Tensor k = x;
  for (size_t c = 0; c < C; ++c)
    for (size_t h = 0; h < H; ++h)
      for (size_t w = 0; w < W; ++w)
        for (size_t u = 0; u < x.shape()[1]; ++u) k((h * W + w) * C + c, u) = x((c * H + h) * W + w, u);
  return k;
}

namespace {

std::vector<KerasVars> lenet_vars(const Params& p) {
  return {{"conv1", "Conv2D", {{"kernel", keras_hwio(p.at("conv1.w"))}, {"bias", p.at("conv1.b")}}},
          {"pool1", "MaxPooling2D", {}},
          {"conv2", "Conv2D", {{"kernel", keras_hwio(p.at("conv2.w"))}, {"bias", p.at("conv2.b")}}},
          {"pool2", "MaxPooling2D", {}},
          {"flatten", "Flatten", {}},
          {"fc1", "Dense", {{"kernel", keras_hwc_rows(p.at("fc1.w"), 16, 4, 4)}, {"bias", p.at("fc1.b")}}},
          {"fc2", "Dense", {{"kernel", p.at("fc2.w")}, {"bias", p.at("fc2.b")}}},
          {"fc3", "Dense", {{"kernel", p.at("fc3.w")}, {"bias", p.at("fc3.b")}}}};
}

// legacy_h5_format.save_weights_to_hdf5_group: layer_names, backend, keras_version; per layer a
// group with weight_names "<layer>/<role>:0" and a dataset at that path.
void write_keras2_weights(const hdf5::Group& g, const std::vector<KerasVars>& layers) {
  std::vector<std::string> names;
  for (const KerasVars& l : layers) names.push_back(l.layer);
  g.write_string_list_attr("layer_names", names);
  g.write_string_attr("backend", "tensorflow");
  g.write_string_attr("keras_version", "2.11.0");
  for (const KerasVars& l : layers) {
    const hdf5::Group lg = g.create_group(l.layer);
    std::vector<std::string> weight_names;
    for (const auto& [role, value] : l.vars) {
      weight_names.push_back(l.layer + "/" + role + ":0");
      lg.write_dataset(weight_names.back(), value);
    }
    lg.write_string_list_attr("weight_names", weight_names);
  }
}

}  // namespace

void write_keras2_h5(const std::string& path, const json& config, const Params& w, bool with_config) {
  write_keras2_h5(path, config, lenet_vars(w), with_config);
}

void write_keras2_h5(const std::string& path, const json& config, const std::vector<KerasVars>& w,
                     bool with_config) {
  const hdf5::Group root = hdf5::create_file(path);
  if (!with_config) return write_keras2_weights(root, w);
  root.write_string_attr("keras_version", "2.11.0");
  root.write_string_attr("backend", "tensorflow");
  root.write_string_attr("model_config", config.dump());
  root.write_string_attr("training_config",
                         json({{"loss", "categorical_crossentropy"}, {"metrics", {"accuracy"}}}).dump());
  write_keras2_weights(root.create_group("model_weights"), w);
}

// saving_lib.H5IOStore: /layers/<snake_case class>[_n]/vars/<i>; newer Keras also writes a "name"
// attribute on each vars group, and creates it even for layers without variables.
void write_keras3_weights(const std::string& path, const Params& w) {
  write_keras3_weights(path, lenet_vars(w));
}

void write_keras3_weights(const std::string& path, const std::vector<KerasVars>& w) {
  static const std::map<std::string, std::string> snake = {
      {"Conv2D", "conv2d"},         {"Dense", "dense"},
      {"Flatten", "flatten"},       {"MaxPooling2D", "max_pooling2d"},
      {"Activation", "activation"}, {"BatchNormalization", "batch_normalization"}};
  const hdf5::Group root = hdf5::create_file(path);
  const hdf5::Group layers = root.create_group("layers");
  std::map<std::string, int> seen;
  for (const KerasVars& l : w) {
    const std::string& base = snake.at(l.class_name);
    const int n = seen[base]++;
    const hdf5::Group vars =
        layers.create_group(n == 0 ? base : base + "_" + std::to_string(n)).create_group("vars");
    vars.write_string_attr("name", l.layer, true);
    for (size_t i = 0; i < l.vars.size(); ++i) vars.write_dataset(std::to_string(i), l.vars[i].second);
  }
  root.create_group("vars");
}

json keras_initializer(KerasGen gen, const std::string& cls) {
  json j = {{"class_name", cls}, {"config", json::object()}};
  if (gen >= KerasGen::K2_13) j["module"] = "keras.initializers", j["registered_name"] = nullptr;
  return j;
}

json keras_layer(KerasGen gen, const std::string& cls, json config, const json& input_shape) {
  config["trainable"] = true;
  if (gen >= KerasGen::K2_4) config["dtype"] = gen == KerasGen::K3 ? kPolicy : json("float32");
  json l = {{"class_name", cls}, {"config", config}};
  if (gen >= KerasGen::K2_13) {
    l["module"] = "keras.layers";
    l["registered_name"] = nullptr;
    if (!input_shape.is_null()) l["build_config"] = {{"input_shape", input_shape}};
  }
  return l;
}

// The input: Keras 3 an InputLayer with "batch_shape", tf.keras 2.4+ one with "batch_input_shape",
// older Keras "batch_input_shape" on the first layer.
json keras_sequential(KerasGen gen, const std::string& name, json layers, const json& input_shape) {
  const std::string input_name = layers[0]["config"]["name"].get<std::string>() + "_input";
  if (gen == KerasGen::K3)
    layers.insert(
        layers.begin(),
        layer(
            gen, "InputLayer",
            {{"batch_shape", input_shape}, {"dtype", "float32"}, {"sparse", false}, {"name", "input_layer"}},
            nullptr));
  else if (gen >= KerasGen::K2_4)
    layers.insert(layers.begin(), json{{"class_name", "InputLayer"},
                                       {"config",
                                        {{"batch_input_shape", input_shape},
                                         {"dtype", "float32"},
                                         {"sparse", false},
                                         {"ragged", false},
                                         {"name", input_name}}}});
  else
    layers[0]["config"]["batch_input_shape"] = input_shape;
  switch (gen) {
    case KerasGen::K2_0:
      return {{"class_name", "Sequential"},
              {"config", layers},
              {"keras_version", "2.1.6"},
              {"backend", "tensorflow"}};
    case KerasGen::K2_2:
    case KerasGen::K2_4:
      return {{"class_name", "Sequential"},
              {"config", {{"name", name}, {"layers", layers}}},
              {"keras_version", gen == KerasGen::K2_2 ? "2.2.4" : "2.11.0"},
              {"backend", "tensorflow"}};
    case KerasGen::K2_13:
    case KerasGen::K3: {
      json config = {{"name", name}, {"layers", layers}};
      if (gen == KerasGen::K3) config["trainable"] = true, config["dtype"] = kPolicy;
      json loss = "categorical_crossentropy";
      if (gen == KerasGen::K3)
        loss = {{"module", "keras.losses"},
                {"class_name", "CategoricalCrossentropy"},
                {"config",
                 {{"name", "categorical_crossentropy"},
                  {"reduction", "sum_over_batch_size"},
                  {"from_logits", false},
                  {"label_smoothing", 0.0},
                  {"axis", -1}}},
                {"registered_name", nullptr}};
      return {{"module", "keras"},
              {"class_name", "Sequential"},
              {"config", config},
              {"registered_name", nullptr},
              {"build_config", {{"input_shape", input_shape}}},
              {"compile_config", {{"optimizer", "sgd"}, {"loss", loss}, {"metrics", {"accuracy"}}}}};
    }
  }
  return {};
}

KerasImport import_keras_json(const json& config) {
  return import_keras_model(parse_keras_model(config, "m.json"), nullptr);
}

json keras_lenet_config(KerasGen gen) {
  return keras_sequential(gen, "lenet", lenet_layers(gen), {nullptr, 28, 28, 1});
}

Params keras_lenet_weights(uint64_t seed) {
  Rng rng(seed);
  return init_params(lenet("sigmoid"), rng);
}

}  // namespace xgrad::test
