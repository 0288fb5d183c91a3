#include "graph/init.h"

#include <cmath>

#include "core/error.h"

namespace xgrad {
namespace {

const char* const kNamed[] = {"zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal"};

bool is_named(const std::string& t) {
  for (const char* n : kNamed)
    if (t == n) return true;
  return false;
}

double number(const nlohmann::json& j, const char* key, double fallback) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()))
    throw Error(std::string(key) + ": expected a finite number, found " + v.dump());
  return v.get<double>();
}

struct Fans {
  double in, out;
};

Fans fans(const Shape& s) {
  if (s.empty()) return {1, 1};
  if (s.size() == 1) return {double(s[0]), double(s[0])};
  if (s.size() == 2) return {double(s[0]), double(s[1])};
  double receptive = 1;  // OIHW: everything after the two channel dims is the kernel
  for (size_t i = 2; i < s.size(); ++i) receptive *= double(s[i]);
  return {double(s[1]) * receptive, double(s[0]) * receptive};
}

}  // namespace

Init Init::parse(const nlohmann::json& j) {
  Init init;
  if (j.is_string()) {
    init.type = j.get<std::string>();
    if (!is_named(init.type))
      throw Error("unknown initializer \"" + init.type +
                  "\" (expected zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, or "
                  "{\"type\": \"uniform\"|\"normal\", ...})");
    return init;
  }
  if (!j.is_object() || !j.contains("type") || !j.at("type").is_string())
    throw Error("expected an initializer name or an object with a \"type\", found " + j.dump());
  init.type = j.at("type").get<std::string>();
  for (const auto& [key, value] : j.items()) {
    const bool known = key == "type" || (init.type == "uniform" && (key == "low" || key == "high")) ||
                       (init.type == "normal" && (key == "mean" || key == "stddev"));
    if (!known) throw Error("unknown field \"" + key + "\" for initializer \"" + init.type + "\"");
  }
  if (init.type == "uniform") {
    init.low = number(j, "low", init.low);
    init.high = number(j, "high", init.high);
    if (!(init.low < init.high)) throw Error("uniform initializer needs low < high");
  } else if (init.type == "normal") {
    init.mean = number(j, "mean", init.mean);
    init.stddev = number(j, "stddev", init.stddev);
    if (!(init.stddev > 0)) throw Error("normal initializer needs stddev > 0");
  } else if (!is_named(init.type)) {
    throw Error("unknown initializer \"" + init.type + "\"");
  }
  return init;
}

nlohmann::json Init::to_json() const {
  if (type == "uniform") return {{"type", type}, {"low", low}, {"high", high}};
  if (type == "normal") return {{"type", type}, {"mean", mean}, {"stddev", stddev}};
  return type;
}

Tensor initialize(const Init& init, const Shape& shape, Rng& rng) {
  Tensor t = make_tensor(shape);
  const auto [fan_in, fan_out] = fans(shape);
  auto fill_uniform = [&](double limit_low, double limit_high) {
    for (float& x : t) x = rng.uniform(float(limit_low), float(limit_high));
  };
  // Keras draws these from a normal truncated at 2 stddev, scaled so the variance is kept.
  auto fill_truncated = [&](double stddev) {
    for (float& x : t) x = float(rng.truncated_normal() * stddev / 0.87962566103423978);
  };
  const std::string& ty = init.type;
  if (ty == "zeros")
    t.fill(0.0f);
  else if (ty == "ones")
    t.fill(1.0f);
  else if (ty == "glorot_uniform") {
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    fill_uniform(-limit, limit);
  } else if (ty == "he_uniform") {
    const double limit = std::sqrt(6.0 / fan_in);
    fill_uniform(-limit, limit);
  } else if (ty == "glorot_normal")
    fill_truncated(std::sqrt(2.0 / (fan_in + fan_out)));
  else if (ty == "he_normal")
    fill_truncated(std::sqrt(2.0 / fan_in));
  else if (ty == "uniform")
    fill_uniform(init.low, init.high);
  else if (ty == "normal") {
    for (float& x : t) x = float(init.mean + init.stddev * rng.normal());
  } else
    throw Error("unknown initializer \"" + ty + "\"");
  return t;
}

}  // namespace xgrad
