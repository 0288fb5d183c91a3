#include "tools/bench_xgrad.h"

#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>

#include "core/parallel.h"
#include "graph/engine.h"
#include "graph/params.h"
#include "models/lenet.h"

namespace xgrad::cli {
namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Median seconds of `repeats` calls after one warm-up call.
double timed(int repeats, const std::function<void()>& f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const double start = now();
    f();
    t.push_back(now() - start);
  }
  return median(t);
}

// A few batches of random images in [0, 1) and labels, cycled through by the timed runs.
std::vector<Feeds> synthetic_batches(int64_t batch, int count, Rng& rng) {
  std::vector<Feeds> out(static_cast<size_t>(count));
  for (auto& f : out) {
    Tensor x = make_tensor({batch, 1, 28, 28}), y = make_tensor({batch});
    for (float& v : x) v = rng.uniform01();
    for (float& v : y) v = float(rng.below(10));
    f = {{"image", std::move(x)}, {"label", std::move(y)}};
  }
  return out;
}

// Plain SGD and Adam, written here while graph/optim.h is not on main.
struct Optimizer {
  bool adam = false;
  double lr = 0.9, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  int64_t t = 0;
  Params m, v;
  void step(Params& params, const Engine& e) {
    ++t;
    const double c1 = 1 - std::pow(b1, double(t)), c2 = 1 - std::pow(b2, double(t));
    for (auto& [name, w] : params) {
      const float* g = e.grad(name)->data();
      float* p = w.data();
      if (!adam) {
        for (size_t i = 0; i < w.size(); ++i) p[i] -= float(lr) * g[i];
        continue;
      }
      Tensor &mt = m[name], &vt = v[name];
      if (mt.size() != w.size()) mt = make_tensor(shape_of(w)), vt = make_tensor(shape_of(w));
      for (size_t i = 0; i < w.size(); ++i) {
        mt.data()[i] = float(b1 * mt.data()[i] + (1 - b1) * g[i]);
        vt.data()[i] = float(b2 * vt.data()[i] + (1 - b2) * g[i] * g[i]);
        p[i] -= float(lr * (mt.data()[i] / c1) / (std::sqrt(vt.data()[i] / c2) + eps));
      }
    }
  }
};

struct Trainer {
  Graph g;
  Params params;
  Engine engine;
  std::vector<Feeds> batches;
  std::vector<int> targets;
  Optimizer opt;
  size_t next = 0;
  Trainer(const std::string& act, int64_t batch, bool adam)
      : g(lenet(act)), params(init_params_seeded(g)), engine(g) {
    Rng rng(1);
    batches = synthetic_batches(batch, 8, rng);
    targets = g.params();  // gradients of the weights only, as training needs
    opt.adam = adam;
    opt.lr = adam ? 1e-3 : 0.9;
  }
  static Params init_params_seeded(const Graph& graph) {
    Rng rng(0);
    return init_params(graph, rng);
  }
  void step() {
    engine.forward(batches[next++ % batches.size()], params, true);
    engine.backward(g.output("loss"), targets);
    opt.step(params, engine);
  }
};

double train_rate(const std::string& act, int64_t batch, bool adam, int steps, int repeats) {
  Trainer t(act, batch, adam);
  return double(steps * batch) / timed(repeats, [&] {
           for (int s = 0; s < steps; ++s) t.step();
         });
}

double infer_rate(int64_t batch, int steps, int repeats) {
  Graph g = lenet("sigmoid");
  Rng rng(0);
  const Params params = init_params(g, rng);
  const std::vector<Feeds> batches = synthetic_batches(batch, 2, rng);
  Engine e(g);
  return double(steps * batch) / timed(repeats, [&] {
           for (int s = 0; s < steps; ++s) e.forward(batches[size_t(s) % 2], params, false);
         });
}

// Median per-op times over several reference training steps.
std::vector<OpRow> op_times(int steps) {
  Trainer t("sigmoid", 32, false);
  t.engine.set_profiling(true);
  t.step();
  std::vector<std::vector<double>> fw(size_t(t.g.size())), bw(size_t(t.g.size()));
  for (int s = 0; s < steps; ++s) {
    t.step();
    for (int id = 0; id < t.g.size(); ++id) {
      fw[size_t(id)].push_back(t.engine.op_times()[size_t(id)].forward);
      bw[size_t(id)].push_back(t.engine.op_times()[size_t(id)].backward);
    }
  }
  std::vector<OpRow> rows;
  for (int id = 0; id < t.g.size(); ++id) {
    const Node& n = t.g.node(id);
    if (n.kind != NodeKind::Op) continue;
    rows.push_back(
        {n.name, std::string(n.op->type()), 1e6 * median(fw[size_t(id)]), 1e6 * median(bw[size_t(id)])});
  }
  return rows;
}

// Multiply-adds of conv2d and matmul nodes, x2; backward does twice forward's work, minus the
// input gradient of a layer reading a graph input (nobody wants d image).
double train_mflop_per_image(const Graph& g) {
  double total = 0;
  for (const Node& n : g.nodes()) {
    if (n.kind != NodeKind::Op || (n.op->type() != "conv2d" && n.op->type() != "matmul")) continue;
    const Shape& out = n.info.shape;
    const Shape& w = g.node(n.inputs[1]).info.shape;
    double fwd = 2.0 * double(numel(w));
    if (n.op->type() == "conv2d") fwd *= double(out[2] * out[3]);
    const bool reads_input = g.node(n.inputs[0]).kind == NodeKind::Input;
    total += fwd * (reads_input ? 2 : 3);
  }
  return total * 1e-6;
}

// OpenBLAS sgemm on 512x512 matrices with the pool's thread count, then back to one thread.
double sgemm_peak(int repeats) {
  const int n = 512;
  std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
  openblas_set_num_threads(num_threads());
  const double s = timed(repeats, [&] {
    for (int r = 0; r < 4; ++r)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                  c.data(), n);
  });
  openblas_set_num_threads(1);
  return 4 * 2.0 * n * n * n / s * 1e-9;
}

}  // namespace

XgradFigures bench_xgrad(const BenchConfig& cfg) {
  XgradFigures f;
  const int steps = std::max(cfg.steps, 4), r = std::max(cfg.repeats, 1);
  f.train_sgd_img_s = train_rate("sigmoid", 32, false, steps, r);
  f.train_adam_img_s = train_rate("relu", 64, true, steps / 2, r);
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  f.peak_rss_mb = double(u.ru_maxrss) / 1024.0;
  f.infer_img_s = infer_rate(256, std::max(steps / 6, 4), r);
  f.latency_us = 1e6 / infer_rate(1, steps * 4, r);
  f.train_mflop_per_image = train_mflop_per_image(lenet("sigmoid"));
  f.sgemm_peak_gflops = sgemm_peak(r);
  f.ops = op_times(std::max(steps / 3, 5));
  return f;
}

}  // namespace xgrad::cli
