#pragma once
// Parameter initializers: a spec that is plain data (read from / written to JSON) and the code
// that fills a tensor from it with xgrad's Rng. Fans follow Keras: dense [in, out] -> (in, out);
// conv OIHW -> (I*kh*kw, O*kh*kw).
#include <string>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/tensor.h"

namespace xgrad {

struct Init {
  // zeros, ones, glorot_uniform, glorot_normal, he_uniform, he_normal, uniform, normal
  std::string type = "zeros";
  double low = -0.05, high = 0.05;   // uniform
  double mean = 0.0, stddev = 0.05;  // normal

  static Init parse(const nlohmann::json& j);  // "zeros" or {"type": "uniform", ...}; throws Error
  nlohmann::json to_json() const;
};

Tensor initialize(const Init& init, const Shape& shape, Rng& rng);

}  // namespace xgrad
