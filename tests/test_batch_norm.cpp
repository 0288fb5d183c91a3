// batch_norm and dropout: hand-computed forward cases in both modes, running statistics after
// several training steps against a hand computation, gradient checks through whole graphs in both
// modes, dropout's masks (rate, scale, reproducibility) and exact resume with dropout.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "graph/builder.h"
#include "graph/train.h"
#include "ops/registry.h"
#include "tests/fixtures.h"
#include "tests/gradcheck.h"
#include "tests/op_run.h"
#include "tests/train_fixtures.h"

using namespace xgrad;
using test::filled;
using test::vec;

namespace {

// x [-1, C] (or [-1, C, 1, 2]) -> batch_norm "bn" -> sum as "loss".
Graph bn_graph(const Shape& x_shape, double momentum = 0.1) {
  GraphBuilder b("bn");
  Value x = b.input("x", x_shape);
  Value y = layers::batch_norm(b, "bn", x, 1e-5, momentum);
  b.output("y", y);
  b.output("loss", b.sum(y));
  return b.finish();
}

void check_close(const Tensor& t, const std::vector<double>& expected, double tol = 1e-5) {
  REQUIRE(t.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(t.data()[i] == doctest::Approx(expected[i]).epsilon(tol));
  }
}

}  // namespace

TEST_CASE("batch_norm forward by hand: batch statistics in training, running ones in eval") {
  const Graph g = bn_graph({-1, 2});
  Params p = {
      {"bn.gamma", vec({2, 1})}, {"bn.beta", vec({1, 0})}, {"bn.mean", vec({1, 0})}, {"bn.var", vec({4, 1})}};
  // Channel 0: 1 2 3 4 (mean 2.5, biased var 1.25); channel 1: 0 0 2 2 (mean 1, var 1).
  const Feeds feeds = {{"x", filled({4, 2}, {1, 0, 2, 0, 3, 2, 4, 2})}};
  Engine e(g);
  e.forward(feeds, p, ForwardOptions::training());
  const double s0 = 2 / std::sqrt(1.25 + 1e-5), s1 = 1 / std::sqrt(1 + 1e-5);
  check_close(e.value(g.output("y")),
              {-1.5 * s0 + 1, -s1, -0.5 * s0 + 1, -s1, 0.5 * s0 + 1, s1, 1.5 * s0 + 1, s1});
  e.forward(feeds, p, ForwardOptions::inference());
  const double r0 = 2 / std::sqrt(4 + 1e-5), r1 = 1 / std::sqrt(1 + 1e-5);
  check_close(e.value(g.output("y")), {0 * r0 + 1, 0, 1 * r0 + 1, 0, 2 * r0 + 1, 2 * r1, 3 * r0 + 1, 2 * r1});
  CHECK(e.updated_states().empty());
}

TEST_CASE("batch_norm with a fused relu: the eval case above, negatives zeroed, gradient masked") {
  GraphBuilder b("bn_relu");
  Value x = b.input("x", {-1, 2});
  Value y = b.op("batch_norm",
                 {x, b.param("g", {2}, Init{"ones"}), b.param("be", {2}, Init{"zeros"}),
                  b.state("m", {2}, Init{"zeros"}), b.state("v", {2}, Init{"ones"})},
                 {{"activation", "relu"}}, "y");
  b.output("loss", b.sum(y));
  const Graph g = b.finish();
  const int out = g.id("y");
  const Params p = {{"g", vec({2, 1})}, {"be", vec({-1, 0})}, {"m", vec({1, 0})}, {"v", vec({4, 1})}};
  Engine e(g);
  e.forward({{"x", filled({2, 2}, {1, -1, 5, 2})}}, p, ForwardOptions::inference());
  // channel 0: (x − 1)·2/2 − 1 = 0 − 1, 4 − 1; channel 1: x/1 = −1, 2 (ε ignored at 1e-5)
  check_close(e.value(out), {0, 0, 3, 2});
  ForwardOptions eval_with_backward = ForwardOptions::inference();
  eval_with_backward.backward = true;
  e.forward({{"x", filled({2, 2}, {1, -1, 5, 2})}}, p, eval_with_backward);
  e.backward(g.output("loss"), {g.id("be")});
  check_close(*e.grad(g.id("be")), {1, 1});  // one positive output per channel
}

