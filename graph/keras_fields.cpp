#include "graph/keras_fields.h"

#include <cmath>
#include <map>

#include "core/error.h"
#include "graph/json_fields.h"

namespace xgrad {
namespace {

using nlohmann::json;

// Keras 2.13+/3 serialize built-in functions as {"class_name": "function", "config": "relu", ...};
// older Keras writes the bare name.
std::string function_name(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("config") && j["config"].is_string()) return j["config"].get<std::string>();
  if (j.is_object() && j.contains("class_name") && j["class_name"].is_string())
    return j["class_name"].get<std::string>();
  return "";
}

// VarianceScaling(scale, mode, distribution) as the named initializer it is. Keras 2.0 wrote
// "normal" for what later versions call "truncated_normal".
std::string variance_scaling(const json& config, const std::string& where) {
  const double scale = keras_value(config, "scale", 1.0, where);
  const std::string mode = keras_value(config, "mode", std::string("fan_in"), where);
  const std::string dist = keras_value(config, "distribution", std::string("truncated_normal"), where);
  const std::string family = scale == 1.0 && mode == "fan_avg"  ? "glorot"
                             : scale == 2.0 && mode == "fan_in" ? "he"
                                                                : "";
  if (family.empty()) return "";
  if (dist == "uniform") return family + "_uniform";
  if (dist == "truncated_normal" || dist == "normal") return family + "_normal";
  return "";
}

}  // namespace

std::string keras_dtype(const json& j) {
  if (j.is_null()) return "float32";
  std::string name = j.is_string() ? j.get<std::string>() : "";
  if (j.is_object() && j.contains("config"))
    name = keras_value(j["config"], "name", std::string(), "dtype.config");
  if (name == "mixed_float16" || name == "mixed_bfloat16") return "float32";
  return name;
}

const json* KerasFields::get(const std::string& key) const {
  auto it = layer_.config.find(key);
  return it == layer_.config.end() || it->is_null() ? nullptr : &*it;
}

void KerasFields::fail(const std::string& key, const std::string& message) const {
  throw Error(where() + ": " + key + ": " + message);
}

int64_t KerasFields::integer(const std::string& key, int64_t fallback) const {
  const json* v = get(key);
  if (!v) return fallback;
  if (!v->is_number_integer()) fail(key, "expected an integer, found " + json_found(*v));
  return v->get<int64_t>();
}

double KerasFields::number(const std::string& key, double fallback) const {
  const json* v = get(key);
  if (!v) return fallback;
  if (!v->is_number() || !std::isfinite(v->get<double>()))
    fail(key, "expected a number, found " + json_found(*v));
  return v->get<double>();
}

bool KerasFields::boolean(const std::string& key, bool fallback) const {
  const json* v = get(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "expected true or false, found " + json_found(*v));
  return v->get<bool>();
}

std::string KerasFields::string(const std::string& key, const std::string& fallback) const {
  const json* v = get(key);
  if (!v) return fallback;
  if (!v->is_string()) fail(key, "expected a string, found " + json_found(*v));
  return v->get<std::string>();
}

std::array<int64_t, 2> KerasFields::pair(const std::string& key, std::array<int64_t, 2> fallback) const {
  const json* v = get(key);
  if (!v && fallback[0] == 0) fail(key, "missing");
  if (!v) return fallback;
  std::array<int64_t, 2> out{};
  const bool single = v->is_number_integer();
  if (!single &&
      !(v->is_array() && v->size() == 2 && (*v)[0].is_number_integer() && (*v)[1].is_number_integer()))
    fail(key, "expected an integer or a list of two integers, found " + v->dump());
  out[0] = single ? v->get<int64_t>() : (*v)[0].get<int64_t>();
  out[1] = single ? out[0] : (*v)[1].get<int64_t>();
  if (out[0] < 1 || out[1] < 1) fail(key, "expected values >= 1, found " + v->dump());
  return out;
}

std::string KerasFields::padding(const std::string& key) const {
  const std::string p = string(key, "valid");
  if (p != "valid" && p != "same") fail(key, "expected \"valid\" or \"same\", found \"" + p + "\"");
  return p;
}

void KerasFields::require(const std::string& key, const json& expected) const {
  const json* v = get(key);
  if (v && *v != expected) fail(key, "only " + expected.dump() + " is supported, found " + v->dump());
}

void KerasFields::require_channels_last() const {
  const std::string f = string("data_format", "channels_last");
  if (f != "channels_last") fail("data_format", "only \"channels_last\" is supported, found \"" + f + "\"");
}

std::string KerasFields::activation(const std::string& key) const {
  static const std::map<std::string, std::string> ops = {{"linear", "linear"},
                                                         {"relu", "relu"},
                                                         {"sigmoid", "sigmoid"},
                                                         {"tanh", "tanh"},
                                                         {"softmax", "softmax"},
                                                         {"elu", "elu"},
                                                         {"gelu", "gelu"},
                                                         {"swish", "silu"},
                                                         {"silu", "silu"},
                                                         {"softplus", "softplus"},
                                                         {"leaky_relu", "leaky_relu"}};
  const json* v = get(key);
  if (!v) return "linear";
  auto it = ops.find(function_name(*v));
  if (it == ops.end())
    fail(key, "unsupported activation " + v->dump() +
                  " (expected linear, relu, sigmoid, tanh, softmax, elu, gelu, swish/silu, softplus or "
                  "leaky_relu)");
  return it->second;
}

Init KerasFields::initializer(const std::string& key, const std::string& fallback) const {
  static const std::map<std::string, std::string> names = {{"GlorotUniform", "glorot_uniform"},
                                                           {"GlorotNormal", "glorot_normal"},
                                                           {"HeUniform", "he_uniform"},
                                                           {"HeNormal", "he_normal"},
                                                           {"Zeros", "zeros"},
                                                           {"Ones", "ones"},
                                                           {"glorot_uniform", "glorot_uniform"},
                                                           {"glorot_normal", "glorot_normal"},
                                                           {"he_uniform", "he_uniform"},
                                                           {"he_normal", "he_normal"},
                                                           {"zeros", "zeros"},
                                                           {"ones", "ones"},
                                                           {"Zero", "zeros"},
                                                           {"One", "ones"},
                                                           {"zero", "zeros"},
                                                           {"one", "ones"}};
  const json* v = get(key);
  if (!v) return Init{fallback};
  const std::string name = function_name(*v);
  const json config =
      v->is_object() && v->contains("config") && (*v)["config"].is_object() ? (*v)["config"] : json::object();
  if (auto it = names.find(name); it != names.end()) return Init{it->second};
  if (name == "VarianceScaling" || name == "variance_scaling")
    if (std::string vs = variance_scaling(config, where() + ": " + key + ".config"); !vs.empty())
      return Init{vs};
  if (name == "RandomUniform" || name == "random_uniform") {
    Init init{"uniform"};
    init.low = keras_value(config, "minval", -0.05, where() + ": " + key + ".config");
    init.high = keras_value(config, "maxval", 0.05, where() + ": " + key + ".config");
    return init;
  }
  if (name == "RandomNormal" || name == "random_normal") {
    Init init{"normal"};
    init.mean = keras_value(config, "mean", 0.0, where() + ": " + key + ".config");
    init.stddev = keras_value(config, "stddev", 0.05, where() + ": " + key + ".config");
    return init;
  }
  fail(key, "unsupported initializer " + v->dump() +
                " (expected GlorotUniform/Normal, HeUniform/Normal, Zeros, Ones, their VarianceScaling "
                "forms, RandomUniform or RandomNormal)");
}

}  // namespace xgrad
