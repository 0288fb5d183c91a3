#pragma once
// Reading one Keras layer's config: typed fields with Keras' defaults, activations and
// initializers in every spelling Keras has used. Errors name the file, the layer, its class and the
// field: `m.json: layer "conv2d" (Conv2D) at config.layers[1]: padding: expected "valid" or "same", found
// "causal"`.
#include <array>
#include <cstdint>
#include <string>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "graph/init.h"
#include "graph/json_fields.h"
#include "graph/keras_config.h"

namespace xgrad {

class KerasFields {
 public:
  KerasFields(const KerasLayer& layer, std::string source) : layer_(layer), source_(std::move(source)) {}

  // Absent or null: the default.
  const nlohmann::json* get(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t fallback) const;
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  // An int or a list of two ints ("kernel_size": 5 or [5, 5]), each >= 1.
  std::array<int64_t, 2> pair(const std::string& key, std::array<int64_t, 2> fallback) const;
  // "valid" or "same".
  std::string padding(const std::string& key = "padding") const;
  // The field must be absent, null or `expected` (a feature xgrad does not have).
  void require(const std::string& key, const nlohmann::json& expected) const;
  // channels_last only (absent or null means Keras' default, channels_last).
  void require_channels_last() const;
  // An activation as an xgrad op name: "linear", "relu", "sigmoid", "tanh", "softmax", "elu",
  // "gelu", "silu", "softplus", "leaky_relu".
  std::string activation(const std::string& key = "activation") const;
  Init initializer(const std::string& key, const std::string& fallback) const;

  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  std::string where() const { return source_ + ": " + layer_.where; }
  const KerasLayer& layer() const { return layer_; }

 private:
  const KerasLayer& layer_;
  std::string source_;
};

// j[key] when it is a number (T arithmetic) or a string, `fallback` when j is not an object or the
// key is absent or null; otherwise Error "<where>.<key>: expected a number, found ...".
template <class T>
T keras_value(const nlohmann::json& j, const std::string& key, const T& fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  const nlohmann::json& v = j[key];
  constexpr bool number = std::is_arithmetic_v<T>;
  if (number ? !v.is_number() : !v.is_string())
    throw Error(where + "." + key + ": expected " + (number ? "a number" : "a string") + ", found " +
                json_found(v));
  return v.get<T>();
}

// A dtype field: "float32", or a dtype-policy object {"class_name": "DTypePolicy", "config":
// {"name": "float32"}}; mixed_float16/mixed_bfloat16 keep float32 variables and are read as float32.
std::string keras_dtype(const nlohmann::json& j);

}  // namespace xgrad
