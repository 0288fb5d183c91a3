// max_pool2d and avg_pool2d over [N,C,H,W]. Padded cells never count: max ignores them, avg divides
// by the number of real cells in the window (Keras' "same"). Max keeps its argmax for backward.
// Windows that never touch padding (LeNet's 2x2/2) take a fast path split over planes by the thread
// pool; everything else runs the reference loops of pool_reference.cpp, which are the tests' oracle.
#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/pool_reference.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

bool no_padding_reached(const PoolDims& d) {
  return d.g.pad_top == 0 && d.g.pad_left == 0 &&
         (d.g.out_h - 1) * d.win.stride[0] + d.win.kernel[0] <= d.h &&
         (d.g.out_w - 1) * d.win.stride[1] + d.win.kernel[1] <= d.w;
}

// One output row of a 2x2 window, branch-free (comparisons as 0/1 arithmetic) so that it
// vectorises and random data costs no mispredicted branches. SW: column stride, 0 = runtime.
template <int SW>
void max_row_2x2(const float* r0, const float* r1, int sw, int ow, int w, int32_t at0, float* y,
                 int32_t* argmax) {
  if (SW) sw = SW;
  for (int j = 0; j < ow; ++j) {
    const float a = r0[j * sw], b = r0[j * sw + 1], c = r1[j * sw], e = r1[j * sw + 1];
    const int32_t right0 = b > a, right1 = e > c;
    const float top = std::max(a, b), bottom = std::max(c, e);
    const int32_t down = bottom > top;
    y[j] = std::max(top, bottom);
    argmax[j] = at0 + j * sw + down * (w + right1) + (1 - down) * right0;
  }
}

// The first largest cell of each window, as the reference picks it (strictly greater replaces).
// argmax is written even for inference (a scratch buffer then): one loop, no branch in it.
void max_pool_fast(const PoolDims& d, const float* x, float* y, int32_t* argmax) {
  const int64_t kh = d.win.kernel[0], kw = d.win.kernel[1], oh = d.g.out_h, ow = d.g.out_w;
  parallel_for(d.planes, [&](int64_t pl0, int64_t pl1) {
    for (int64_t pl = pl0; pl < pl1; ++pl)
      for (int64_t i = 0; i < oh; ++i) {
        const int64_t row = (pl * d.h + i * d.win.stride[0]) * d.w, o = (pl * oh + i) * ow;
        if (kh == 2 && kw == 2) {
          auto* f = d.win.stride[1] == 2 ? max_row_2x2<2> : max_row_2x2<0>;
          f(x + row, x + row + d.w, d.win.stride[1], ow, d.w, int32_t(row), y + o,
            argmax ? argmax + o : nullptr);
          continue;
        }
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t origin = (pl * d.h + i * d.win.stride[0]) * d.w + j * d.win.stride[1];
          float best = x[origin];
          int64_t best_at = origin;
          for (int64_t p = 0; p < kh; ++p)
            for (int64_t q = 0; q < kw; ++q) {
              const int64_t at = origin + p * d.w + q;
              if (x[at] > best) best = x[at], best_at = at;
            }
          y[o + j] = best;
          argmax[o + j] = int32_t(best_at);
        }
      }
  });
}

void max_unpool_fast(const PoolDims& d, const float* g, const int32_t* argmax, float* dx) {
  const int64_t plane_in = d.h * d.w, plane_out = d.g.out_h * d.g.out_w;
  parallel_for(d.planes, [&](int64_t pl0, int64_t pl1) {
    std::fill(dx + pl0 * plane_in, dx + pl1 * plane_in, 0.0f);
    for (int64_t o = pl0 * plane_out; o < pl1 * plane_out; ++o) dx[argmax[o]] += g[o];
  });
}

class Pool2d final : public Op {
 public:
  Pool2d(Window w, bool is_max) : win_(w), is_max_(is_max) {}
  std::string_view type() const override { return is_max_ ? "max_pool2d" : "avg_pool2d"; }
  Arity arity() const override { return {1, 1}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& x = in[0].shape;
    if (in[0].dtype != DType::Float32 || x.size() != 4)
      throw Error("expected float32 x as [N, C, H, W], found " + to_string(x));
    const Geometry g = geometry(x[2], x[3], win_);
    return {x[0], x[1], g.out_h, g.out_w};
  }

  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    if (!is_max_) return avg_pool_reference_forward(d, in[0]->data(), out.data());
    ws.indices.resize(out.size());
    if (no_padding_reached(d))
      max_pool_fast(d, in[0]->data(), out.data(), ws.indices.data());
    else
      max_pool_reference_forward(d, in[0]->data(), out.data(), ws.indices.data());
  }

  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    ensure_shape(*gx[0], shape_of(*in[0]));
    if (!is_max_) return avg_pool_reference_backward(d, gy.data(), gx[0]->data());
    if (ws.indices.size() != out.size())
      throw Error("backward needs a training forward of the same batch first");
    max_unpool_fast(d, gy.data(), ws.indices.data(), gx[0]->data());
  }

  json attrs() const override { return window_attrs(win_, true, false); }

 private:
  Window win_;
  bool is_max_;
};

std::unique_ptr<Op> make_pool(const json& a, bool is_max) {
  AttrReader reader(a);
  Window w;
  w.kernel = reader.required_pair("kernel", 1);
  w.stride = reader.pair("stride", w.kernel, 1);
  w.padding = reader.padding("padding");
  reader.finish();
  // A window made only of padding would have no cell to pool.
  if (w.padding.mode == Padding::Mode::Explicit &&
      (w.padding.pad[0] >= w.kernel[0] || w.padding.pad[1] >= w.kernel[1]))
    throw Error("attrs.padding: must be smaller than the kernel, found " + w.padding.to_json().dump());
  return std::make_unique<Pool2d>(w, is_max);
}

}  // namespace

void register_pool_ops(Registry& r) {
  r.add("max_pool2d", [](const json& a) { return make_pool(a, true); });
  r.add("avg_pool2d", [](const json& a) { return make_pool(a, false); });
}

}  // namespace xgrad
