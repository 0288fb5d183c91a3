// Hand-computed values for the element-wise math ops, global pooling and concat, with the
// gradients at the places where a choice is made (kinks, ties, domain edges).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "tests/fixtures.h"
#include "tests/op_run.h"

using namespace xgrad;
using test::check_values;
using test::filled;
using test::run_op;
using test::run_op_full;
using test::vec;

TEST_CASE("sub and div broadcast like add and mul, with the gradients summed back") {
  const Tensor a = {{1, 2, 3}, {4, 5, 6}}, b = vec({1, 2, 4});
  check_values(run_op("sub", json::object(), {a, b}), Tensor{{0, 0, -1}, {3, 3, 2}});
  check_values(run_op("div", json::object(), {a, b}), Tensor{{1, 1, 0.75f}, {4, 2.5f, 1.5f}});
  const auto s = run_op_full("sub", json::object(), {a, b});
  check_values(s.grads[1], vec({-2, -2, -2}));
  // d(a/b)/db = −a/b², summed over the two rows
  const auto d = run_op_full("div", json::object(), {a, b});
  check_values(d.grads[0], Tensor{{1, 0.5f, 0.25f}, {1, 0.5f, 0.25f}});
  check_values(d.grads[1], vec({-5, -7 / 4.0f, -9 / 16.0f}));
}

TEST_CASE("broadcasting where both inputs expand, and with a scalar") {
  const Tensor col = filled({2, 1}, {1, 2}), row = filled({1, 3}, {10, 20, 30});
  check_values(run_op("add", json::object(), {col, row}), Tensor{{11, 21, 31}, {12, 22, 32}});
  const auto r = run_op_full("mul", json::object(), {col, row});
  check_values(r.out, Tensor{{10, 20, 30}, {20, 40, 60}});
  check_values(r.grads[0], filled({2, 1}, {60, 60}));   // Σ_j row_j
  check_values(r.grads[1], filled({1, 3}, {3, 3, 3}));  // Σ_i col_i
  const auto s = run_op_full("sub", json::object(), {make_tensor({}, 5.0f), col});
  check_values(s.out, filled({2, 1}, {4, 3}));
  CHECK(s.grads[0]() == 2.0f);
}

TEST_CASE("neg, square, exp, log, sqrt, abs") {
  const Tensor x = vec({-2, -0.5f, 0.25f, 4});
  check_values(run_op("neg", json::object(), {x}), vec({2, 0.5f, -0.25f, -4}));
  check_values(run_op("square", json::object(), {x}), vec({4, 0.25f, 0.0625f, 16}));
  check_values(run_op("exp", json::object(), {vec({0, 1, -1})}), vec({1, std::exp(1.0f), std::exp(-1.0f)}));
  check_values(run_op("log", json::object(), {vec({1, std::exp(2.0f), 0.5f})}), vec({0, 2, std::log(0.5f)}));
  check_values(run_op("sqrt", json::object(), {vec({0, 0.25f, 4})}), vec({0, 0.5f, 2}));
  check_values(run_op("abs", json::object(), {x}), vec({2, 0.5f, 0.25f, 4}));
  check_values(run_op_full("square", json::object(), {x}).grads[0], vec({-4, -1, 0.5f, 8}));
  check_values(run_op_full("log", json::object(), {vec({0.5f, 4})}).grads[0], vec({2, 0.25f}));
  check_values(run_op_full("sqrt", json::object(), {vec({0.25f, 4})}).grads[0], vec({1, 0.25f}));
  // abs' gradient is sign(x), 0 at the kink (PyTorch's choice)
  check_values(run_op_full("abs", json::object(), {vec({-3, 0, 2})}).grads[0], vec({-1, 0, 1}));
}

