// conv2d(x [N,C,H,W], w [O,C,KH,KW][, b [O]]) -> [N,O,OH,OW], cross-correlation:
// y[n,o,i,j] = b[o] + Σ_c,p,q x[n,c, i*sh - pt + p*dh, j*sw - pl + q*dw] * w[o,c,p,q]
#include "core/error.h"
#include "ops/registry.h"
#include "ops/window.h"

namespace xgrad {
namespace {

class Conv2d final : public Op {
 public:
  explicit Conv2d(Window w) : win_(w) {}
  std::string_view type() const override { return "conv2d"; }
  Arity arity() const override { return {2, 3}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    for (const auto& v : in)
      if (v.dtype != DType::Float32) throw Error("expected float32 inputs");
    const Shape &x = in[0].shape, &w = in[1].shape;
    if (x.size() != 4) throw Error("expected x as [N, C, H, W], found " + to_string(x));
    if (w.size() != 4) throw Error("expected w as [O, C, KH, KW], found " + to_string(w));
    if (w[1] != x[1])
      throw Error("w has " + std::to_string(w[1]) + " input channels, x has " + std::to_string(x[1]));
    if (in.size() == 3 && in[2].shape != Shape{w[0]})
      throw Error("bias must have shape " + to_string({w[0]}) + ", found " + to_string(in[2].shape));
    Window win = win_;
    win.kernel = {w[2], w[3]};
    const Geometry g = geometry(x[2], x[3], win);
    return {x[0], w[0], g.out_h, g.out_w};
  }

  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const Dims d = dims(in);
    const float *x = in[0]->data(), *w = in[1]->data();
    float* y = out.data();
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t o = 0; o < d.o; ++o)
        for (int64_t i = 0; i < d.g.out_h; ++i)
          for (int64_t j = 0; j < d.g.out_w; ++j) {
            double acc = in.size() == 3 ? in[2]->data()[o] : 0.0f;
            each_tap(d, i, j, [&](int64_t c, int64_t p, int64_t q, int64_t r, int64_t s) {
              acc +=
                  double(x[((n * d.c + c) * d.h + r) * d.w + s]) * w[((o * d.c + c) * d.kh + p) * d.kw + q];
            });
            y[((n * d.o + o) * d.g.out_h + i) * d.g.out_w + j] = float(acc);
          }
  }

  // dx[n,c,r,s] += g[n,o,i,j] * w[o,c,p,q]; dw[o,c,p,q] += g * x[n,c,r,s]; db[o] = Σ g[n,o,:,:]
  void backward(const Inputs& in, const Tensor&, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    const Dims d = dims(in);
    const float *x = in[0]->data(), *w = in[1]->data(), *g = gy.data();
    float* dx = prepare(gx[0], *in[0]);
    float* dw = prepare(gx[1], *in[1]);
    float* db = gx.size() == 3 ? prepare(gx[2], *in[2]) : nullptr;
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t o = 0; o < d.o; ++o)
        for (int64_t i = 0; i < d.g.out_h; ++i)
          for (int64_t j = 0; j < d.g.out_w; ++j) {
            const float go = g[((n * d.o + o) * d.g.out_h + i) * d.g.out_w + j];
            if (db) db[o] += go;
            each_tap(d, i, j, [&](int64_t c, int64_t p, int64_t q, int64_t r, int64_t s) {
              const int64_t xi = ((n * d.c + c) * d.h + r) * d.w + s;
              const int64_t wi = ((o * d.c + c) * d.kh + p) * d.kw + q;
              if (dx) dx[xi] += go * w[wi];
              if (dw) dw[wi] += go * x[xi];
            });
          }
  }

  json attrs() const override { return window_attrs(win_, false, true); }

 private:
  struct Dims {
    int64_t n, c, h, w, o, kh, kw;
    Geometry g;
  };
  Dims dims(const Inputs& in) const {
    const auto& xs = in[0]->shape();
    const auto& ws = in[1]->shape();
    Window win = win_;
    win.kernel = {int64_t(ws[2]), int64_t(ws[3])};
    return {int64_t(xs[0]), int64_t(xs[1]), int64_t(xs[2]), int64_t(xs[3]),
            int64_t(ws[0]), int64_t(ws[2]), int64_t(ws[3]), geometry(int64_t(xs[2]), int64_t(xs[3]), win)};
  }
  // Calls f(c, p, q, r, s) for every kernel tap of output (i, j) that lands inside the input.
  template <class F>
  void each_tap(const Dims& d, int64_t i, int64_t j, F&& f) const {
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.kh; ++p) {
        const int64_t r = i * win_.stride[0] - d.g.pad_top + p * win_.dilation[0];
        if (r < 0 || r >= d.h) continue;
        for (int64_t q = 0; q < d.kw; ++q) {
          const int64_t s = j * win_.stride[1] - d.g.pad_left + q * win_.dilation[1];
          if (s >= 0 && s < d.w) f(c, p, q, r, s);
        }
      }
  }
  static float* prepare(Tensor* t, const Tensor& like) {
    if (!t) return nullptr;
    ensure_shape(*t, shape_of(like));
    t->fill(0.0f);
    return t->data();
  }
  Window win_;
};

}  // namespace

void register_conv_ops(Registry& r) {
  r.add("conv2d", [](const json& a) {
    AttrReader reader(a);
    Window w;
    w.stride = reader.pair("stride", {1, 1}, 1);
    w.padding = reader.padding("padding");
    w.dilation = reader.pair("dilation", {1, 1}, 1);
    reader.finish();
    return std::make_unique<Conv2d>(w);
  });
}

}  // namespace xgrad
