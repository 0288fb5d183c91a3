// conv2d(x [N,C,H,W], w [O,C,KH,KW][, b [O]]) -> [N,O,OH,OW], cross-correlation:
// y[n,o,i,j] = b[o] + Σ_c,p,q x[n,c, i*sh - pt + p*dh, j*sw - pl + q*dw] * w[o,c,p,q]
// Per image: cols = im2col(x_n) [K=C*KH*KW, P=OH*OW]; y_n = w·cols; dw += g_n·colsᵀ; dx_n = col2im(wᵀ·g_n).
// conv_reference.cpp holds the direct loops this must match.
#include <cblas.h>

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/conv_direct.h"
#include "ops/conv_ovec.h"
#include "ops/gemm_nt.h"
#include "ops/im2col.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// Weight gradients are summed per fixed chunk of the batch, then over chunks in order, so they do
// not depend on the thread count.
int64_t reduce_chunks(int64_t n) { return std::min<int64_t>(n, 8); }

// Workspace tensors: what training keeps for the weight gradient (im2col matrices, or padded
// images for the direct kernels), per-chunk scratch, partial gradients, the direct kernels'
// per-chunk lane sums and per-chunk transposes, and transposed weights.
enum Slot { kKept, kCols, kPartialW, kPartialB, kLaneSums, kScratch, kWeightsT, kSlots };

// Three ways to compute a conv: a direct kernel for one input channel (conv_direct), a direct kernel
// vectorised over output channels (conv_ovec), im2col + sgemm for everything else.
enum class Path { Direct, Ovec, Im2col };
Path path_of(const ConvDims& d) {
  if (direct_conv_applies(d)) return Path::Direct;
  if (ovec_conv_applies(d)) return Path::Ovec;
  return Path::Im2col;
}