TEST_CASE("batch_norm running statistics after three training steps equal a hand computation") {
  // One channel, momentum 0.1, mean starts at 0 and var at 1:
  //   batch 1, 3       : mean 2, unbiased var 2  -> running mean 0.2,   var 0.9 + 0.2 = 1.1
  //   batch 0, 4, 8    : mean 4, unbiased var 16 -> running mean 0.58,  var 0.99 + 1.6 = 2.59
  //   batch -1 -1 2 4  : mean 1, unbiased var 6  -> running mean 0.622, var 2.331 + 0.6 = 2.931
  const Graph g = bn_graph({-1, 1});
  Rng rng(0);
  Params p = init_params(g, rng);
  Engine e(g);
  for (const std::vector<float>& batch :
       {std::vector<float>{1, 3}, std::vector<float>{0, 4, 8}, std::vector<float>{-1, -1, 2, 4}}) {
    e.forward({{"x", filled({int64_t(batch.size()), 1}, batch)}}, p, ForwardOptions::training());
    e.store_states(p);
  }
  CHECK(p.at("bn.mean")() == doctest::Approx(0.622).epsilon(1e-6));
  CHECK(p.at("bn.var")() == doctest::Approx(2.931).epsilon(1e-6));

  // [N, C, H, W]: a channel's statistics run over N·H·W = 4 values 1 3 5 7 (mean 4, unbiased var
  // 20/3); momentum 0.5 -> mean 2, var 0.5 + 10/3.
  const Graph g4 = bn_graph({-1, 1, 1, 2}, 0.5);
  Params p4 = init_params(g4, rng);
  Engine e4(g4);
  e4.forward({{"x", filled({2, 1, 1, 2}, {1, 3, 5, 7})}}, p4, ForwardOptions::training());
  e4.store_states(p4);
  CHECK(p4.at("bn.mean")() == doctest::Approx(2.0));
  CHECK(p4.at("bn.var")() == doctest::Approx(0.5 + 10.0 / 3).epsilon(1e-6));
}

// Channels of 63 values per sample (vector lanes and a tail in the op's sums) around 1000 with
// spread 0.5, where float sums lose the most: forward, the batch variance and every gradient of
// loss = Σ y·w against the same formulas in double.
TEST_CASE("batch_norm on long channels far from zero matches a double-precision reference") {
  const int64_t n = 3, c = 2, s = 63, count = n * s;
  GraphBuilder b("bn-long");
  Value x = b.input("x", {-1, c, 7, 9});
  Value w = b.input("w", {-1, c, 7, 9});
  Value y = layers::batch_norm(b, "bn", x, 1e-5, 0.1);
  b.output("y", y);
  b.output("loss", b.sum(b.mul(y, w)));
  const Graph g = b.finish();
  Rng rng(3);
  Params p = init_params(g, rng);
  p["bn.gamma"] = vec({1.5f, -0.75f});
  p["bn.beta"] = vec({0.25f, 2});
  Tensor xt = make_tensor({n, c, 7, 9}), wt = make_tensor({n, c, 7, 9});
  for (float& v : xt) v = 1000 + rng.uniform(-0.5f, 0.5f);
  for (float& v : wt) v = rng.uniform(-1, 1);
  const Feeds feeds = {{"x", xt}, {"w", wt}};  // the engine reads them again in backward
  Engine e(g);
  e.forward(feeds, p, ForwardOptions::training());
  e.backward(g.output("loss"), {g.id("x"), g.id("bn.gamma"), g.id("bn.beta")});
  e.store_states(p);
  const auto at = [&](int64_t i, int64_t ch, int64_t k) { return size_t((i * c + ch) * s + k); };
  for (int64_t ch = 0; ch < c; ++ch) {
    double mu = 0, var = 0, sum_w = 0, sum_w_xhat = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) mu += xt.data()[at(i, ch, k)] / double(count);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) var += std::pow(xt.data()[at(i, ch, k)] - mu, 2) / double(count);
    const double inv_std = 1 / std::sqrt(var + 1e-5), gamma = p["bn.gamma"].data()[ch];
    const auto xhat = [&](size_t k) { return (xt.data()[k] - mu) * inv_std; };
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) {
        sum_w += wt.data()[at(i, ch, k)];
        sum_w_xhat += wt.data()[at(i, ch, k)] * xhat(at(i, ch, k));
      }
    INFO("channel " << ch);
    CHECK(p["bn.var"].data()[ch] == doctest::Approx(0.9 + 0.1 * var * count / (count - 1)).epsilon(1e-6));
    CHECK(e.grad(g.id("bn.beta"))->data()[ch] == doctest::Approx(sum_w).epsilon(1e-6));
    CHECK(e.grad(g.id("bn.gamma"))->data()[ch] == doctest::Approx(sum_w_xhat).epsilon(1e-6));
    double worst_y = 0, worst_dx = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < s; ++k) {
        const size_t j = at(i, ch, k);
        const double y_ref = gamma * xhat(j) + p["bn.beta"].data()[ch];
        const double dx_ref =
            gamma * inv_std * (wt.data()[j] - sum_w / double(count) - xhat(j) * sum_w_xhat / double(count));
        worst_y = std::max(worst_y, std::fabs(e.value(g.output("y")).data()[j] - y_ref));
        worst_dx = std::max(worst_dx, std::fabs(e.grad(g.id("x"))->data()[j] - dx_ref));
      }
    CHECK(worst_y < 2e-6);   // y is of order 1: a few float roundings
    CHECK(worst_dx < 1e-5);  // dx is of order γ/σ ≈ 3–5
  }
}

