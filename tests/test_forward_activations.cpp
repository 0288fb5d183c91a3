// Hand-computed values (forward, and gradients where the formula is the point) for the activations,
// log_softmax and the mse / sigmoid_cross_entropy losses. Reference numbers: Python's math module.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "ops/cpu.h"
#include "tests/fixtures.h"
#include "tests/op_run.h"

using namespace xgrad;
using test::check_values;
using test::OpRun;
using test::run_op;
using test::run_op_full;
using test::vec;

TEST_CASE("leaky_relu and elu, default and given alpha") {
  const Tensor x = vec({-2, -0.5f, 0, 3});
  check_values(run_op("leaky_relu", json::object(), {x}), vec({-0.02f, -0.005f, 0, 3}));
  check_values(run_op("leaky_relu", {{"alpha", 0.2}}, {x}), vec({-0.4f, -0.1f, 0, 3}));
  check_values(run_op("elu", json::object(), {x}), vec({-0.8646647f, -0.3934693f, 0, 3}));
  check_values(run_op("elu", {{"alpha", 0.5}}, {x}), vec({-0.4323324f, -0.1967347f, 0, 3}));
  // leaky_relu's slope at 0 is alpha (PyTorch: x > 0 ? 1 : alpha); elu's below 0 is alpha·e^x
  check_values(run_op_full("leaky_relu", {{"alpha", 0.2}}, {x}).grads[0], vec({0.2f, 0.2f, 0.2f, 1}));
  check_values(run_op_full("elu", {{"alpha", 0.5}}, {x}).grads[0],
               vec({0.5f * std::exp(-2.0f), 0.5f * std::exp(-0.5f), 0.5f, 1}));
}

TEST_CASE("gelu: erf and tanh forms") {
  const Tensor x = vec({-3, -1, 0, 1, 2});
  check_values(run_op("gelu", json::object(), {x}),
               vec({-0.0040496941f, -0.15865525f, 0, 0.84134475f, 1.9544997f}));
  check_values(run_op("gelu", {{"approximate", "none"}}, {x}),
               vec({-0.0040496941f, -0.15865525f, 0, 0.84134475f, 1.9544997f}));
  check_values(run_op("gelu", {{"approximate", "tanh"}}, {vec({-1, 0, 1, 2})}),
               vec({-0.15880801f, 0, 0.84119199f, 1.9545977f}));
  // dy/dx at 0 is Φ(0) = 0.5 in both forms
  CHECK(run_op_full("gelu", json::object(), {vec({0})}).grads[0](0) == doctest::Approx(0.5));
  CHECK(run_op_full("gelu", {{"approximate", "tanh"}}, {vec({0})}).grads[0](0) == doctest::Approx(0.5));
}

TEST_CASE("silu and softplus, finite at ±1e4") {
  const Tensor x = vec({-1e4f, -1, 0, 1, 1e4f});
  check_values(run_op("silu", json::object(), {x}), vec({0, -0.26894142f, 0, 0.73105858f, 1e4f}));
  const Tensor sp = run_op("softplus", json::object(), {x});
  check_values(sp, vec({0, 0.31326169f, 0.69314718f, 1.3132617f, 1e4f}));
  // softplus' derivative is σ(x): exactly 0 and 1 in the tails, never NaN
  check_values(run_op_full("softplus", json::object(), {x}).grads[0],
               vec({0, 0.26894142f, 0.5f, 0.73105858f, 1}));
  // silu'(x) = σ(x)·(1 + x·(1 − σ(x))): 0.5 at 0, 1 far right, 0 far left
  check_values(run_op_full("silu", json::object(), {x}).grads[0], vec({0, 0.072329f, 0.5f, 0.927671f, 1}));
}

TEST_CASE("log_softmax: log of softmax, exact in the tails") {
  Tensor logits = {{0.0f, std::log(3.0f)}, {1e4f, -1e4f}};
  const Tensor y = run_op("log_softmax", json::object(), {logits});
  check_values(y, Tensor{{std::log(0.25f), std::log(0.75f)}, {0, -2e4f}});
  // along axis 0 of a [2, 1] column
  check_values(run_op("log_softmax", {{"axis", 0}}, {test::filled({2, 1}, {0, 0})}),
               test::filled({2, 1}, {-std::log(2.0f), -std::log(2.0f)}));
  // with g = ones: dx = 1 − K·softmax(x), which sums to 0 over each row
  const Tensor d = run_op_full("log_softmax", json::object(), {logits}).grads[0];
  check_values(d, Tensor{{1 - 2 * 0.25f, 1 - 2 * 0.75f}, {-1, 1}});
}

