#pragma once
// Sample cases for every registered op: the conformance test runs each through shape inference,
// forward, backward, attribute round-trip and a gradient check. An op without a case fails it.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/tensor.h"
#include "tests/gradcheck.h"

namespace xgrad::test {

// How a case's input values are drawn, chosen to keep finite differences away from kinks.
enum class Fill {
  Uniform,       // [-1, 1)
  Wide,          // [-4, 4): activations' tails and curvature
  AwayFromZero,  // ±[0.1, 1): relu's kink is at 0
  Small,         // [-0.05, 0.05): added to AwayFromZero values, keeps the sum off relu's kink
  Positive,      // [0.5, 2): log, sqrt, divisors
  Probability,   // [0.05, 0.95): binary targets
  Distinct,      // a shuffled grid 0.05 apart: no max-pool ties within eps
  Labels,        // int class ids in [0, classes)
  Targets,       // float rows that sum to 1
};

struct InputSpec {
  Shape shape;
  Fill fill = Fill::Uniform;
  int64_t classes = 0;
};

struct OpCase {
  std::string label;  // what the case covers, e.g. "conv2d stride 2 same"
  std::string op;
  nlohmann::json attrs;
  std::vector<InputSpec> inputs;
  Tolerance tol{};
};

const std::vector<OpCase>& op_cases();

// Draws the case's input tensors and their dtypes.
std::vector<Tensor> make_inputs(const OpCase& c, Rng& rng, std::vector<DType>& dtypes);

}  // namespace xgrad::test