// The op sums each row (one sample's values of a channel) in float lanes, combines a chunk's rows
// and then the batch's 8 fixed chunks (here of 1 and 2 samples, or 5 and 6 for [N, C]) in double, and splits
// its passes over the thread pool by samples. Rows here have a 16-lane tail (35 values), the channels sit at
// different offsets and scales, and some rows start with an outlier (the value a row's sum is
// taken about). y, dx and the parameter gradients must match a double-precision reference and be
// the same bits at 1 and 3 threads.
TEST_CASE("batch_norm by rows and chunks: offsets, outliers, tails, any thread count") {
  for (const bool dense : {false, true}) {  // [N, C, 5, 7], and [N, C] (loops across the channels)
    CAPTURE(dense);
    const int64_t n = dense ? 41 : 11, c = 12, s = dense ? 1 : 35;
    const Shape shape = dense ? Shape{n, c} : Shape{n, c, 5, 7};
    Rng rng(11);
    Tensor x = make_tensor(shape), w = make_tensor(shape);
    Tensor gamma = make_tensor({c}), beta = make_tensor({c}), mean = make_tensor({c}, 0.0f),
           var = make_tensor({c}, 1.0f);
    const auto at = [&](int64_t i, int64_t ch, int64_t k) { return size_t((i * c + ch) * s + k); };
    for (int64_t ch = 0; ch < c; ++ch) {
      gamma.data()[ch] = rng.uniform(0.5f, 2.0f), beta.data()[ch] = rng.uniform(-1, 1);
      const float offset = ch % 3 == 0 ? 500.0f : ch % 3 == 1 ? -3.0f : 0.0f, scale = 0.05f * float(ch + 1);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < s; ++k) x.data()[at(i, ch, k)] = offset + scale * rng.uniform(-1, 1);
      if (ch % 2 == 0) x.data()[at(1, ch, 0)] = offset + 40 * scale;  // an outlier first in its row
    }
    for (float& v : w) v = rng.uniform(-1, 1);
    const json attrs = {{"epsilon", 1e-5}};
    set_num_threads(3);
    const auto three = test::run_op_full("batch_norm", attrs, {x, gamma, beta, mean, var}, {}, true, &w);
    set_num_threads(1);
    const auto one = test::run_op_full("batch_norm", attrs, {x, gamma, beta, mean, var}, {}, true, &w);
    CHECK(std::memcmp(three.out.data(), one.out.data(), x.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(three.grads[0].data(), one.grads[0].data(), x.size() * sizeof(float)) == 0);
    const double count = double(n * s);
    for (int64_t ch = 0; ch < c; ++ch) {
      double mu = 0, v = 0, sum_w = 0, sum_w_xhat = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < s; ++k) mu += x.data()[at(i, ch, k)] / count;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < s; ++k) v += std::pow(x.data()[at(i, ch, k)] - mu, 2) / count;
      const double inv_std = 1 / std::sqrt(v + 1e-5), g = gamma.data()[ch];
      const auto xhat = [&](size_t j) { return (x.data()[j] - mu) * inv_std; };
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < s; ++k) {
          sum_w += w.data()[at(i, ch, k)];
          sum_w_xhat += w.data()[at(i, ch, k)] * xhat(at(i, ch, k));
        }
      double worst_y = 0, worst_dx = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < s; ++k) {
          const size_t j = at(i, ch, k);
          const double y_ref = g * xhat(j) + beta.data()[ch];
          const double dx_ref = g * inv_std * (w.data()[j] - sum_w / count - xhat(j) * sum_w_xhat / count);
          worst_y = std::max(worst_y, std::fabs(one.out.data()[j] - y_ref));
          worst_dx = std::max(worst_dx, std::fabs(one.grads[0].data()[j] - dx_ref) / (g * inv_std));
        }
      INFO("channel " << ch);
      CHECK(worst_y < 2e-5);   // y is of order γ·40 at the outliers: a few float roundings
      CHECK(worst_dx < 2e-5);  // relative to γ/σ
      CHECK(one.grads[1].data()[ch] == doctest::Approx(sum_w_xhat).epsilon(1e-5));
      CHECK(one.grads[2].data()[ch] == doctest::Approx(sum_w).epsilon(1e-5));
    }
  }
}

