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
#include <vector>

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

// f(c0, c1) on the thread pool's blocks of channels.
template <class F>
void over_channel_blocks(const Dims& d, F&& f) {
  parallel_for(int64_t(d.c), [&](int64_t c0, int64_t c1) { f(size_t(c0), size_t(c1)); });
}

// f(c, at) for the rows of channels [c0, c1) in memory order (sample by sample): a block's rows of
// one sample are contiguous, so the reads stream instead of jumping a sample's stride every row.
template <class F>
void for_rows(const Dims& d, size_t c0, size_t c1, F&& f) {
  for (size_t i = 0; i < d.n; ++i)
    for (size_t c = c0; c < c1; ++c) f(c, (i * d.c + c) * d.s);
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
    over_channel_blocks(d, [&](size_t c0, size_t c1) {
      if (train) block_statistics(d, x, c0, c1, ws);
      std::vector<float> mu(c1 - c0), sf(c1 - c0), shift(c1 - c0);
      for (size_t c = c0; c < c1; ++c) {
        // y = (x − μ)·scale + β = (x − μf)·scale + (β − rest·scale)
        const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);
        mu[c - c0] = st.mean[c], sf[c - c0] = float(scale),
               shift[c - c0] = float(beta[c] - st.rest(c) * scale);
      }
      for_rows(d, c0, c1, [&](size_t c, size_t at) {
        const float m = mu[c - c0], a = sf[c - c0], b = shift[c - c0];
        if (relu_)
          for (size_t k = at; k < at + d.s; ++k) y[k] = relu(normalize(x[k], m, a, b));
        else
          for (size_t k = at; k < at + d.s; ++k) y[k] = normalize(x[k], m, a, b);
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
    const auto block = [&](size_t c0, size_t c1, auto fused) {
      struct Channel {
        float mu, sf, shift;    // forward's normalization, for the mask
        double sum_g, sum_g_x;  // Σ dy and Σ dy·(x − μf), then dx = af·dy + qf·(x − μf) + r
        float af, qf, r;
      };
      std::vector<Channel> ch(c1 - c0);
      for (size_t c = c0; c < c1; ++c) {
        const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);  // as forward has it
        ch[c - c0] = {st.mean[c], float(scale), float(beta[c] - st.rest(c) * scale), 0, 0, 0, 0, 0};
      }
      const auto dy = [&](const Channel& h, size_t k) {
        if constexpr (decltype(fused)::value)
          return relu_gradient(g[k], normalize(x[k], h.mu, h.sf, h.shift));
        else
          return g[k];
      };
      // Σ dy and Σ dy·x̂ over each channel, x̂ = (x − μf − rest)·inv_std: each row in float lanes,
      // the rows in double in sample order, so long channels keep their precision.
      for_rows(d, c0, c1, [&](size_t c, size_t at) {
        Channel& h = ch[c - c0];
        const auto [rg, rgx] = sum_lanes_of2(
            int64_t(d.s), [&](int64_t k) { return dy(h, at + size_t(k)); },
            [&](int64_t k) { return dy(h, at + size_t(k)) * (x[at + size_t(k)] - h.mu); });
        h.sum_g += rg, h.sum_g_x += rgx;
      });
      for (size_t c = c0; c < c1; ++c) {
        Channel& h = ch[c - c0];
        const double inv_std = 1.0 / std::sqrt(double(st.var[c]) + epsilon_), rest = st.rest(c);
        const double sum_g = h.sum_g, sum_g_xhat = (h.sum_g_x - rest * sum_g) * inv_std;
        if (gx[kGamma]) gx[kGamma]->data()[c] = float(sum_g_xhat);
        if (gx[kBeta]) gx[kBeta]->data()[c] = float(sum_g);
        // Eval: μ and σ² are inputs. Train: they are functions of x, so dx gains their terms instead.
        if (gx[kMean]) gx[kMean]->data()[c] = train ? 0.0f : float(-gamma[c] * inv_std * sum_g);
        if (gx[kVar])
          gx[kVar]->data()[c] = train ? 0.0f : float(-0.5 * gamma[c] * inv_std * inv_std * sum_g_xhat);
        // dx = a·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) = a·dy + q·(x − μf) + r, its coefficients in double
        const double a = gamma[c] * inv_std, b = train ? sum_g / m : 0.0, e = train ? sum_g_xhat / m : 0.0;
        const double q = -a * inv_std * e;
        h.af = float(a), h.qf = float(q), h.r = float(-a * b - q * rest);
      }
      if (!gx[kX]) return;
      float* dx = gx[kX]->data();
      for_rows(d, c0, c1, [&](size_t c, size_t at) {
        const Channel& h = ch[c - c0];
        for (size_t k = at; k < at + d.s; ++k) dx[k] = h.af * dy(h, k) + h.qf * (x[k] - h.mu) + h.r;
      });
    };
    over_channel_blocks(d, [&](size_t c0, size_t c1) {
      relu_ ? block(c0, c1, std::true_type{}) : block(c0, c1, std::false_type{});
    });
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

  // The means and biased variances of channels [c0, c1) into the workspace, reading x once in memory
  // order: each row (one sample's values of one channel) gets two passes while it is in L1 (its
  // mean, then its squares about it), and a channel's rows are combined in sample order, in
  // double, by Chan et al.'s update of a mean and a sum of squares.
  static void block_statistics(const Dims& d, const float* x, size_t c0, size_t c1, Workspace& ws) {
    const int64_t s = int64_t(d.s);
    struct Acc {
      double count = 0, mu = 0, m2 = 0;
    };
    std::vector<Acc> acc(c1 - c0);
    for_rows(d, c0, c1, [&](size_t c, size_t at) {
      const float* row = x + at;
      // Summed about the row's first value: x − x0 is small and exact where the values sit far
      // from zero, so the float lanes keep the mean's precision.
      const float x0 = row[0];
      const double row_mu = x0 + double(sum_lanes_of(s, [&](int64_t k) { return row[k] - x0; })) / double(s);
      // Σ (x − μ)² about the float μ, corrected to the exact μ: Σ(x − μf)² − s·(μ − μf)²
      const float row_muf = float(row_mu);
      const double row_m2 =
          double(sum_lanes_of(s, [&](int64_t k) { return (row[k] - row_muf) * (row[k] - row_muf); })) -
          double(s) * (row_mu - row_muf) * (row_mu - row_muf);
      Acc& a = acc[c - c0];
      const double total = a.count + double(s), delta = row_mu - a.mu;
      a.mu += delta * double(s) / total;
      a.m2 += row_m2 + delta * delta * a.count * double(s) / total;
      a.count = total;
    });
    for (size_t c = c0; c < c1; ++c) {
      const Acc& a = acc[c - c0];
      const float muf = float(a.mu);
      ws.tensors[kBatchMean].data()[c] = muf;
      ws.tensors[kBatchMeanRest].data()[c] = float(a.mu - muf);
      ws.tensors[kBatchVar].data()[c] = float(std::max(0.0, a.m2) / a.count);
    }
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
