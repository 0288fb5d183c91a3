// Hand-computed forward values for each op family.
#include <doctest/doctest.h>

#include <cmath>

#include "tests/fixtures.h"
#include "tests/op_run.h"

using namespace xgrad;

namespace {

using test::check_values;
using test::filled;

Tensor run(const std::string& type, const json& attrs, const std::vector<Tensor>& in,
           std::vector<DType> dtypes = {}) {
  return test::run_op(type, attrs, in, dtypes);
}

Tensor x3() { return Tensor{{{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}}}}; }  // [1,1,3,3]
Tensor k2() { return Tensor{{{{0, 1}, {2, 3}}}}; }                   // [1,1,2,2]

}  // namespace

TEST_CASE("conv2d: the 3x3 by 2x2 cross-correlation") {
  check_values(run("conv2d", json::object(), {x3(), k2()}), Tensor{{{{19, 25}, {37, 43}}}});
}

TEST_CASE("conv2d: two input channels (X, X+1) with (K, K+1)") {
  Tensor x = xt::concatenate(xt::xtuple(x3(), Tensor(x3() + 1.0f)), 1);
  Tensor k = xt::concatenate(xt::xtuple(k2(), Tensor(k2() + 1.0f)), 1);
  check_values(run("conv2d", json::object(), {x, k}), Tensor{{{{56, 72}, {104, 120}}}});
}

TEST_CASE("conv2d: three output channels from K, K+1, K+2, with bias") {
  Tensor x = xt::concatenate(xt::xtuple(x3(), Tensor(x3() + 1.0f)), 1);
  Tensor k0 = xt::concatenate(xt::xtuple(k2(), Tensor(k2() + 1.0f)), 1);
  Tensor k = xt::concatenate(xt::xtuple(k0, Tensor(k0 + 1.0f), Tensor(k0 + 2.0f)), 0);  // [3,2,2,2]
  Tensor b = {0.0f, 0.5f, -1.0f};
  const Tensor y = run("conv2d", json::object(), {x, k, b});
  // Each +1 on the kernel adds the sum of the window over both channels.
  check_values(y, Tensor{{{{56, 72}, {104, 120}},
                          {{56 + 0.5 + 20, 72 + 0.5 + 28}, {104 + 0.5 + 44, 120 + 0.5 + 52}},
                          {{56 - 1 + 40, 72 - 1 + 56}, {104 - 1 + 88, 120 - 1 + 104}}}});
}

TEST_CASE("conv2d: a 1x1 conv is a matmul over channels") {
  Tensor x = xt::concatenate(xt::xtuple(x3(), Tensor(2.0f * x3())), 1);  // [1,2,3,3]
  Tensor k = filled({2, 2, 1, 1}, {1.0f, -1.0f, 0.5f, 2.0f});
  const Tensor y = run("conv2d", json::object(), {x, k});
  for (size_t p = 0; p < 9; ++p) {
    const float a = x.data()[p], c = x.data()[9 + p];
    CHECK(y.data()[p] == doctest::Approx(a - c));
    CHECK(y.data()[9 + p] == doctest::Approx(0.5 * a + 2 * c));
  }
}

TEST_CASE("conv2d: groups 2 keeps the channels apart: X with K, X+1 with K+1") {
  Tensor x = xt::concatenate(xt::xtuple(x3(), Tensor(x3() + 1.0f)), 1);
  Tensor k = xt::concatenate(xt::xtuple(k2(), Tensor(k2() + 1.0f)), 0);  // [2,1,2,2]
  // (X+1)*(K+1) = X*K + (window sums of X: 8, 12, 20, 24) + (sum of K: 6) + 4
  check_values(run("conv2d", {{"groups", 2}}, {x, k}), Tensor{{{{19, 25}, {37, 43}}, {{37, 47}, {67, 77}}}});
  CHECK_THROWS_WITH(run("conv2d", {{"groups", 3}}, {x, k}), doctest::Contains("must divide"));
}

TEST_CASE("conv2d: a fused relu zeroes what the bias pulls below 0") {
  const Tensor b = {-30.0f};  // 19, 25, 37, 43 - 30
  check_values(run("conv2d", {{"activation", "relu"}}, {x3(), k2(), b}), Tensor{{{{0, 0}, {7, 13}}}});
  CHECK_THROWS_WITH(run("conv2d", {{"activation", "gelu"}}, {x3(), k2()}), doctest::Contains("activation"));
}

TEST_CASE("conv2d: a fused sigmoid or tanh of the conv's values") {
  const Tensor b = {-40.0f};  // 19, 25, 37, 43 - 40 = -21, -15, -3, 3
  const auto sigmoid = [](double v) { return float(1 / (1 + std::exp(-v))); };
  check_values(run("conv2d", {{"activation", "sigmoid"}}, {x3(), k2(), b}),
               Tensor{{{{sigmoid(-21), sigmoid(-15)}, {sigmoid(-3), sigmoid(3)}}}});
  check_values(run("conv2d", {{"activation", "tanh"}}, {x3(), k2(), b}),
               Tensor{{{{float(std::tanh(-21.0)), float(std::tanh(-15.0))},
                        {float(std::tanh(-3.0)), float(std::tanh(3.0))}}}});
}