TEST_CASE("batch_norm refuses what it cannot compute") {
  const Graph g = bn_graph({-1, 2});
  Rng rng(0);
  const Params p = init_params(g, rng);
  Engine e(g);
  CHECK_THROWS_WITH_AS(e.forward({{"x", make_tensor({1, 2})}}, p, ForwardOptions::training()),
                       doctest::Contains("more than one value per channel"), Error);
  e.forward({{"x", make_tensor({1, 2})}}, p, ForwardOptions::inference());  // eval: one sample is fine
  GraphBuilder b("bad");
  Value x = b.input("x", {-1, 3});
  Value c2 = b.param("c2", {2}, Init{});
  CHECK_THROWS_WITH_AS(b.batch_norm(x, c2, c2, c2, c2), doctest::Contains("gamma must be [3]"), Error);
  CHECK_THROWS_WITH_AS(registry().make("batch_norm", {{"momentum", 1.5}}),
                       doctest::Contains("attrs.momentum"), Error);
  CHECK_THROWS_WITH_AS(registry().make("batch_norm", {{"epsilon", 0}}), doctest::Contains("attrs.epsilon"),
                       Error);
  CHECK_THROWS_WITH_AS(registry().make("batch_norm", {{"eps", 1e-3}}),
                       doctest::Contains("attrs.eps: unknown"), Error);
  CHECK_THROWS_WITH_AS(registry().make("batch_norm", {{"activation", "tanh"}}),
                       doctest::Contains("attrs.activation"), Error);
  CHECK_THROWS_WITH_AS(registry().make("dropout", {{"rate", 1}}), doctest::Contains("attrs.rate"), Error);
  CHECK_THROWS_WITH_AS(registry().make("dropout"), doctest::Contains("attrs.rate: required"), Error);
}

// A small conv net with batch norm (4-d and 2-d) and dropout, gradient-checked whole.
Graph small_bn_net() {
  GraphBuilder b("small-bn");
  Value x = b.input("image", {-1, 1, 5, 5});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = layers::conv2d(b, "conv", x, 2, 3);
  h = b.tanh(layers::batch_norm(b, "bn1", h));
  h = layers::dense(b, "fc1", b.flatten(h), 4);
  h = b.dropout(b.tanh(layers::batch_norm(b, "bn2", h)), 0.25);
  Value logits = layers::dense(b, "fc2", h, 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y));
  return b.finish();
}