TEST_CASE("domain edges follow IEEE float, as in PyTorch") {
  const Tensor l = run_op("log", json::object(), {vec({0, -1})});
  CHECK(std::isinf(l(0)));
  CHECK(l(0) < 0);
  CHECK(std::isnan(l(1)));
  CHECK(std::isnan(run_op("sqrt", json::object(), {vec({-1})})(0)));
  CHECK(std::isinf(run_op_full("sqrt", json::object(), {vec({0})}).grads[0](0)));
  CHECK(std::isinf(run_op("exp", json::object(), {vec({100})})(0)));
  CHECK(run_op("div", json::object(), {vec({1}), vec({0})})(0) == std::numeric_limits<float>::infinity());
}

TEST_CASE("clip, scale, add_scalar") {
  const Tensor x = vec({-2, -1, 0.5f, 1, 3});
  check_values(run_op("clip", {{"min", -1}, {"max", 1}}, {x}), vec({-1, -1, 0.5f, 1, 1}));
  // the gradient passes inside [min, max], bounds included, and is 0 outside
  check_values(run_op_full("clip", {{"min", -1}, {"max", 1}}, {x}).grads[0], vec({0, 1, 1, 1, 0}));
  check_values(run_op("scale", {{"factor", -0.5}}, {x}), vec({1, 0.5f, -0.25f, -0.5f, -1.5f}));
  check_values(run_op_full("scale", {{"factor", -0.5}}, {x}).grads[0],
               filled({5}, {-0.5f, -0.5f, -0.5f, -0.5f, -0.5f}));
  check_values(run_op("add_scalar", {{"value", 2}}, {x}), vec({0, 1, 2.5f, 3, 5}));
}

TEST_CASE("global average and max pooling: one value per channel") {
  Tensor x = make_tensor({2, 2, 2, 2});
  for (size_t i = 0; i < x.size(); ++i) x.data()[i] = float(i);  // plane p holds 4p..4p+3
  check_values(run_op("global_avg_pool2d", json::object(), {x}), Tensor{{1.5f, 5.5f}, {9.5f, 13.5f}});
  check_values(run_op("global_max_pool2d", json::object(), {x}), Tensor{{3, 7}, {11, 15}});
  const Tensor g = {{1, 2}, {3, 4}};
  const auto avg = run_op_full("global_avg_pool2d", json::object(), {x}, {}, true, &g);
  for (size_t i = 0; i < x.size(); ++i) CHECK(avg.grads[0].data()[i] == doctest::Approx(g.data()[i / 4] / 4));
  // ties: the whole gradient goes to the first maximum of the plane
  const Tensor tied = filled({1, 1, 2, 2}, {1, 5, 5, 0});
  check_values(run_op_full("global_max_pool2d", json::object(), {tied}).grads[0],
               filled({1, 1, 2, 2}, {0, 1, 0, 0}));
  CHECK_THROWS_WITH_AS(registry().make("global_avg_pool2d")->infer_shape({{{2, 3}}}),
                       "expected a float32 input [N, C, H, W], found [2, 3]", Error);
}

TEST_CASE("concat along an axis: values, gradients split back, shape rule") {
  const Tensor a = {{1, 2}, {3, 4}}, b = filled({2, 1}, {5, 6});
  check_values(run_op("concat", json::object(), {a, b}), Tensor{{1, 2, 5}, {3, 4, 6}});
  check_values(run_op("concat", {{"axis", -1}}, {a, b, a}), Tensor{{1, 2, 5, 1, 2}, {3, 4, 6, 3, 4}});
  check_values(run_op("concat", {{"axis", 0}}, {a, a}), Tensor{{1, 2}, {3, 4}, {1, 2}, {3, 4}});
  const Tensor g = {{1, 2, 3}, {4, 5, 6}};
  const auto r = run_op_full("concat", json::object(), {a, b}, {}, true, &g);
  check_values(r.grads[0], Tensor{{1, 2}, {4, 5}});
  check_values(r.grads[1], filled({2, 1}, {3, 6}));
  auto op = registry().make("concat");
  CHECK(op->infer_shape({{{-1, 3, 4, 4}}, {{-1, 5, 4, 4}}}) == Shape{-1, 8, 4, 4});
  CHECK(registry().make("concat", {{"axis", 0}})->infer_shape({{{-1, 3}}, {{2, 3}}}) == Shape{-1, 3});
  CHECK_THROWS_WITH_AS(
      op->infer_shape({{{2, 3, 4}}, {{2, 3, 5}}}),
      "input 1 has shape [2, 3, 5], input 0 has [2, 3, 4]: they must agree on every axis but 1", Error);
  CHECK_THROWS_WITH_AS(op->infer_shape({{{2, 3}}, {{2, 3, 1}}}),
                       doctest::Contains("input 1 has shape [2, 3, 1]"), Error);
  CHECK_THROWS_WITH_AS(registry().make("concat", {{"axis", 2}})->infer_shape({{{2, 3}}}),
                       "axis 2 is out of range for a value of 2 dimensions", Error);
}

