#pragma once
// Finite-difference gradient checks, for one op and for a whole graph. The scalar checked is
// L = Σ out ⊙ R with a fixed random R, so every output element's gradient path is exercised.
#include <string>
#include <vector>

#include "graph/engine.h"
#include "ops/op.h"

namespace xgrad::test {

struct Tolerance {
  double eps = 1e-2;   // central-difference step
  double atol = 2e-3;  // float32 forward passes: rounding noise ~1e-4 per difference
  double rtol = 2e-2;
};

struct CheckResult {
  bool ok = true;
  std::string failure;  // first mismatch: which input, which element, analytic vs numeric
  int checked = 0;
};

// `in` are the op's inputs; inputs whose dtype is Int32 are not differentiated. Every forward runs
// in `mode` with the same run context, so batch statistics and dropout masks are those of one run.
CheckResult check_op_gradients(const Op& op, std::vector<Tensor> in, const std::vector<DType>& dtypes,
                               const Tolerance& tol, uint64_t seed = 1, Mode mode = Mode::Train);

// Gradient of graph output `loss` w.r.t. params (every element up to `per_param` chosen ones), all
// forward passes in `mode`.
CheckResult check_graph_gradients(const Graph& g, const Feeds& feeds, Params params, const Tolerance& tol,
                                  int per_param = 1 << 30, Mode mode = Mode::Train);

}  // namespace xgrad::test
