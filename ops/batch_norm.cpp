// batch_norm(x, gamma, beta, mean, var) over axis 1 of [N, C, ...], with PyTorch's definitions:
//   y = gamma·(x − μ)/√(σ² + ε) + beta
// Training normalizes with the batch mean and biased batch variance and then moves the running
// statistics (the state inputs mean, var): mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·M/(M − 1)
// with M = N·H·W values per channel. Evaluation normalizes with the running statistics. Each
// channel is independent, so the thread pool splits over channels and results do not depend on it.
// With activation "relu" the op is relu(batch_norm(...)) in one node: the relu runs in the output
// loop, and backward reads the gradient through the mask y > 0 (graph/fold.h makes such nodes).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

enum { kX, kGamma, kBeta, kMean, kVar };
// Workspace tensors of a training forward, [C] each: the batch mean as the nearest float μf and the
// rest μ − μf (so values far from zero keep their precision), and the biased batch variance.
enum { kBatchMean, kBatchMeanRest, kBatchVar };

// x viewed as [n, c, s]: s is the product of the dims after the channel (1 for [N, C]).
struct Dims {
  size_t n, c, s;
  size_t per_channel() const { return n * s; }
};

Dims dims_of(const Tensor& x) {
  const auto& sh = x.shape();
  size_t s = 1;
  for (size_t i = 2; i < sh.size(); ++i) s *= sh[i];
  return {sh[0], sh[1], s};
}

// f(i, at) for each sample i: the s values x[i, c, 0 .. s) of channel c start at `at`.
template <class F>
void for_channel(const Dims& d, size_t c, F&& f) {
  for (size_t i = 0; i < d.n; ++i) f(i, (i * d.c + c) * d.s);
}

// Σ over channel c of f(k), k the flat index: each sample's row in float vector lanes
// (sum_lanes_of), the rows in double, so long channels keep their precision and the loops vectorise.
template <class F>
double channel_sum(const Dims& d, size_t c, F&& f) {
  double total = 0;
  for_channel(d, c, [&](size_t, size_t at) {
    total += sum_lanes_of(int64_t(d.s), [&](int64_t k) { return f(at + size_t(k)); });
  });
  return total;
}

// Σ f(k) and Σ g(k) over channel c in one pass, each as channel_sum gives it.
template <class F, class G>
std::pair<double, double> channel_sums(const Dims& d, size_t c, F&& f, G&& g) {
  double sf = 0, sg = 0;
  for_channel(d, c, [&](size_t, size_t at) {
    const auto [rf, rg] = sum_lanes_of2(
        int64_t(d.s), [&](int64_t k) { return f(at + size_t(k)); },
        [&](int64_t k) { return g(at + size_t(k)); });
    sf += rf, sg += rg;
  });
  return {sf, sg};
}

template <class F>
void over_channels(const Dims& d, F&& f) {
  parallel_for(int64_t(d.c), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) f(size_t(c));
  });
}

// A number attribute within [min, max] (defaults applied by the caller).
double number_attr(const json& attrs, const char* name, double fallback, double min, double max) {
  if (!attrs.contains(name)) return fallback;
  const json& v = attrs.at(name);
  if (!v.is_number() || !(v.get<double>() >= min && v.get<double>() <= max))
    throw Error(std::string("attrs.") + name + ": expected a number in [" + json(min).dump() + ", " +
                json(max).dump() + "], found " + v.dump());
  return v.get<double>();
}