TEST_CASE("conv2d: padding, same, stride, dilation") {
  // padding 1, stride 2: windows cover rows/cols {-1,0} and {1,2}; padded cells are zero
  check_values(run("conv2d", {{"padding", 1}, {"stride", 2}}, {x3(), k2()}),
               Tensor{{{{0 * 3, 1 * 2 + 2 * 3}, {3 * 1 + 6 * 3, 5 * 1 + 7 * 2 + 8 * 3}}}});
  // same with a 2x2 kernel pads one cell after (bottom/right): output 3x3
  check_values(run("conv2d", {{"padding", "same"}}, {x3(), k2()}),
               Tensor{{{{19, 25, 5 * 2}, {37, 43, 8 * 2}, {7 * 1, 8 * 1, 0}}}});
  // dilation 2 on 3x3: one output, taps at the four corners
  check_values(run("conv2d", {{"dilation", 2}}, {x3(), k2()}),
               filled({1, 1, 1, 1}, {0 * 0 + 2 * 1 + 6 * 2 + 8 * 3}));
}

TEST_CASE("max and avg pooling of X, with and without padding") {
  check_values(run("max_pool2d", {{"kernel", 2}, {"stride", 1}}, {x3()}), Tensor{{{{4, 5}, {7, 8}}}});
  check_values(run("avg_pool2d", {{"kernel", 2}, {"stride", 1}}, {x3()}), Tensor{{{{2, 3}, {5, 6}}}});
  // padding 1, stride 2: windows [pad,0]x[pad,0] -> x00; [pad,0]x[1,2] -> x01,x02; ...
  check_values(run("max_pool2d", {{"kernel", 2}, {"stride", 2}, {"padding", 1}}, {x3()}),
               Tensor{{{{0, 2}, {6, 8}}}});
  check_values(run("avg_pool2d", {{"kernel", 2}, {"stride", 2}, {"padding", 1}}, {x3()}),
               Tensor{{{{0, 1.5}, {4.5, 6}}}});
  // stride 2 without padding: one full window
  check_values(run("max_pool2d", {{"kernel", 2}}, {x3()}), filled({1, 1, 1, 1}, {4}));
  check_values(run("avg_pool2d", {{"kernel", 2}}, {x3()}), filled({1, 1, 1, 1}, {2}));
  // same: 2 outputs per side, extra cell after; avg divides by real cells only
  check_values(run("avg_pool2d", {{"kernel", 2}, {"padding", "same"}}, {x3()}),
               Tensor{{{{2, 3.5}, {6.5, 8}}}});
}

TEST_CASE("sigmoid, relu, tanh, and sigmoid at ±1e4") {
  Tensor x = {-1e4f, -1.0f, 0.0f, 2.0f, 1e4f};
  const Tensor s = run("sigmoid", json::object(), {x});
  CHECK(s(0) == 0.0f);
  CHECK(s(1) == doctest::Approx(1 / (1 + std::exp(1.0))));
  CHECK(s(2) == 0.5f);
  CHECK(s(4) == 1.0f);
  check_values(run("relu", json::object(), {x}), Tensor{0, 0, 0, 2, 1e4f});
  CHECK(run("tanh", json::object(), {x})(3) == doctest::Approx(std::tanh(2.0)));
}

TEST_CASE("matmul with bias, add broadcast, flatten, reshape") {
  Tensor a = {{1, 2}, {3, 4}};
  Tensor w = {{1, 0, 2}, {0, 1, -1}};
  Tensor b = {10, 20, 30};
  check_values(run("matmul", json::object(), {a, w, b}), Tensor{{11, 22, 30}, {13, 24, 32}});
  check_values(run("add", json::object(), {a, Tensor{100, 200}}), Tensor{{101, 202}, {103, 204}});
  check_values(run("add", {{"activation", "relu"}}, {a, Tensor{-2, -5}}),
               Tensor{{0, 0}, {1, 0}});  // a fused relu
  CHECK_THROWS_WITH(run("add", {{"activation", "tanh"}}, {a, a}), doctest::Contains("activation"));
  CHECK_THROWS_WITH(run("sub", {{"activation", "relu"}}, {a, a}), doctest::Contains("activation"));
  CHECK(shape_of(run("flatten", json::object(), {x3()})) == Shape{1, 9});
  CHECK(shape_of(run("reshape", {{"shape", {3, -1}}}, {x3()})) == Shape{1, 3, 3});
}

TEST_CASE("softmax and softmax_cross_entropy by hand, finite at ±1e4") {
  Tensor logits = {{0.0f, std::log(3.0f)}, {1e4f, -1e4f}};
  const Tensor p = run("softmax", json::object(), {logits});
  CHECK(p(0, 0) == doctest::Approx(0.25));
  CHECK(p(0, 1) == doctest::Approx(0.75));
  CHECK(p(1, 0) == 1.0f);
  Tensor labels = {0.0f, 1.0f};
  const Tensor loss =
      run("softmax_cross_entropy", json::object(), {logits, labels}, {DType::Float32, DType::Int32});
  // row 0: -log 0.25; row 1: lse - (-1e4) = 2e4
  CHECK(loss() == doctest::Approx((std::log(4.0) + 2e4) / 2));
  Tensor onehot = {{1.0f, 0.0f}, {0.0f, 1.0f}};
  CHECK(run("softmax_cross_entropy", json::object(), {logits, onehot})() == doctest::Approx(loss()));
}
