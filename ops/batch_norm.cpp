// batch_norm(x, gamma, beta, mean, var) over axis 1 of [N, C, ...], with PyTorch's definitions:
//   y = gamma·(x − μ)/√(σ² + ε) + beta
// Training normalizes with the batch mean and biased batch variance and then moves the running
// statistics (the state inputs mean, var): mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·M/(M − 1)
// with M = N·H·W values per channel. Evaluation normalizes with the running statistics. Each
// channel is independent, so the thread pool splits over channels and results do not depend on it.
#include <cmath>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

enum { kX, kGamma, kBeta, kMean, kVar };
enum { kBatchMean, kBatchVar };  // workspace tensors of a training forward, [C] each

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
  BatchNorm(double epsilon, double momentum) : epsilon_(epsilon), momentum_(momentum) {}
  std::string_view type() const override { return "batch_norm"; }
  Arity arity() const override { return {5, 5}; }
  json attrs() const override { return {{"epsilon", epsilon_}, {"momentum", momentum_}}; }

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
    const float* mean = in[kMean]->data();
    const float* var = in[kVar]->data();
    if (ctx.mode == Mode::Train) {
      batch_statistics(*in[kX], ws);
      mean = ws.tensors[kBatchMean].data();
      var = ws.tensors[kBatchVar].data();
    }
    const float *x = in[kX]->data(), *gamma = in[kGamma]->data(), *beta = in[kBeta]->data();
    float* y = out.data();
    over_channels(d, [&](size_t c) {
      const float scale = float(gamma[c] / std::sqrt(double(var[c]) + epsilon_)),
                  shift = beta[c] - mean[c] * scale;
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k) y[k] = x[k] * scale + shift;
      });
    });
  }

  void run_backward(const RunContext& ctx, const Inputs& in, const Tensor&, const Tensor& gy, Workspace& ws,
                    const Grads& gx) const override {
    for (int k = 0; k < 5; ++k)
      if (gx[size_t(k)]) ensure_shape(*gx[size_t(k)], shape_of(*in[size_t(k)]));
    const bool train = ctx.mode == Mode::Train;
    if (train && ws.tensors.size() != 2) throw Error("backward needs a training forward first");
    const float* mean = train ? ws.tensors[kBatchMean].data() : in[kMean]->data();
    const float* var = train ? ws.tensors[kBatchVar].data() : in[kVar]->data();
    const Dims d = dims_of(*in[kX]);
    const double m = double(d.per_channel());
    const float *x = in[kX]->data(), *gamma = in[kGamma]->data(), *g = gy.data();
    over_channels(d, [&](size_t c) {
      const double inv_std = 1.0 / std::sqrt(double(var[c]) + epsilon_);
      double sum_g = 0, sum_g_xhat = 0;  // Σ dy and Σ dy·x̂ over the channel
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k) {
          sum_g += g[k];
          sum_g_xhat += double(g[k]) * (double(x[k]) - mean[c]) * inv_std;
        }
      });
      if (gx[kGamma]) gx[kGamma]->data()[c] = float(sum_g_xhat);
      if (gx[kBeta]) gx[kBeta]->data()[c] = float(sum_g);
      // Eval: μ and σ² are inputs. Train: they are functions of x, so dx gains their terms instead.
      if (gx[kMean]) gx[kMean]->data()[c] = train ? 0.0f : float(-gamma[c] * inv_std * sum_g);
      if (gx[kVar])
        gx[kVar]->data()[c] = train ? 0.0f : float(-0.5 * gamma[c] * inv_std * inv_std * sum_g_xhat);
      if (!gx[kX]) return;
      float* dx = gx[kX]->data();
      const double a = gamma[c] * inv_std, b = train ? sum_g / m : 0.0, e = train ? sum_g_xhat / m : 0.0;
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k)
          dx[k] = float(a * (g[k] - b - (double(x[k]) - mean[c]) * inv_std * e));
      });
    });
  }

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
  // Per channel: mean and biased variance (two passes, in double) into the workspace.
  void batch_statistics(const Tensor& xt, Workspace& ws) const {
    const Dims d = dims_of(xt);
    if (d.per_channel() < 2)
      throw Error("training mode needs more than one value per channel, x is " + to_string(shape_of(xt)));
    ws.tensors.resize(2);
    ensure_shape(ws.tensors[kBatchMean], {int64_t(d.c)});
    ensure_shape(ws.tensors[kBatchVar], {int64_t(d.c)});
    const float* x = xt.data();
    over_channels(d, [&](size_t c) {
      double sum = 0, sq = 0;
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k) sum += x[k];
      });
      const double mu = sum / double(d.per_channel());
      for_channel(d, c, [&](size_t, size_t at) {
        for (size_t k = at; k < at + d.s; ++k) sq += (x[k] - mu) * (x[k] - mu);
      });
      ws.tensors[kBatchMean].data()[c] = float(mu);
      ws.tensors[kBatchVar].data()[c] = float(sq / double(d.per_channel()));
    });
  }

  double epsilon_, momentum_;
};

}  // namespace

void register_batch_norm_ops(Registry& r) {
  r.add("batch_norm", [](const json& attrs) -> std::unique_ptr<Op> {
    for (const auto& [key, value] : attrs.items())
      if (key != "epsilon" && key != "momentum")
        throw Error("attrs." + key + ": unknown attribute (valid: epsilon, momentum)");
    const double eps = number_attr(attrs, "epsilon", 1e-5, 1e-30, 1.0);
    const double momentum = number_attr(attrs, "momentum", 0.1, 0.0, 1.0);
    return std::make_unique<BatchNorm>(eps, momentum);
  });
}

}  // namespace xgrad
