// Optimizers against PyTorch's update formulas written out by hand in double precision, schedules,
// exact state round trips and bad settings.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "graph/optim.h"
#include "graph/schedule.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {

using test::vec;

// torch.optim.SGD (dampening 0) for one param, in double.
struct RefSgd {
  double lr, mu, wd;
  bool nesterov;
  std::vector<double> buf;
  void step(std::vector<double>& p, const std::vector<double>& g) {
    const bool first = buf.empty();
    buf.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      double d = g[i] + wd * p[i];
      if (mu != 0) {
        buf[i] = first ? d : mu * buf[i] + d;
        d = nesterov ? d + mu * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  }
};

// torch.optim.Adam / AdamW for one param, in double.
struct RefAdam {
  double lr, b1, b2, eps, wd;
  bool decoupled;
  std::vector<double> m, v;
  int t = 0;
  void step(std::vector<double>& p, const std::vector<double>& g) {
    ++t;
    m.resize(p.size()), v.resize(p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      double d = g[i];
      if (decoupled)
        p[i] *= 1 - lr * wd;
      else
        d += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * d;
      v[i] = b2 * v[i] + (1 - b2) * d * d;
      const double mhat = m[i] / (1 - std::pow(b1, t)), vhat = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
  }
};

const std::vector<std::vector<double>> kGrads = {
    {0.5, 0.25, -1.5}, {-0.1, 0.2, 0.0}, {0.3, -0.7, 2.0}, {1, 1, 1}};

template <class Ref>
void compare(const OptimConfig& c, Ref ref) {
  Optimizer opt(c);
  Params params{{"w", vec({1.0f, -2.0f, 0.5f})}};
  std::vector<double> p = {1.0, -2.0, 0.5};
  for (const auto& g : kGrads) {
    const Tensor gt = vec({float(g[0]), float(g[1]), float(g[2])});
    opt.step(params, {{"w", &gt}}, c.lr);
    ref.step(p, g);
    for (size_t i = 0; i < p.size(); ++i) CHECK(params["w"](i) == doctest::Approx(p[i]).epsilon(1e-5));
  }
}

}  // namespace

TEST_CASE("sgd: plain step by hand") {
  Optimizer opt(OptimConfig{"sgd", 0.1});
  Params params{{"w", vec({1.0f, -2.0f})}};
  const Tensor g = vec({0.5f, 0.25f});
  opt.step(params, {{"w", &g}}, 0.1);
  CHECK(params["w"](0) == doctest::Approx(0.95));
  CHECK(params["w"](1) == doctest::Approx(-2.025));
}

TEST_CASE("sgd: momentum and weight decay, two steps by hand") {
  OptimConfig c{"sgd", 0.1, 0.9};
  c.weight_decay = 0.01;
  Optimizer opt(c);
  Params params{{"w", vec({1.0f, -2.0f})}};
  const Tensor g1 = vec({0.5f, 0.25f}), g2 = vec({-0.1f, 0.2f});
  opt.step(params, {{"w", &g1}}, 0.1);  // d = g + 0.01p = [0.51, 0.23] = buf
  CHECK(params["w"](0) == doctest::Approx(0.949));
  CHECK(params["w"](1) == doctest::Approx(-2.023));
  opt.step(params, {{"w", &g2}}, 0.1);  // d = [-0.09051, 0.17977]; buf = 0.9 buf + d = [0.36849, 0.38677]
  CHECK(params["w"](0) == doctest::Approx(0.912151));
  CHECK(params["w"](1) == doctest::Approx(-2.061677));
}

TEST_CASE("sgd and adam follow PyTorch's formulas over several steps") {
  compare(OptimConfig{"sgd", 0.1}, RefSgd{0.1, 0, 0, false, {}});
  OptimConfig c{"sgd", 0.05, 0.9};
  c.weight_decay = 1e-2;
  compare(c, RefSgd{0.05, 0.9, 1e-2, false, {}});
  c.nesterov = true;
  compare(c, RefSgd{0.05, 0.9, 1e-2, true, {}});
  OptimConfig a{"adam", 1e-2};
  compare(a, RefAdam{1e-2, 0.9, 0.999, 1e-8, 0, false, {}, {}});
  a.weight_decay = 0.1;
  compare(a, RefAdam{1e-2, 0.9, 0.999, 1e-8, 0.1, false, {}, {}});
  a.type = "adamw";
  compare(a, RefAdam{1e-2, 0.9, 0.999, 1e-8, 0.1, true, {}, {}});
}

TEST_CASE("adam: first step moves each weight by lr against the gradient's sign; adamw decays first") {
  Params params{{"w", vec({1.0f, 1.0f})}};
  const Tensor g = vec({0.5f, -3.0f});
  Optimizer(OptimConfig{"adam", 0.1}).step(params, {{"w", &g}}, 0.1);
  CHECK(params["w"](0) == doctest::Approx(0.9));
  CHECK(params["w"](1) == doctest::Approx(1.1));
  OptimConfig c{"adamw", 0.1};
  c.weight_decay = 0.1;
  params["w"] = vec({1.0f, 1.0f});
  Optimizer(c).step(params, {{"w", &g}}, 0.1);  // p = 1 * (1 - 0.01) -+ 0.1
  CHECK(params["w"](0) == doctest::Approx(0.89));
  CHECK(params["w"](1) == doctest::Approx(1.09));
}

TEST_CASE("a param without a gradient is left alone; a stray gradient is an error") {
  Optimizer opt(OptimConfig{"sgd", 0.1});
  Params params{{"a", vec({1})}, {"b", vec({2})}};
  const Tensor g = vec({1});
  opt.step(params, {{"a", &g}, {"b", nullptr}}, 0.1);
  CHECK(params["a"](0) == doctest::Approx(0.9));
  CHECK(params["b"](0) == 2.0f);
  CHECK_THROWS_WITH_AS(opt.step(params, {{"c", &g}}, 0.1), doctest::Contains("\"c\", which is not a param"),
                       Error);
  const Tensor g2 = vec({1, 2});
  CHECK_THROWS_WITH_AS(opt.step(params, {{"a", &g2}}, 0.1), doctest::Contains("has shape [2], param has [1]"),
                       Error);
}

TEST_CASE("optimizer state round-trips bit for bit through JSON text") {
  for (const char* type : {"sgd", "adam", "adamw"}) {
    OptimConfig c{type, 0.01, 0.9};
    c.weight_decay = 0.01;
    Optimizer a(c), b(c);
    Params pa{{"w", vec({1.0f, -2.0f, 0.5f})}};
    auto run = [](Optimizer& o, Params& p, size_t from, size_t to) {
      for (size_t s = from; s < to; ++s) {
        const auto& g = kGrads[s % kGrads.size()];
        const Tensor gt = vec({float(g[0]) / 3, float(g[1]) / 7, float(g[2])});
        o.step(p, {{"w", &gt}}, 0.01);
      }
    };
    run(a, pa, 0, 3);
    Params pb = pa;
    b.load_state(nlohmann::json::parse(a.state_to_json().dump()), pb);
    run(a, pa, 3, 6);
    run(b, pb, 3, 6);
    CHECK(std::memcmp(pa["w"].data(), pb["w"].data(), 3 * sizeof(float)) == 0);
  }
}

TEST_CASE("optimizer state: wrong optimizer, wrong shapes, unknown params are refused") {
  Optimizer adam(OptimConfig{"adam", 0.01});
  Params p{{"w", vec({1, 2})}};
  const Tensor g = vec({1, 1});
  adam.step(p, {{"w", &g}}, 0.01);
  const auto state = adam.state_to_json();
  Optimizer sgd(OptimConfig{"sgd", 0.01});
  CHECK_THROWS_WITH_AS(sgd.load_state(state, p), doctest::Contains("state is for adam, this run uses sgd"),
                       Error);
  Params other{{"w", vec({1, 2, 3})}};
  CHECK_THROWS_WITH_AS(adam.load_state(state, other),
                       doctest::Contains("slots.w.m: shape [2], param has [3]"), Error);
  Params renamed{{"x", vec({1, 2})}};
  CHECK_THROWS_WITH_AS(adam.load_state(state, renamed), doctest::Contains("slots.w: no such param"), Error);
  auto broken = state;
  broken["slots"]["w"].erase("v");
  CHECK_THROWS_WITH_AS(adam.load_state(broken, p), doctest::Contains("moment buffers missing"), Error);
}

TEST_CASE("bad optimizer settings say which, the value and the range") {
  auto bad = [](OptimConfig c, const char* message) {
    CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains(message), Error);
  };
  bad(OptimConfig{"rmsprop"}, "unknown optimizer \"rmsprop\" (expected sgd, adam or adamw)");
  bad(OptimConfig{"sgd", 0}, "lr must be a finite number > 0, got 0");
  bad(OptimConfig{"sgd", -1}, "got -1");
  bad(OptimConfig{"sgd", std::nan("")}, "lr must be");
  bad(OptimConfig{"sgd", 0.1, 1.0}, "momentum must be in [0, 1), got 1");
  bad(OptimConfig{"sgd", 0.1, -0.5}, "momentum must be in [0, 1), got -0.5");
  bad(OptimConfig{"sgd", 0.1, 0.0, true}, "Nesterov momentum needs momentum > 0");
  bad(OptimConfig{"adam", 0.1, 0, false, 1.0}, "beta1 must be in [0, 1), got 1");
  bad(OptimConfig{"adam", 0.1, 0, false, 0.9, 1.5}, "beta2 must be in [0, 1), got 1.5");
  bad(OptimConfig{"adamw", 0.1, 0, false, 0.9, 0.999, 0}, "optimizer adamw: eps must be a finite number > 0");
  bad(OptimConfig{"sgd", 0.1, 0, false, 0.9, 0.999, 1e-8, -1}, "weight decay must be a finite number >= 0");
  CHECK_THROWS_WITH_AS(OptimConfig::from_json({{"type", "sgd"}, {"lr", "fast"}}),
                       doctest::Contains("optimizer.lr: expected a number, found the string \"fast\""),
                       Error);
  CHECK_THROWS_WITH_AS(OptimConfig::from_json({{"type", "sgd"}, {"lr", 0.1}, {"mom", 0.9}}),
                       doctest::Contains("optimizer.mom: unknown field"), Error);
  const auto c = OptimConfig::from_json(OptimConfig{"adamw", 0.5}.to_json());
  CHECK(c.type == "adamw");
  CHECK(c.lr == 0.5);
}