TEST_CASE("a net with batch norm and dropout passes the gradient check in both modes") {
  const Graph g = small_bn_net();
  Rng rng(5);
  Params p = init_params(g, rng);
  p["bn1.var"] = vec({0.7f, 1.3f});
  p["bn2.mean"] = vec({0.1f, -0.2f, 0.3f, 0});
  Tensor image = make_tensor({6, 1, 5, 5});
  for (float& v : image) v = rng.uniform(-1, 1);
  const Feeds feeds = {{"image", image}, {"label", vec({0, 1, 2, 0, 1, 2})}};
  for (const Mode mode : {Mode::Train, Mode::Eval}) {
    INFO((mode == Mode::Train ? "train" : "eval"));
    const test::CheckResult r = test::check_graph_gradients(g, feeds, p, {}, 1 << 30, mode);
    INFO(r.failure);
    CHECK(r.ok);
    CHECK(r.checked > 40);
  }
}

TEST_CASE("dropout: rate, scale, identity in eval, masks fixed by seed, step and node") {
  GraphBuilder b("drop");
  Value x = b.input("x", {-1, 1000});
  b.output("a", b.dropout(x, 0.3, "a"));
  b.output("b", b.dropout(x, 0.3, "b"));
  const Graph g = b.finish();
  const Feeds feeds = {{"x", make_tensor({20, 1000}, 2.0f)}};
  Engine e(g);
  e.forward(feeds, {}, ForwardOptions::inference());
  CHECK(e.value("a") == feeds.at("x"));
  e.forward(feeds, {}, ForwardOptions::training(7, 3));
  size_t zeros = 0;
  for (float v : e.value("a")) {
    CHECK((v == 0.0f || v == doctest::Approx(2 / 0.7)));
    zeros += v == 0.0f;
  }
  CHECK(double(zeros) / 20000 == doctest::Approx(0.3).epsilon(0.05));  // 6000 ± 65 (1 sd)
  const Tensor a = e.value("a");
  CHECK(a != e.value("b"));  // another node, another mask
  e.forward(feeds, {}, ForwardOptions::training(7, 3));
  CHECK(a == e.value("a"));  // same seed, step and node: same mask
  e.forward(feeds, {}, ForwardOptions::training(7, 4));
  CHECK(a != e.value("a"));
  e.forward(feeds, {}, ForwardOptions::training(8, 3));
  CHECK(a != e.value("a"));
}

TEST_CASE("with batch norm and dropout: same seed same weights, and a resumed run is bit-exact") {
  const xgrad::testing::Synthetic data(60);
  GraphBuilder b("bn-drop");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.relu(layers::batch_norm(b, "bn", layers::conv2d(b, "conv", x, 2, 5, {{"stride", 4}})));
  h = b.dropout(h, 0.5);
  Value logits = layers::dense(b, "fc", b.flatten(h), 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y));
  const Graph g = b.finish();
  TrainConfig c;
  c.epochs = 2, c.batch = 16, c.seed = 11;
  c.optim.type = "adam", c.optim.lr = 0.01;
  Rng rng(1);
  const Params init = init_params(g, rng);
  auto bits = [](const Params& p) {
    std::vector<float> all;
    for (const auto& [name, t] : p) all.insert(all.end(), t.begin(), t.end());
    return all;
  };
  Params whole = init, again = init;
  Trainer(g, whole, c).run(data.source(), nullptr);
  Trainer(g, again, c).run(data.source(), nullptr);
  CHECK(std::memcmp(bits(whole).data(), bits(again).data(), bits(whole).size() * 4) == 0);
  CHECK(whole.at("bn.mean") != init.at("bn.mean"));  // the running statistics moved

  Params part = init;
  Trainer first(g, part, c);
  CHECK_FALSE(first.run(data.source(), nullptr, [](const StepInfo& s) {
    return s.step == 5 ? StepAction::Stop : StepAction::Continue;
  }));
  Params resumed = part;
  Trainer second(g, resumed, c);
  second.optimizer().load_state(first.optimizer().state_to_json(), resumed);
  second.set_progress(first.progress());
  REQUIRE(second.run(data.source(), nullptr));
  CHECK(std::memcmp(bits(resumed).data(), bits(whole).data(), bits(whole).size() * 4) == 0);
}