class BatchNorm final : public ModeDependentOp {
 public:
  BatchNorm(double epsilon, double momentum, bool relu)
      : epsilon_(epsilon), momentum_(momentum), relu_(relu) {}
  std::string_view type() const override { return "batch_norm"; }
  Arity arity() const override { return {5, 5}; }
  json attrs() const override {
    json a = {{"epsilon", epsilon_}, {"momentum", momentum_}};
    if (relu_) a["activation"] = "relu";  // written only when fused, so other files read as before
    return a;
  }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& x = in[kX].shape;
    if (x.size() < 2) throw Error("x must be [N, C] or [N, C, H, W], found " + to_string(x));
    for (const auto& i : in)
      if (i.dtype != DType::Float32) throw Error("expected float32 inputs");
    const char* names[] = {"x", "gamma", "beta", "mean", "var"};
    for (int k = kGamma; k <= kVar; ++k)
      if (in[size_t(k)].shape != Shape{x[1]})
        throw Error(std::string(names[k]) + " must be [" + std::to_string(x[1]) +
                    "] (the channels of x), found " + to_string(in[size_t(k)].shape));
    return x;
  }

  void run_forward(const RunContext& ctx, const Inputs& in, Tensor& out, Workspace& ws) const override {
    const Dims d = dims_of(*in[kX]);
    const bool train = ctx.mode == Mode::Train;
    if (train) size_statistics(*in[kX], ws);
    const Stats st = stats(ctx, in, ws);
    const float *x = in[kX]->data(), *gamma = in[kGamma]->data(), *beta = in[kBeta]->data();
    float* y = out.data();
    over_channels(d, [&](size_t c) {
      // The statistics and the output of one channel together, so x is still in cache.
      if (train) channel_statistics(d, x, c, ws);
      // y = (x − μ)·scale + β = (x − μf)·scale + (β − rest·scale)
      const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);
      const float mu = st.mean[c], sf = float(scale), shift = float(beta[c] - st.rest(c) * scale);
      for_channel(d, c, [&](size_t, size_t at) {
        if (relu_)
          for (size_t k = at; k < at + d.s; ++k) y[k] = relu(normalize(x[k], mu, sf, shift));
        else
          for (size_t k = at; k < at + d.s; ++k) y[k] = normalize(x[k], mu, sf, shift);
      });
    });
  }

  void run_backward(const RunContext& ctx, const Inputs& in, const Tensor&, const Tensor& gy, Workspace& ws,
                    const Grads& gx) const override {
    for (int k = 0; k < 5; ++k)
      if (gx[size_t(k)]) ensure_shape(*gx[size_t(k)], shape_of(*in[size_t(k)]));
    const bool train = ctx.mode == Mode::Train;
    if (train && ws.tensors.size() != 3) throw Error("backward needs a training forward first");
    const Stats st = stats(ctx, in, ws);
    const Dims d = dims_of(*in[kX]);
    const double m = double(d.per_channel());
    const float *x = in[kX]->data(), *gamma = in[kGamma]->data(), *beta = in[kBeta]->data(), *g = gy.data();
    // fused: std::true_type when a fused relu masks the gradient, so each loop is compiled both ways.
    // Its mask y > 0 is recomputed from x, by forward's own float operations (so the same mask),
    // instead of read from y: one tensor less to bring from memory in both passes.
    const auto channel = [&](size_t c, auto fused) {
      const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);  // as forward has it
      const float mu = st.mean[c], sf = float(scale), shift = float(beta[c] - st.rest(c) * scale);
      const auto dy = [&](size_t k) {
        if constexpr (decltype(fused)::value)
          return relu_gradient(g[k], normalize(x[k], mu, sf, shift));
        else
          return g[k];
      };
      const double inv_std = 1.0 / std::sqrt(double(st.var[c]) + epsilon_), rest = st.rest(c);
      // Σ dy and Σ dy·x̂ over the channel, x̂ = (x − μf − rest)·inv_std, in one pass
      const auto [sum_g, sum_g_x] = channel_sums(d, c, dy, [&](size_t k) { return dy(k) * (x[k] - mu); });
      const double sum_g_xhat = (sum_g_x - rest * sum_g) * inv_std;
      if (gx[kGamma]) gx[kGamma]->data()[c] = float(sum_g_xhat);
      if (gx[kBeta]) gx[kBeta]->data()[c] = float(sum_g);
      // Eval: μ and σ² are inputs. Train: they are functions of x, so dx gains their terms instead.
      if (gx[kMean]) gx[kMean]->data()[c] = train ? 0.0f : float(-gamma[c] * inv_std * sum_g);
      if (gx[kVar])
        gx[kVar]->data()[c] = train ? 0.0f : float(-0.5 * gamma[c] * inv_std * inv_std * sum_g_xhat);
      if (!gx[kX]) return;
      float* dx = gx[kX]->data();
      // dx = a·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) = a·dy + q·(x − μf) + r, its coefficients in double
      const double a = gamma[c] * inv_std, b = train ? sum_g / m : 0.0, e = train ? sum_g_xhat / m : 0.0;
      const double q = -a * inv_std * e;
      const float af = float(a), qf = float(q), r = float(-a * b - q * rest);
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k) dx[k] = af * dy(k) + qf * (x[k] - mu) + r;
      });
    };
    over_channels(d, [&](size_t c) { relu_ ? channel(c, std::true_type{}) : channel(c, std::false_type{}); });
  }

  bool reads_state(size_t slot) const override { return slot == kMean || slot == kVar; }

  void update_states(const RunContext&, const Inputs& in, const Tensor&, const Workspace& ws,
                     const States& states) const override {
    const double m = double(dims_of(*in[kX]).per_channel()), mom = momentum_;
    const float* batch_mean = ws.tensors[kBatchMean].data();
    const float* batch_var = ws.tensors[kBatchVar].data();
    for (size_t c = 0; c < ws.tensors[kBatchMean].size(); ++c) {
      if (Tensor* mean = states[kMean])
        mean->data()[c] = float((1 - mom) * mean->data()[c] + mom * batch_mean[c]);
      if (Tensor* var = states[kVar])
        var->data()[c] = float((1 - mom) * var->data()[c] + mom * double(batch_var[c]) * m / (m - 1));
    }
  }

 private:
  // The statistics a pass normalizes with: the batch's in training, the running ones otherwise.
  struct Stats {
    const float *mean, *mean_rest, *var;
    double rest(size_t c) const { return mean_rest ? mean_rest[c] : 0.0; }
  };
  static Stats stats(const RunContext& ctx, const Inputs& in, const Workspace& ws) {
    if (ctx.mode != Mode::Train) return {in[kMean]->data(), nullptr, in[kVar]->data()};
    return {ws.tensors[kBatchMean].data(), ws.tensors[kBatchMeanRest].data(), ws.tensors[kBatchVar].data()};
  }

  // y = (x − μf)·scale + shift, forward's output and, before its relu, backward's mask.
  static float normalize(float x, float mu, float scale, float shift) { return (x - mu) * scale + shift; }

  // The workspace of the batch statistics, [C] each.
  static void size_statistics(const Tensor& xt, Workspace& ws) {
    const Dims d = dims_of(xt);
    if (d.per_channel() < 2)
      throw Error("training mode needs more than one value per channel, x is " + to_string(shape_of(xt)));
    ws.tensors.resize(3);
    for (Tensor& t : ws.tensors) ensure_shape(t, {int64_t(d.c)});
  }

  // Channel c's mean and biased variance (two passes) into the workspace.
  static void channel_statistics(const Dims& d, const float* x, size_t c, Workspace& ws) {
    // Summed about the channel's first value: x − x0 is small and exact where the values sit
    // far from zero, so the float lanes keep the mean's precision.
    const float x0 = x[c * d.s];
    const double mu = x0 + channel_sum(d, c, [&](size_t k) { return x[k] - x0; }) / double(d.per_channel());
    const float muf = float(mu);
    // Σ (x − μ)² about the float μ, corrected to the exact μ: Σ(x − μf)² − M·(μ − μf)²
    const double sq = channel_sum(d, c, [&](size_t k) { return (x[k] - muf) * (x[k] - muf); }) -
                      double(d.per_channel()) * (mu - muf) * (mu - muf);
    ws.tensors[kBatchMean].data()[c] = muf;
    ws.tensors[kBatchMeanRest].data()[c] = float(mu - muf);
    ws.tensors[kBatchVar].data()[c] = float(std::max(0.0, sq) / double(d.per_channel()));
  }

  double epsilon_, momentum_;
  bool relu_;
};

}  // namespace

void register_batch_norm_ops(Registry& r) {
  r.add("batch_norm", [](const json& attrs) -> std::unique_ptr<Op> {
    for (const auto& [key, value] : attrs.items())
      if (key != "epsilon" && key != "momentum" && key != "activation")
        throw Error("attrs." + key + ": unknown attribute (valid: epsilon, momentum, activation)");
    const double eps = number_attr(attrs, "epsilon", 1e-5, 1e-30, 1.0);
    const double momentum = number_attr(attrs, "momentum", 0.1, 0.0, 1.0);
    AttrReader reader(attrs);
    const bool relu = reader.choice("activation", "none", {"none", "relu"}) == "relu";
    return std::make_unique<BatchNorm>(eps, momentum, relu);
  });
}

}  // namespace xgrad
