#pragma once
// Runs one op by name on concrete tensors, for the hand-computed forward and gradient cases.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "ops/registry.h"

namespace xgrad::test {

struct OpRun {
  Tensor out;
  std::vector<Tensor> grads;  // one per input, d(Σ out ⊙ grad_out)/d input; empty for int32 inputs
};

// Forward, then (with_grads) backward of *grad_out, ones when null.
inline OpRun run_op_full(const std::string& type, const json& attrs, const std::vector<Tensor>& in,
                         const std::vector<DType>& dtypes = {}, bool with_grads = true,
                         const Tensor* grad_out = nullptr) {
  auto op = registry().make(type, attrs);
  std::vector<ValueInfo> infos;
  Inputs ptrs;
  for (size_t i = 0; i < in.size(); ++i) {
    infos.push_back({shape_of(in[i]), i < dtypes.size() ? dtypes[i] : DType::Float32});
    ptrs.push_back(&in[i]);
  }
  OpRun r;
  r.out = make_tensor(op->infer_shape(infos));
  Workspace ws;
  op->forward(ptrs, r.out, ws, with_grads);
  if (!with_grads) return r;
  const Tensor ones = make_tensor(shape_of(r.out), 1.0f);
  r.grads.resize(in.size());
  Grads slots;
  for (size_t i = 0; i < in.size(); ++i)
    slots.push_back(infos[i].dtype == DType::Float32 ? &r.grads[i] : nullptr);
  op->backward(ptrs, r.out, grad_out ? *grad_out : ones, ws, slots);
  return r;
}

inline Tensor run_op(const std::string& type, const json& attrs, const std::vector<Tensor>& in,
                     const std::vector<DType>& dtypes = {}) {
  return run_op_full(type, attrs, in, dtypes, false).out;
}

inline void check_values(const Tensor& got, const Tensor& want) {
  REQUIRE(shape_of(got) == shape_of(want));
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i);
    CHECK(got.data()[i] == doctest::Approx(want.data()[i]));
  }
}

}  // namespace xgrad::test