TEST_CASE("mse: mean of squared differences, gradients 2(p − t)/n and the negative") {
  const Tensor p = {{1, 2}, {3, 4}}, t = {{1, 0}, {3, 1}};
  const auto r = run_op_full("mse", json::object(), {p, t});
  CHECK(r.out.dimension() == 0);
  CHECK(r.out() == doctest::Approx((0 + 4 + 0 + 9) / 4.0));
  check_values(r.grads[0], Tensor{{0, 1}, {0, 1.5f}});
  check_values(r.grads[1], Tensor{{0, -1}, {0, -1.5f}});
}

TEST_CASE("sigmoid_cross_entropy: by hand, finite at ±1e4") {
  const Tensor x = vec({0, 1e4f, -1e4f, 2}), t = vec({0.5f, 1, 1, 0});
  const auto r = run_op_full("sigmoid_cross_entropy", json::object(), {x, t});
  // per element: log 2; 0; 1e4; log(1 + e²)
  CHECK(r.out() == doctest::Approx((std::log(2.0) + 0 + 1e4 + std::log1p(std::exp(2.0))) / 4));
  // dx = (σ(x) − t)/n, dt = −x/n
  check_values(r.grads[0], vec({0, 0, -0.25f, 0.8807971f / 4}));
  check_values(r.grads[1], vec({0, -2500, 2500, -0.5f}));
  // int32 0/1 labels are accepted (they get no gradient)
  const auto ri = run_op_full("sigmoid_cross_entropy", json::object(), {vec({0, 0}), vec({0, 1})},
                              {DType::Float32, DType::Int32});
  CHECK(ri.out() == doctest::Approx(std::log(2.0)));
  check_values(ri.grads[0], vec({0.25f, -0.25f}));
}

TEST_CASE("the new losses reject what they cannot compute, in the user's terms") {
  auto op = registry().make("sigmoid_cross_entropy");
  CHECK_THROWS_WITH_AS(op->infer_shape({{{2, 3}}, {{3, 2}}}),
                       "targets must have the logits' shape [2, 3], found [3, 2]", Error);
  CHECK_THROWS_WITH_AS(registry().make("mse")->infer_shape({{{-1, 1}}, {{-1}}}),
                       "targets must have the predictions' shape [-1, 1], found [-1]", Error);
  CHECK_THROWS_WITH_AS(registry().make("mse")->infer_shape({{{2}}, {{2}, DType::Int32}}),
                       "expected float32 targets", Error);
  CHECK_THROWS_WITH_AS(run_op("sigmoid_cross_entropy", json::object(), {vec({0, 0}), vec({0.5f, 1.5f})}),
                       doctest::Contains("target 1.500000 at element 1 is outside [0, 1]"), Error);
}

TEST_CASE("the activations give the same values and gradients at every instruction-set level") {
  // Unary ops run loops compiled for AVX-512, AVX2 and the build's target (ops/unary.h); each
  // value is computed by the same operations in each, so they agree bit for bit. Except one case:
  // a build for a target without FMA (-DXGRAD_NATIVE=OFF) rounds a·b + c twice in its own loop where
  // the AVX2 and AVX-512 loops, compiled with FMA, round once; that loop agrees to a few ulps.
  Tensor x = make_tensor({1037});  // not a whole number of vectors
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = -12.0f + 24.0f * float(i) / float(x.size());
  const std::vector<std::pair<std::string, json>> ops = {
      {"sigmoid", json::object()},         {"relu", json::object()}, {"tanh", json::object()},
      {"leaky_relu", json::object()},      {"elu", json::object()},  {"gelu", json::object()},
      {"gelu", {{"approximate", "tanh"}}}, {"silu", json::object()}, {"softplus", json::object()}};
  for (const auto& [type, attrs] : ops) {
    INFO(type << " " << attrs.dump());
    set_isa_limit(Isa::Avx512);
    const OpRun want = run_op_full(type, attrs, {x});
    for (const Isa isa : {Isa::Avx2, Isa::Generic}) {
      if (isa > detected_isa()) continue;
      set_isa_limit(isa);
      const OpRun got = run_op_full(type, attrs, {x});
#ifndef __FMA__
      if (isa == Isa::Generic) {
        for (const auto& [g, w] : {std::pair{&got.out, &want.out}, std::pair{&got.grads[0], &want.grads[0]}})
          for (size_t i = 0; i < w->size(); ++i)
            CHECK(g->data()[i] == doctest::Approx(w->data()[i]).epsilon(1e-5));
        continue;
      }
#endif
      CHECK(got.out == want.out);
      CHECK(got.grads[0] == want.grads[0]);
    }
    set_isa_limit(Isa::Avx512);
  }
}