// Floats kept per image for backward.
int64_t kept_size(const ConvDims& d, Path path) {
  switch (path) {
    case Path::Direct:
      return padded_dims(d).size();
    case Path::Ovec:
      return ovec_padded_size(d);
    default:
      return d.patch() * d.positions();
  }
}

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

  // Training keeps every image's cols (or padded image) for backward; inference needs one buffer
  // per parallel chunk.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const override {
    const ConvDims d = conv_dims(*in[0], *in[1], win_);
    const Path path = path_of(d);
    const int64_t k = d.patch(), p = d.positions();
    ws.tensors.resize(kSlots);
    const int64_t chunks = std::min<int64_t>(d.n, 4 * num_threads());  // the pool's grains
    float* kept = sized(ws.tensors[training ? kKept : kCols], {training ? d.n : chunks, kept_size(d, path)});
    const float *x = in[0]->data(), *w = in[1]->data(), *b = in.size() == 3 ? in[2]->data() : nullptr;
    float* wt = path == Path::Ovec ? sized(ws.tensors[kWeightsT], {ovec_weights_size(d)}) : nullptr;
    if (wt) ovec_transpose_weights(d, w, wt);
    const int64_t scratch = path == Path::Ovec ? ovec_scratch_size(d) : 0;
    float* tmp = sized(ws.tensors[kScratch], {chunks, scratch});
    float* y = out.data();
    parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        float* t = tmp + c * scratch;
        for (int64_t n = c * d.n / chunks; n < (c + 1) * d.n / chunks; ++n) {
          float* buf = kept + (training ? n : c) * kept_size(d, path);
          const float* xn = x + n * d.c * d.h * d.w;
          float* yn = y + n * d.o * p;
          if (path == Path::Direct) {
            direct_pad(d, xn, buf);
            direct_forward(d, buf, w, b, yn);
          } else if (path == Path::Ovec) {
            ovec_pad(d, xn, buf);
            ovec_forward(d, buf, wt, b, t, yn);
          } else {
            im2col(d, xn, buf);
            for (int64_t o = 0; o < d.o; ++o) std::fill(yn + o * p, yn + (o + 1) * p, b ? b[o] : 0.0f);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(d.o), int(p), int(k), 1.0f, w, int(k),
                        buf, int(p), 1.0f, yn, int(p));
          }
        }
      }
    });
  }

  void backward(const Inputs& in, const Tensor&, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    BackwardJob j;
    j.d = conv_dims(*in[0], *in[1], win_);
    const ConvDims& d = j.d;
    j.path = path_of(d);
    j.chunks = reduce_chunks(d.n);
    if (ws.tensors.size() != kSlots || shape_of(ws.tensors[kKept]) != Shape{d.n, kept_size(d, j.path)})
      throw Error("backward needs a training forward of the same batch first");
    j.kept = ws.tensors[kKept].data();
    j.w = in[1]->data(), j.g = gy.data();
    j.sums_size = j.path == Path::Direct ? direct_acc_size(d)
                  : j.path == Path::Ovec ? ovec_weights_size(d)
                                         : 0;
    j.sums = sized(ws.tensors[kLaneSums], {j.chunks, j.sums_size});
    j.scratch = j.path == Path::Ovec ? ovec_scratch_size(d) : 0;
    j.tmp = sized(ws.tensors[kScratch], {j.chunks, j.scratch});
    j.dx = gx[0] ? sized(*gx[0], shape_of(*in[0])) : nullptr;
    j.dx_scratch = j.path == Path::Ovec ? ovec_input_grad_scratch_size(d) : d.patch() * d.positions();
    j.dcols = j.dx ? sized(ws.tensors[kCols], {j.chunks, j.dx_scratch}) : nullptr;
    j.pw = gx[1] ? sized(ws.tensors[kPartialW], {j.chunks, d.o, d.patch()}) : nullptr;
    j.pb = gx.size() == 3 && gx[2] ? sized(ws.tensors[kPartialB], {j.chunks, d.o}) : nullptr;
    parallel_for(j.chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) backward_chunk(j, c);
    });
    if (j.pw) reduce(j.pw, j.chunks, d.o * d.patch(), sized(*gx[1], shape_of(*in[1])));
    if (j.pb) reduce(j.pb, j.chunks, d.o, sized(*gx[2], shape_of(*in[2])));
  }

  json attrs() const override { return window_attrs(win_, false, true); }

 private:
  // Everything a chunk of the batch needs in backward; null outputs are not wanted.
  struct BackwardJob {
    ConvDims d;
    Path path;
    int64_t chunks, sums_size, scratch, dx_scratch;  // per-chunk sizes
    const float *kept, *w, *g;
    float *sums, *tmp, *dx, *dcols, *pw, *pb;
  };

  // The partial weight and bias gradients of chunk c, and dx of its images.
  static void backward_chunk(const BackwardJob& j, int64_t c) {
    const ConvDims& d = j.d;
    const int64_t k = d.patch(), p = d.positions(), kept = kept_size(d, j.path);
    float *pw = j.pw ? j.pw + c * d.o * k : nullptr, *pb = j.pb ? j.pb + c * d.o : nullptr;
    float* s = j.sums + c * j.sums_size;
    if (pw) std::fill(pw, pw + d.o * k, 0.0f);
    if (pb) std::fill(pb, pb + d.o, 0.0f);
    std::fill(s, s + j.sums_size, 0.0f);
    const int64_t n0 = c * d.n / j.chunks, n1 = (c + 1) * d.n / j.chunks;
    if (pw && j.path == Path::Direct)
      direct_weight_grad(d, n1 - n0, j.kept + n0 * kept, j.g + n0 * d.o * p, s, pw);
    for (int64_t n = n0; n < n1; ++n) {
      const float *gn = j.g + n * d.o * p, *kn = j.kept + n * kept;
      if (pw && j.path == Path::Ovec) ovec_weight_grad(d, kn, gn, j.tmp + c * j.scratch, s);
      if (pw && j.path == Path::Im2col) weight_grad(d.o, k, p, gn, kn, pw);
      if (pb)
        for (int64_t o = 0; o < d.o; ++o) pb[o] += sum_lanes(gn + o * p, p);
      if (j.dx) input_grad(j, gn, j.dcols + c * j.dx_scratch, j.dx + n * d.c * d.h * d.w);
    }
    if (pw && j.path == Path::Ovec) ovec_weight_grad_finish(d, s, pw);
  }

  // dx of one image from its output gradient gn.
  static void input_grad(const BackwardJob& j, const float* gn, float* scratch, float* dx) {
    const ConvDims& d = j.d;
    const int64_t k = d.patch(), p = d.positions();
    if (j.path == Path::Ovec) return ovec_input_grad(d, gn, j.w, scratch, dx);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), int(p), int(d.o), 1.0f, j.w, int(k), gn,
                int(p), 0.0f, scratch, int(p));
    col2im(d, scratch, dx);
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