TEST_CASE("schedules: constant, step and cosine per epoch") {
  Schedule s;
  CHECK(s.lr(0.5, 3, 5) == 0.5);
  s.type = "step", s.step_size = 2, s.gamma = 0.5;
  const double expected_step[] = {1, 1, 0.5, 0.5, 0.25};
  for (int e = 0; e < 5; ++e) CHECK(s.lr(1.0, e, 5) == doctest::Approx(expected_step[e]));
  s = Schedule{"cosine"};
  s.t_max = 4, s.min_lr = 0.1;
  CHECK(s.lr(1.0, 0, 9) == doctest::Approx(1.0));
  CHECK(s.lr(1.0, 2, 9) == doctest::Approx(0.55));
  CHECK(s.lr(1.0, 4, 9) == doctest::Approx(0.1));
  s.t_max = 0;  // the run's length
  CHECK(s.lr(1.0, 1, 2) == doctest::Approx(0.55));
  CHECK(Schedule::from_json(s.to_json()).min_lr == 0.1);
}

TEST_CASE("bad schedule settings") {
  auto bad = [](Schedule s, const char* message) {
    CHECK_THROWS_WITH_AS(s.validate(), doctest::Contains(message), Error);
  };
  bad(Schedule{"linear"}, "unknown learning-rate schedule \"linear\" (expected constant, step or cosine)");
  bad(Schedule{"step", 0}, "step size must be >= 1 epoch, got 0");
  bad(Schedule{"step", 1, 0.0}, "gamma must be in (0, 1]");
  bad(Schedule{"step", 1, 2.0}, "gamma must be in (0, 1]");
  bad(Schedule{"cosine", 1, 0.1, -1}, "t_max must be >= 0 epochs, got -1");
  bad(Schedule{"cosine", 1, 0.1, 0, -0.1}, "min lr must be a finite number >= 0");
  CHECK_THROWS_WITH_AS(Schedule::from_json({{"type", "step"}, {"step_size", 1.5}}),
                       doctest::Contains("schedule.step_size: expected an integer, found the number 1.5"),
                       Error);
}
