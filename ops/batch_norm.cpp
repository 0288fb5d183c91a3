// batch_norm(x, gamma, beta, mean, var) over axis 1 of [N, C, ...], with PyTorch's definitions:
//   y = gamma·(x − μ)/√(σ² + ε) + beta
// Training normalizes with the batch mean and biased batch variance and then moves the running
// statistics (the state inputs mean, var): mean ← (1 − m)·mean + m·μ, var ← (1 − m)·var + m·σ²·M/(M − 1)
// with M = N·H·W values per channel. Evaluation normalizes with the running statistics. The thread
// pool splits the batch (each thread keeps the images the ops before it wrote); the per-channel sums
// are taken over fixed chunks of the batch, so results do not depend on the thread count.
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

// The batch is cut into fixed chunks for the sums (at most 8, as conv2d's weight gradient cuts it),
// whatever the thread count, and the chunks' partial sums are added in chunk order: the bits do
// not depend on the thread count. With T threads, thread t's chunks are the images the conv before
// wrote on that thread (the pool gives every op the same part of the batch), still in its cache.
int64_t sum_chunks(const Dims& d) { return std::min<int64_t>(int64_t(d.n), 8); }
size_t chunk_begin(const Dims& d, int64_t chunks, int64_t k) { return size_t(k) * d.n / size_t(chunks); }

// f(i, c, at) for every row of samples [i0, i1) in memory order: row (i, c) holds sample i's values of
// channel c and starts at `at`; a sample's rows are contiguous, so the reads stream.
template <class F>
void for_rows(const Dims& d, size_t i0, size_t i1, F&& f) {
  for (size_t i = i0; i < i1; ++i)
    for (size_t c = 0; c < d.c; ++c) f(i, c, (i * d.c + c) * d.s);
}

// f(i, c, at) for every row, the samples split over the thread pool.
template <class F>
void over_rows(const Dims& d, F&& f) {
  parallel_for(int64_t(d.n), [&](int64_t i0, int64_t i1) { for_rows(d, size_t(i0), size_t(i1), f); });
}

// y = (x − μf)·scale + shift, forward's output and, before its relu, backward's mask.
float normalize(float x, float mu, float scale, float shift) { return (x - mu) * scale + shift; }

// Σ dy and Σ dy·(x − μ) over one row of n values (g and x from the row's start), as sum_lanes_of2
// adds them; dy is g, or g through a fused relu's mask y > 0 with y recomputed by forward's own
// operations. Not inlined: inlined into the loop over rows, GCC 12 vectorised the unfused case
// across rows instead (3000 instructions of permutes, 3x slower); a call per row costs far less.
template <bool kRelu>
__attribute__((noinline)) std::pair<float, float> row_gradient_sums(const float* gr, const float* xr,
                                                                    int64_t n, float mu, float sf,
                                                                    float shift) {
  const auto dy = [&](int64_t j) {
    return kRelu ? relu_gradient(gr[j], normalize(xr[j], mu, sf, shift)) : gr[j];
  };
  return sum_lanes_of2(n, dy, [&](int64_t j) { return dy(j) * (xr[j] - mu); });
}

