// One harness over every registered op: shapes, gradient count and shapes, attribute round-trip
// and a finite-difference gradient check, from the sample cases in op_cases.cpp.
#include <doctest/doctest.h>

#include <set>

#include "ops/registry.h"
#include "tests/op_cases.h"

using namespace xgrad;
using namespace xgrad::test;

TEST_CASE("every registered op has at least one sample case") {
  std::set<std::string> covered;
  for (const auto& c : op_cases()) covered.insert(c.op);
  for (const auto& name : registry().names()) {
    INFO("op: " << name);
    CHECK(covered.count(name) == 1);
  }
}

TEST_CASE("op conformance: shapes, gradients, attributes, gradient check") {
  Rng rng(42);
  for (const auto& c : op_cases()) {
    SUBCASE(c.label.c_str()) {
      auto op = registry().make(c.op, c.attrs);
      std::vector<DType> dtypes;
      std::vector<Tensor> in = make_inputs(c, rng, dtypes);

      std::vector<ValueInfo> infos;
      Inputs ptrs;
      for (size_t i = 0; i < in.size(); ++i) {
        infos.push_back({shape_of(in[i]), dtypes[i]});
        ptrs.push_back(&in[i]);
      }
      const Shape inferred = op->infer_shape(infos);
      Tensor out = make_tensor(inferred);
      Workspace ws;
      op->forward(ptrs, out, ws, true);
      CHECK(shape_of(out) == inferred);

      std::vector<Tensor> grads(in.size());
      Grads slots;
      for (size_t i = 0; i < in.size(); ++i)
        slots.push_back(dtypes[i] == DType::Float32 ? &grads[i] : nullptr);
      op->backward(ptrs, out, make_tensor(inferred, 1.0f), ws, slots);
      for (size_t i = 0; i < in.size(); ++i)
        if (slots[i]) CHECK(shape_of(grads[i]) == shape_of(in[i]));

      const json attrs = op->attrs();
      CHECK(registry().make(c.op, attrs)->attrs() == attrs);
      CHECK(op->type() == c.op);

      const CheckResult r = check_op_gradients(*op, in, dtypes, c.tol);
      INFO(r.failure);
      CHECK(r.ok);
      CHECK(r.checked > 0);
    }
  }
}
