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

TEST_CASE("op conformance: shapes, gradients, attributes, gradient check, in both modes") {
  Rng rng(42);
  for (const auto& c : op_cases()) {
    for (const Mode mode : {Mode::Train, Mode::Eval}) {
      const std::string label = c.label + (mode == Mode::Train ? " (train)" : " (eval)");
      SUBCASE(label.c_str()) {
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
        const RunContext ctx{mode, true, 1, 0, 0};
        op->run_forward(ctx, ptrs, out, ws);
        CHECK(shape_of(out) == inferred);

        std::vector<Tensor> grads(in.size());
        Grads slots;
        for (size_t i = 0; i < in.size(); ++i)
          slots.push_back(dtypes[i] == DType::Float32 ? &grads[i] : nullptr);
        op->run_backward(ctx, ptrs, out, make_tensor(inferred, 1.0f), ws, slots);
        for (size_t i = 0; i < in.size(); ++i)
          if (slots[i]) CHECK(shape_of(grads[i]) == shape_of(in[i]));

        const json attrs = op->attrs();
        CHECK(registry().make(c.op, attrs)->attrs() == attrs);
        CHECK(op->type() == c.op);

        const CheckResult r = check_op_gradients(*op, in, dtypes, c.tol, 1, mode);
        INFO(r.failure);
        CHECK(r.ok);
        CHECK(r.checked > 0);
      }
    }
  }
}