namespace {

// numpy broadcasting by plain loops over 4-d shapes: the flat index in `in` of output element o.
size_t broadcast_index(const Shape& in, const Shape& out, size_t o) {
  size_t index = 0, step = 1;
  for (size_t d = 4; d-- > 0;) {
    const size_t at = o % size_t(out[d]);
    o /= size_t(out[d]);
    if (in[d] != 1) index += at * step;
    step *= size_t(in[d]);
  }
  return index;
}

}  // namespace

// The ops cut their output into the thread pool's parts, which end inside the broadcast runs here
// (runs of 31 or 7 values, parts at multiples of 16). Values and gradients must be those of plain
// loops, and the same at 1 and 3 threads.
TEST_CASE("add, sub, mul, div on large broadcast tensors, in parts of the thread pool") {
  const Shape out_shape{3, 5, 97, 31};
  Rng rng(7);
  const auto random = [&](const Shape& s) {
    Tensor t = make_tensor(s);
    for (float& v : t) v = rng.uniform(0.5f, 2.0f) * (rng.uniform(0, 1) < 0.5f ? -1.0f : 1.0f);
    return t;
  };
  for (const Shape& b_shape : {Shape{3, 5, 97, 31}, Shape{1, 5, 1, 31}, Shape{3, 1, 97, 1}}) {
    const Tensor a = random(out_shape), b = random(b_shape), g = random(out_shape);
    for (const std::string op : {"add", "sub", "mul", "div"}) {
      for (const bool relu : {false, true}) {
        if (relu && op != "add") continue;
        CAPTURE(op);
        CAPTURE(to_string(b_shape));
        const json attrs = relu ? json{{"activation", "relu"}} : json::object();
        set_num_threads(3);
        const auto parts = run_op_full(op, attrs, {a, b}, {}, true, &g);
        set_num_threads(1);
        const auto one = run_op_full(op, attrs, {a, b}, {}, true, &g);
        Tensor want_db = make_tensor(b_shape, 0.0f);
        size_t wrong_y = 0, wrong_da = 0, wrong_db = 0;
        for (size_t o = 0; o < a.size(); ++o) {
          const float u = a.data()[o], v = b.data()[broadcast_index(b_shape, out_shape, o)];
          float y = op == "add" ? u + v : op == "sub" ? u - v : op == "mul" ? u * v : u / v;
          if (relu) y = std::max(y, 0.0f);
          const float dy = relu && y <= 0 ? 0.0f : g.data()[o];
          const float da = op == "mul" ? dy * v : op == "div" ? dy / v : dy;
          const float db = op == "add" ? dy : op == "sub" ? -dy : op == "mul" ? dy * u : -dy * y / v;
          want_db.data()[broadcast_index(b_shape, out_shape, o)] += db;
          wrong_y += parts.out.data()[o] != y;
          wrong_da += parts.grads[0].data()[o] != da;
        }
        CHECK(wrong_y == 0);
        CHECK(wrong_da == 0);
        for (size_t i = 0; i < want_db.size(); ++i) {
          wrong_db += parts.grads[1].data()[i] != doctest::Approx(want_db.data()[i]).epsilon(1e-4);
          wrong_db +=
              parts.grads[1].data()[i] != one.grads[1].data()[i];  // the same sums at any thread count
        }
        CHECK(wrong_db == 0);
      }
    }
  }
}