// row_gradient_sums for a row shorter than a vector, inlined: the same sums (sum_lanes_of2 adds
// such a row in one chain from 0), without a call per row where rows are single values.
template <bool kRelu>
std::pair<float, float> short_row_gradient_sums(const float* gr, const float* xr, int64_t n, float mu,
                                                float sf, float shift) {
  float sa = 0, sb = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float dy = kRelu ? relu_gradient(gr[j], normalize(xr[j], mu, sf, shift)) : gr[j];
    sa += dy, sb += dy * (xr[j] - mu);
  }
  return {sa, sb};
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
    if (train) batch_statistics(d, x, ws);
    std::vector<float> mu(d.c), sf(d.c), shift(d.c);
    for (size_t c = 0; c < d.c; ++c) {
      // y = (x − μ)·scale + β = (x − μf)·scale + (β − rest·scale)
      const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);
      mu[c] = st.mean[c], sf[c] = float(scale), shift[c] = float(beta[c] - st.rest(c) * scale);
    }
    if (d.s == 1) {  // [N, C]: a sample's values make one row across the channels
      parallel_for(int64_t(d.n), [&](int64_t i0, int64_t i1) {
        for (size_t i = size_t(i0); i < size_t(i1); ++i) {
          const float* xi = x + i * d.c;
          float* yi = y + i * d.c;
          if (relu_)
            for (size_t c = 0; c < d.c; ++c) yi[c] = relu(normalize(xi[c], mu[c], sf[c], shift[c]));
          else
            for (size_t c = 0; c < d.c; ++c) yi[c] = normalize(xi[c], mu[c], sf[c], shift[c]);
        }
      });
      return;
    }
    over_rows(d, [&](size_t, size_t c, size_t at) {
      const float m = mu[c], a = sf[c], b = shift[c];  // locals: a store to y could alias the vectors
      const float* xr = x + at;
      float* yr = y + at;
      if (relu_)
        for (int64_t j = 0; j < int64_t(d.s); ++j) yr[j] = relu(normalize(xr[j], m, a, b));
      else
        for (int64_t j = 0; j < int64_t(d.s); ++j) yr[j] = normalize(xr[j], m, a, b);
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
    struct Channel {
      float mu, sf, shift;  // forward's normalization, for the mask
      float af, qf, r;      // dx = af·dy + qf·(x − μf) + r
    };
    std::vector<Channel> ch(d.c);
    for (size_t c = 0; c < d.c; ++c) {
      const double scale = gamma[c] / std::sqrt(double(st.var[c]) + epsilon_);  // as forward has it
      ch[c] = {st.mean[c], float(scale), float(beta[c] - st.rest(c) * scale), 0, 0, 0};
    }
    // [N, C] runs its loops across the channels, with the constants as arrays (a vector of each).
    struct Dense {
      std::vector<float> mu, sf, shift, af, qf, r;
    } dense;
    if (d.s == 1) {
      for (const Channel& h : ch)
        dense.mu.push_back(h.mu), dense.sf.push_back(h.sf), dense.shift.push_back(h.shift);
    }
    const auto run = [&](auto fused) {
      const auto dense_dy = [&dense](float gv, float v, size_t c) {
        return decltype(fused)::value
                   ? relu_gradient(gv, normalize(v, dense.mu[c], dense.sf[c], dense.shift[c]))
                   : gv;
      };
      // dy at j of a row (g and x from the row's start), with a copy of its channel's constants (in
      // registers: a store to dx could otherwise alias a Channel's floats).
      const auto dy = [](const float* gr, const float* xr, int64_t j, const Channel& h) {
        if constexpr (decltype(fused)::value)
          return relu_gradient(gr[j], normalize(xr[j], h.mu, h.sf, h.shift));
        else
          return gr[j];
      };
      // Σ dy and Σ dy·(x − μf) per channel and chunk: each row in float lanes, the rows in double
      // in sample order, so long channels keep their precision.
      const int64_t chunks = sum_chunks(d);
      std::vector<double> partial(size_t(chunks) * d.c * 2, 0.0);  // per chunk: Σdy, then Σdy·(x − μf)
      parallel_for(chunks, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
          double *sum_g = partial.data() + size_t(k) * d.c * 2, *sum_g_x = sum_g + d.c;
          if (d.s == 1) {  // [N, C]: loops across the channels, the same sums as one-value rows
            for (size_t i = chunk_begin(d, chunks, k); i < chunk_begin(d, chunks, k + 1); ++i)
              for (size_t c = 0; c < d.c; ++c) {
                const float v = x[i * d.c + c], dyv = dense_dy(g[i * d.c + c], v, c);
                sum_g[c] += double(dyv), sum_g_x[c] += double(dyv * (v - dense.mu[c]));
              }
            continue;
          }
          for_rows(
              d, chunk_begin(d, chunks, k), chunk_begin(d, chunks, k + 1), [&](size_t, size_t c, size_t at) {
                const Channel& h = ch[c];
                constexpr bool kRelu = decltype(fused)::value;
                const auto [rg, rgx] =
                    d.s < 16
                        ? short_row_gradient_sums<kRelu>(g + at, x + at, int64_t(d.s), h.mu, h.sf, h.shift)
                        : row_gradient_sums<kRelu>(g + at, x + at, int64_t(d.s), h.mu, h.sf, h.shift);
                sum_g[c] += rg, sum_g_x[c] += rgx;
              });
        }
      });
      for (size_t c = 0; c < d.c; ++c) {
        double sum_g = 0, sum_g_x = 0;
        for (int64_t k = 0; k < chunks; ++k) {
          sum_g += partial[size_t(k) * d.c * 2 + c];
          sum_g_x += partial[size_t(k) * d.c * 2 + d.c + c];
        }
        const double inv_std = 1.0 / std::sqrt(double(st.var[c]) + epsilon_), rest = st.rest(c);
        const double sum_g_xhat = (sum_g_x - rest * sum_g) * inv_std;  // Σ dy·x̂, x̂ = (x − μf − rest)·inv_std
        if (gx[kGamma]) gx[kGamma]->data()[c] = float(sum_g_xhat);
        if (gx[kBeta]) gx[kBeta]->data()[c] = float(sum_g);
        // Eval: μ and σ² are inputs. Train: they are functions of x, so dx gains their terms instead.
        if (gx[kMean]) gx[kMean]->data()[c] = train ? 0.0f : float(-gamma[c] * inv_std * sum_g);
        if (gx[kVar])
          gx[kVar]->data()[c] = train ? 0.0f : float(-0.5 * gamma[c] * inv_std * inv_std * sum_g_xhat);
        // dx = a·(dy − Σdy/M − x̂·Σ(dy·x̂)/M) = a·dy + q·(x − μf) + r, its coefficients in double
        const double a = gamma[c] * inv_std, b = train ? sum_g / m : 0.0, e = train ? sum_g_xhat / m : 0.0;
        const double q = -a * inv_std * e;
        ch[c].af = float(a), ch[c].qf = float(q), ch[c].r = float(-a * b - q * rest);
      }
      if (!gx[kX]) return;
      float* dx = gx[kX]->data();
      if (d.s == 1) {
        for (const Channel& h : ch)
          dense.af.push_back(h.af), dense.qf.push_back(h.qf), dense.r.push_back(h.r);
        parallel_for(int64_t(d.n), [&](int64_t i0, int64_t i1) {
          for (size_t i = size_t(i0); i < size_t(i1); ++i)
            for (size_t c = 0; c < d.c; ++c) {
              const float v = x[i * d.c + c];
              dx[i * d.c + c] =
                  dense.af[c] * dense_dy(g[i * d.c + c], v, c) + dense.qf[c] * (v - dense.mu[c]) + dense.r[c];
            }
        });
        return;
      }
      over_rows(d, [&](size_t, size_t c, size_t at) {
        const Channel h = ch[c];
        const float *gr = g + at, *xr = x + at;
        float* dr = dx + at;
        for (int64_t j = 0; j < int64_t(d.s); ++j)
          dr[j] = h.af * dy(gr, xr, j, h) + h.qf * (xr[j] - h.mu) + h.r;
      });
    };
    relu_ ? run(std::true_type{}) : run(std::false_type{});
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

  // The workspace of the batch statistics, [C] each.
  static void size_statistics(const Tensor& xt, Workspace& ws) {
    const Dims d = dims_of(xt);
    if (d.per_channel() < 2)
      throw Error("training mode needs more than one value per channel, x is " + to_string(shape_of(xt)));
    ws.tensors.resize(3);
    for (Tensor& t : ws.tensors) ensure_shape(t, {int64_t(d.c)});
  }

  // The batch's means and biased variances into the workspace, reading x once in memory order.
  // Each row (one sample's values of one channel) gets two passes while it is in L1 (its mean,
  // then its squares about it); a chunk's rows of a channel are combined in sample order and the
  // chunks in chunk order, in double, by Chan et al.'s update of a sum and a sum of squares.
  static void batch_statistics(const Dims& d, const float* x, Workspace& ws) {
    const int64_t s = int64_t(d.s), chunks = sum_chunks(d);
    const double inv_s = 1.0 / double(s);
    // Per chunk: Σx of each channel, then M2 of each channel.
    std::vector<double> partial(size_t(chunks) * d.c * 2, 0.0);
    const size_t group = std::max<size_t>(1, 8192 / std::max<size_t>(1, d.s));
    parallel_for(chunks, [&](int64_t k0, int64_t k1) {
      std::vector<double> row_sum(d.c);
      for (int64_t k = k0; k < k1; ++k) {
        double *acc_sum = partial.data() + size_t(k) * d.c * 2, *acc_m2 = acc_sum + d.c;
        const size_t first = chunk_begin(d, chunks, k);
        for (size_t i = first; i < chunk_begin(d, chunks, k + 1); ++i) {
          // Row j = i − first joins j rows: M2 += row_m2 + δ²·(j·s)·s/((j + 1)·s), δ = row mean − mean
          // so far; the factors are the row index's, so a row (49 values at 7x7) costs no division.
          const size_t j = i - first;
          const double before = j ? 1.0 / double(j * d.s) : 0.0,
                       weight = double(s) * double(j) / double(j + 1);
          if (d.s == 1) {  // [N, C]: the sample is one value a channel, a loop across channels (same sums)
            const float* xi = x + i * d.c;
            for (size_t c = 0; c < d.c; ++c) {
              const double v = xi[c], delta = v - acc_sum[c] * before;
              acc_m2[c] += delta * delta * weight;
              acc_sum[c] += v;
            }
            continue;
          }
          // The sample's rows in groups of about 32 KB (one row at least): the group's sums first,
          // then its squares about each row's mean while the group is in L1, so neither pass
          // waits on a row's previous sum.
          for (size_t c0 = 0; c0 < d.c; c0 += group) {
            const size_t c1 = std::min(d.c, c0 + group);
            for (size_t c = c0; c < c1; ++c) {
              // Summed about the row's first value: x − x0 is small and exact where the values
              // sit far from zero, so the float lanes keep the mean's precision.
              const float* row = x + (i * d.c + c) * d.s;
              const float x0 = row[0];
              row_sum[c] =
                  double(x0) * double(s) + double(sum_lanes_of(s, [&](int64_t q) { return row[q] - x0; }));
            }
            for (size_t c = c0; c < c1; ++c) {
              // Σ (x − μ)² about the float μ, corrected to the exact μ: Σ(x − μf)² − s·(μ − μf)²
              const float* row = x + (i * d.c + c) * d.s;
              const double row_mu = row_sum[c] * inv_s;
              const float muf = float(row_mu);
              const double row_m2 =
                  double(sum_lanes_of(s, [&](int64_t q) { return (row[q] - muf) * (row[q] - muf); })) -
                  double(s) * (row_mu - muf) * (row_mu - muf);
              const double delta = row_mu - acc_sum[c] * before;
              acc_m2[c] += row_m2 + delta * delta * weight;
              acc_sum[c] += row_sum[c];
            }
          }
        }
      }
    });
    for (size_t c = 0; c < d.c; ++c) {
      double count = 0, sum = 0, m2 = 0;
      for (int64_t k = 0; k < chunks; ++k) {  // Chan's update of two parts of any sizes
        const double n_k = double((chunk_begin(d, chunks, k + 1) - chunk_begin(d, chunks, k)) * d.s);
        const double sum_k = partial[size_t(k) * d.c * 2 + c], m2_k = partial[size_t(k) * d.c * 2 + d.c + c];
        if (count > 0) {
          const double delta = sum_k / n_k - sum / count;
          m2 += m2_k + delta * delta * count * n_k / (count + n_k);
        } else {
          m2 = m2_k;
        }
        sum += sum_k, count += n_k;
      }
      const double mu = sum / count;
      const float muf = float(mu);
      ws.tensors[kBatchMean].data()[c] = muf;
      ws.tensors[kBatchMeanRest].data()[c] = float(mu - muf);
      ws.tensors[kBatchVar].data()[c] = float(std::max(0.0, m2) / count);
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
