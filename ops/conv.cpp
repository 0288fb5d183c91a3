// conv2d(x [N,C,H,W], w [O,C,KH,KW][, b [O]]) -> [N,O,OH,OW], cross-correlation:
// y[n,o,i,j] = b[o] + Σ_c,p,q x[n,c, i*sh - pt + p*dh, j*sw - pl + q*dw] * w[o,c,p,q]
// Per image: cols = im2col(x_n) [K=C*KH*KW, P=OH*OW]; y_n = w·cols; dw += g_n·colsᵀ; dx_n = col2im(wᵀ·g_n).
// conv_reference.cpp holds the direct loops this must match.
#include <cblas.h>

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/conv_direct.h"
#include "ops/gemm_nt.h"
#include "ops/im2col.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// Weight gradients are summed per fixed chunk of the batch, then over chunks in order, so they do
// not depend on the thread count.
int64_t reduce_chunks(int64_t n) { return std::min<int64_t>(n, 8); }

// Workspace tensors: the im2col matrices (or, for the direct kernel, the padded images) kept for
// backward, per-chunk scratch, partial gradients, the direct kernel's per-chunk lane sums.
enum Slot { kKept, kCols, kPartialW, kPartialB, kLaneSums, kSlots };

float* sized(Tensor& t, const Shape& s) {
  ensure_shape(t, s);
  return t.data();
}

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

  // Training keeps every image's cols for backward; inference needs one per parallel chunk.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const override {
    const ConvDims d = conv_dims(*in[0], *in[1], win_);
    const int64_t k = d.patch(), p = d.positions();
    ws.tensors.resize(kSlots);
    const int64_t chunks = training ? d.n : std::min<int64_t>(d.n, num_threads());
    if (direct_conv_applies(d))
      return forward_direct(d, in, out, ws.tensors[training ? kKept : kCols], chunks);
    float* cols = sized(ws.tensors[training ? kKept : kCols], {chunks, k, p});
    const float *x = in[0]->data(), *w = in[1]->data(), *b = in.size() == 3 ? in[2]->data() : nullptr;
    float* y = out.data();
    parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        float* col = cols + c * k * p;
        for (int64_t n = c * d.n / chunks; n < (c + 1) * d.n / chunks; ++n) {
          im2col(d, x + n * d.c * d.h * d.w, col);
          float* yn = y + n * d.o * p;
          for (int64_t o = 0; o < d.o; ++o) std::fill(yn + o * p, yn + (o + 1) * p, b ? b[o] : 0.0f);
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(d.o), int(p), int(k), 1.0f, w, int(k),
                      col, int(p), 1.0f, yn, int(p));
        }
      }
    });
  }

  void backward(const Inputs& in, const Tensor&, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    const ConvDims d = conv_dims(*in[0], *in[1], win_);
    const int64_t k = d.patch(), p = d.positions(), chunks = reduce_chunks(d.n);
    const bool direct = direct_conv_applies(d);
    const Shape kept = direct ? Shape{d.n, padded_dims(d).rows, padded_dims(d).cols} : Shape{d.n, k, p};
    if (ws.tensors.size() != kSlots || shape_of(ws.tensors[kKept]) != kept)
      throw Error("backward needs a training forward of the same batch first");
    const float* cols = ws.tensors[kKept].data();
    float* sums = direct ? sized(ws.tensors[kLaneSums], {chunks, direct_acc_size(d)}) : nullptr;
    float* dx = gx[0] ? sized(*gx[0], shape_of(*in[0])) : nullptr;
    float* dcols = dx ? sized(ws.tensors[kCols], {chunks, k, p}) : nullptr;
    float* pw = gx[1] ? sized(ws.tensors[kPartialW], {chunks, d.o, k}) : nullptr;
    const bool want_b = gx.size() == 3 && gx[2];
    float* pb = want_b ? sized(ws.tensors[kPartialB], {chunks, d.o}) : nullptr;
    const float *w = in[1]->data(), *g = gy.data();
    parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        if (pw) std::fill(pw + c * d.o * k, pw + (c + 1) * d.o * k, 0.0f);
        if (pb) std::fill(pb + c * d.o, pb + (c + 1) * d.o, 0.0f);
        const int64_t n0 = c * d.n / chunks, n1 = (c + 1) * d.n / chunks;
        if (pw && direct)
          direct_weight_grad(d, n1 - n0, cols + n0 * padded_dims(d).size(), g + n0 * d.o * p,
                             sums + c * direct_acc_size(d), pw + c * d.o * k);
        for (int64_t n = n0; n < n1; ++n) {
          const float *gn = g + n * d.o * p, *col = cols + n * k * p;
          if (pw && !direct) weight_grad(d.o, k, p, gn, col, pw + c * d.o * k);
          if (pb)
            for (int64_t o = 0; o < d.o; ++o) pb[c * d.o + o] += sum_lanes(gn + o * p, p);
          if (dx) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), int(p), int(d.o), 1.0f, w, int(k),
                        gn, int(p), 0.0f, dcols + c * k * p, int(p));
            col2im(d, dcols + c * k * p, dx + n * d.c * d.h * d.w);
          }
        }
      }
    });
    if (pw) reduce(pw, chunks, d.o * k, sized(*gx[1], shape_of(*in[1])));
    if (pb) reduce(pb, chunks, d.o, sized(*gx[2], shape_of(*in[2])));
  }

  json attrs() const override { return window_attrs(win_, false, true); }

 private:
  // Direct kernel: each image padded into `padded` (kept for backward in training, else one buffer
  // per chunk), then convolved.
  static void forward_direct(const ConvDims& d, const Inputs& in, Tensor& out, Tensor& padded,
                             int64_t chunks) {
    const PaddedDims pd = padded_dims(d);
    float* xp = sized(padded, {chunks, pd.rows, pd.cols});
    const float *x = in[0]->data(), *w = in[1]->data(), *b = in.size() == 3 ? in[2]->data() : nullptr;
    float* y = out.data();
    parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t n = c * d.n / chunks; n < (c + 1) * d.n / chunks; ++n) {
          direct_pad(d, x + n * d.h * d.w, xp + c * pd.size());
          direct_forward(d, xp + c * pd.size(), w, b, y + n * d.o * d.positions());
        }
    });
  }
  // dw [O, K] += g_n [O, P] · cols_nᵀ: long thin dots go to gemm_nt, the rest to sgemm.
  static void weight_grad(int64_t o, int64_t k, int64_t p, const float* g, const float* cols, float* dw) {
    if (p >= 256 && o * k <= 4096)
      gemm_nt_accumulate(o, k, p, g, p, cols, p, dw, k);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(o), int(k), int(p), 1.0f, g, int(p), cols,
                  int(p), 1.0f, dw, int(k));
  }
  // out = Σ_c parts[c], in chunk order.
  static void reduce(const float* parts, int64_t chunks, int64_t size, float* out) {
    std::fill(out, out + size, 0.0f);
    for (int64_t i = 0; chunks > 0 && i < size; ++i) out[i] = parts[i];
    for (int64_t c = 1; c < chunks; ++c)
      for (int64_t i = 0; i < size; ++i) out[i] += parts[c * size + i];
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
