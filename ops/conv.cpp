// conv2d(x [N,C,H,W], w [O,C/groups,KH,KW][, b [O]]) -> [N,O,OH,OW], cross-correlation per group:
// y[n,o,i,j] = b[o] + Σ_c∈group(o),p,q x[n,c, i*sh - pt + p*dh, j*sw - pl + q*dw] * w[o,c',p,q]
// With an activation ("relu", "sigmoid", "tanh") the op is f(conv2d(...)) in one node: f runs on each
// image's output while it is still in cache, and backward multiplies the output gradient by f'
// image by image (graph/fold.h makes such nodes for training and inference).
// The arithmetic is in the kernel table (ops/conv_kernels.h); this file splits the batch over the
// thread pool, loops over groups, owns the buffers and sums the weight gradients in a fixed order.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/activation.h"
#include "ops/conv_kernels.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// Weight gradients are summed per fixed chunk of the batch (weight_grad_chunks), then over chunks in
// order, so they do not depend on the thread count. A kernel whose weight_grad_finish is costly
// (finish_once: the Winograd lanes' Gᵀ dU G, a GEMM over every channel pair) has its sums added over
// chunks first and finished once: per chunk, it took 1.6 ms of alexnet-cifar's 5x5 layer per batch of
// 64. Where the chunks' sums would be large, one product over the batch replaces them
// (weight_grad_over_batch).
int64_t forward_chunks(int64_t n) { return std::min<int64_t>(n, 4 * num_threads()); }  // the pool's grains
// Scratch is per worker (worker_index), not per chunk: at one thread a step's chunks reuse one
// buffer that stays in cache (alexnet-cifar's 5x5 layer: 15.3 -> 13.4 ms per 64 images). Forward and
// backward share it at one shape, so training does not reallocate it (and fault its pages in again)
// at every step.
int64_t workers() { return num_threads(); }

// Workspace tensors: what training keeps for the weight gradient, per-worker scratch, partial
// gradients, the kernels' per-chunk sums, per-worker input-gradient scratch, weights prepared for
// forward and for dx (each keeps its size from step to step), with an activation one image's output
// gradient through f' per worker, and the kernel and weights that forward's prepared weights came from.
enum Slot {
  kKept,
  kCols,
  kPartialW,
  kPartialB,
  kAcc,
  kScratch,
  kPrepared,
  kPreparedDx,
  kMasked,
  kPreparedFrom,
  kBatch,
  kSlots
};

float* sized(Tensor& t, const Shape& s) {
  ensure_shape(t, s);
  return t.data();
}

// Whether kPrepared already holds kernel k's preparation of weights w [size] (remembering them if
// not): inference runs the same weights call after call, and comparing them costs far less than
// preparing them again (a Winograd transform is a GEMM over every channel pair). Compared bit for bit.
bool prepared_from(Workspace& ws, const ConvKernel& k, const float* w, int64_t size) {
  Tensor& from = ws.tensors[kPreparedFrom];
  const float kernel = float(&k - conv_kernels().data());
  const size_t bytes = size_t(size) * sizeof(float);
  if (from.size() == size_t(size) + 1 && from.data()[0] == kernel &&
      std::memcmp(from.data() + 1, w, bytes) == 0)
    return true;
  ensure_shape(from, {size + 1});
  from.data()[0] = kernel;
  std::memcpy(from.data() + 1, w, bytes);
  return false;
}

// Offsets of group k's slice in each [.., per-group, ..] layout.
struct GroupStrides {
  int64_t x, y, w, o;  // floats of one group's input planes, output planes, weights; its outputs
  explicit GroupStrides(const ConvDims& gd)
      : x(gd.c * gd.h * gd.w), y(gd.o * gd.positions()), w(gd.o * gd.patch()), o(gd.o) {}
};

class Conv2d final : public Op {
 public:
  Conv2d(Window w, int64_t groups, Activation act) : win_(w), groups_(groups), act_(act) {}
  std::string_view type() const override { return "conv2d"; }
  Arity arity() const override { return {2, 3}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    for (const auto& v : in)
      if (v.dtype != DType::Float32) throw Error("expected float32 inputs");
    const Shape &x = in[0].shape, &w = in[1].shape;
    if (x.size() != 4) throw Error("expected x as [N, C, H, W], found " + to_string(x));
    if (w.size() != 4) throw Error("expected w as [O, C/groups, KH, KW], found " + to_string(w));
    if (x[1] % groups_ || w[0] % groups_)
      throw Error("groups " + std::to_string(groups_) + " must divide the input channels (" +
                  std::to_string(x[1]) + ") and the output channels (" + std::to_string(w[0]) + ")");
    if (w[1] * groups_ != x[1])
      throw Error("w has " + std::to_string(w[1]) + " input channels" + (groups_ > 1 ? " per group" : "") +
                  ", x has " + std::to_string(x[1]) +
                  (groups_ > 1 ? " in " + std::to_string(groups_) + " groups" : ""));
    if (in.size() == 3 && in[2].shape != Shape{w[0]})
      throw Error("bias must have shape " + to_string({w[0]}) + ", found " + to_string(in[2].shape));
    Window win = win_;
    win.kernel = {w[2], w[3]};
    const Geometry g = geometry(x[2], x[3], win);
    return {x[0], w[0], g.out_h, g.out_w};
  }

  std::string kernel_name(const std::vector<ValueInfo>& in) const override {
    return choose_conv_kernel(conv_dims(in[0].shape, in[1].shape, win_, groups_)).name;
  }

  // Training keeps every image's buffer for backward; inference one call's per parallel chunk.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const override {
    const ConvDims d = conv_dims(*in[0], *in[1], win_, groups_);
    const ConvKernel& k = choose_conv_kernel(d);
    ConvDims kd = kernel_dims(k, d);
    const int64_t calls = kernel_calls(k, d);
    const ConvSizes s = k.sizes(kd);
    const GroupStrides gs(kd);
    if (k.own_activation) {
      kd.act = act_;
      kd.stream_output = d.n * calls * gs.y * int64_t(sizeof(float)) > stream_output_bytes();
    }
    ws.tensors.resize(kSlots);
    const int64_t chunks = forward_chunks(d.n), per_call = kernel_images_per_call(k, kd, calls);
    float* kept =
        sized(ws.tensors[training ? kKept : kCols], {training ? d.n : workers() * per_call, calls * s.kept});
    const float *x = in[0]->data(), *w = in[1]->data(), *b = in.size() == 3 ? in[2]->data() : nullptr;
    const float* wp = w;
    if (k.prepare) {
      float* prepared = sized(ws.tensors[kPrepared], {calls, s.prepared});
      if (!prepared_from(ws, k, w, calls * gs.w))
        for (int64_t g = 0; g < calls; ++g) k.prepare(kd, w + g * gs.w, prepared + g * s.prepared);
      wp = prepared;
    }
    const int64_t wp_stride = k.prepare ? s.prepared : gs.w;
    float* scratch = sized(ws.tensors[kScratch], {workers(), s.scratch});
    float* y = out.data();
    parallel_for(chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t end = (c + 1) * d.n / chunks;
        for (int64_t n = c * d.n / chunks; n < end; n += per_call) {
          ConvDims cd = kd;
          cd.n = std::min(per_call, end - n);
          float* kn = kept + (training ? n : worker_index() * per_call) * calls * s.kept;
          const float* xn = x + n * calls * gs.x;
          float* yn = y + n * calls * gs.y;
          for (int64_t g = 0; g < calls; ++g)
            k.forward(cd, xn + g * gs.x, wp + g * wp_stride, b ? b + g * gs.o : nullptr, kn + g * s.kept,
                      scratch + worker_index() * s.scratch, yn + g * gs.y);
          if (!k.own_activation) activate(act_, yn, cd.n * calls * gs.y);
        }
      }
    });
  }

  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    const ConvDims d = conv_dims(*in[0], *in[1], win_, groups_);
    const ConvKernel& k = choose_conv_kernel(d);
    BackwardJob j{d, k};
    j.s = k.sizes(j.kd);
    j.per_call = kernel_images_per_call(k, j.kd, j.calls);
    j.chunks = weight_grad_chunks(d.n, j.per_call);
    if (ws.tensors.size() != kSlots || shape_of(ws.tensors[kKept]) != Shape{d.n, j.calls * j.s.kept})
      throw Error("backward needs a training forward of the same batch first");
    j.kept = ws.tensors[kKept].data();
    j.x = in[0]->data(), j.w = in[1]->data(), j.g = gy.data();
    j.act = act_;
    j.y = out.data();
    j.want_dw = gx[1] != nullptr;
    j.masked = act_ != Activation::None
                   ? sized(ws.tensors[kMasked], {workers(), j.per_call * d.o * d.positions()})
                   : nullptr;
    // Over the whole batch (weight_grad_over_batch), one acc and no sums over chunks.
    j.batch = j.want_dw && weight_grad_over_batch(k, j.kd, j.calls)
                  ? sized(ws.tensors[kBatch], {k.batch_size(j.kd)})
                  : nullptr;
    j.acc_chunks = j.batch ? 1 : j.chunks;
    j.acc = sized(ws.tensors[kAcc], {j.acc_chunks, j.calls * j.s.acc});
    j.scratch = sized(ws.tensors[kScratch], {workers(), j.s.scratch});
    j.dx = gx[0] ? sized(*gx[0], shape_of(*in[0])) : nullptr;
    j.dx_scratch = j.dx ? sized(ws.tensors[kCols], {workers(), j.s.dx_scratch}) : nullptr;
    j.pw = gx[1] && !k.finish_once ? sized(ws.tensors[kPartialW], {j.chunks, d.o * j.kd.patch()}) : nullptr;
    j.pb = gx.size() == 3 && gx[2] ? sized(ws.tensors[kPartialB], {j.chunks, d.o}) : nullptr;
    j.wp = j.w, j.wp_stride = j.gs.w;
    const bool for_dx = k.prepare_dx && j.s.prepared_dx > 0;
    if (j.dx && (for_dx || k.prepare)) {
      const auto prepare = for_dx ? k.prepare_dx : k.prepare;
      j.wp_stride = for_dx ? j.s.prepared_dx : j.s.prepared;
      float* prepared = sized(ws.tensors[for_dx ? kPreparedDx : kPrepared], {j.calls, j.wp_stride});
      for (int64_t g = 0; g < j.calls; ++g) prepare(j.kd, j.w + g * j.gs.w, prepared + g * j.wp_stride);
      j.wp = prepared;
    }
    parallel_for(j.chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) backward_chunk(j, c);
    });
    if (j.batch) k.batch_weight_grad(j.kd, j.batch, j.acc);
    if (j.pw) reduce(j.pw, j.chunks, d.o * j.kd.patch(), sized(*gx[1], shape_of(*in[1])));
    if (j.want_dw && k.finish_once) finish_once(j, sized(*gx[1], shape_of(*in[1])));
    if (j.pb) reduce(j.pb, j.chunks, d.o, sized(*gx[2], shape_of(*in[2])));
  }

  json attrs() const override {
    json a = window_attrs(win_, false, true);
    a["groups"] = groups_;
    if (act_ != Activation::None)  // written only when fused, so other files read as before
      a["activation"] = activation_name(act_);
    return a;
  }

 private:
  // Everything a chunk of the batch needs in backward; null outputs are not wanted.
  struct BackwardJob {
    BackwardJob(const ConvDims& dims, const ConvKernel& kernel)
        : d(dims), kd(kernel_dims(kernel, dims)), gs(kd), k(&kernel), calls(kernel_calls(kernel, dims)) {}
    ConvDims d, kd;  // the conv's dims and those of one kernel call
    GroupStrides gs;
    const ConvKernel* k;
    int64_t calls;  // kernel calls per image
    ConvSizes s;
    int64_t chunks = 0, wp_stride = 0, per_call = 1;  // per_call: images per kernel call
    const float *kept = nullptr, *x = nullptr, *w = nullptr, *wp = nullptr, *g = nullptr, *y = nullptr;
    Activation act = Activation::None;
    float *masked = nullptr, *acc = nullptr, *scratch = nullptr, *dx = nullptr, *dx_scratch = nullptr,
          *pw = nullptr, *pb = nullptr, *batch = nullptr;
    int64_t acc_chunks = 0;  // 1 where the weight gradient is over the batch, else chunks
    bool want_dw = false;    // pw is null when the kernel finishes once, after all chunks
  };

  // The partial weight and bias gradients of chunk c, and dx of its images.
  static void backward_chunk(const BackwardJob& j, int64_t c) {
    const ConvDims &d = j.d, &kd = j.kd;
    const GroupStrides& gs = j.gs;
    const int64_t p = d.positions(), calls = j.calls, worker = worker_index();
    float *scratch = j.scratch + worker * j.s.scratch,
          *dx_scratch = j.dx ? j.dx_scratch + worker * j.s.dx_scratch : nullptr;
    float *pw = j.pw ? j.pw + c * d.o * kd.patch() : nullptr, *pb = j.pb ? j.pb + c * d.o : nullptr;
    float* acc = j.batch ? j.acc : j.acc + c * calls * j.s.acc;  // over the batch: not written here
    if (pw) std::fill(pw, pw + d.o * kd.patch(), 0.0f);
    if (pb) std::fill(pb, pb + d.o, 0.0f);
    if (j.want_dw && !j.batch && !j.k->fresh_acc) std::fill(acc, acc + calls * j.s.acc, 0.0f);
    const int64_t begin = c * d.n / j.chunks, end = (c + 1) * d.n / j.chunks;
    for (int64_t n = begin; n < end; n += j.per_call) {
      ConvDims cd = kd;
      cd.n = std::min(j.per_call, end - n);
      cd.acc_fresh = n == begin;
      cd.batch = j.batch, cd.batch_first = n, cd.batch_images = d.n;
      const float *gn = j.g + n * d.o * p, *xn = j.x + n * calls * gs.x, *kn = j.kept + n * calls * j.s.kept;
      if (j.masked) {  // the gradient before the activation
        float* masked = j.masked + worker * j.per_call * d.o * p;
        activation_gradient(j.act, gn, j.y + n * d.o * p, masked, cd.n * d.o * p);
        gn = masked;
      }
      for (int64_t g = 0; g < calls; ++g) {
        if (j.want_dw && j.dx && j.k->both_grads) {
          j.k->both_grads(cd, xn + g * gs.x, kn + g * j.s.kept, gn + g * gs.y, j.wp + g * j.wp_stride,
                          scratch, dx_scratch, acc + g * j.s.acc, j.dx + n * calls * gs.x + g * gs.x);
          continue;
        }
        if (j.want_dw)
          j.k->weight_grad(cd, xn + g * gs.x, kn + g * j.s.kept, gn + g * gs.y, scratch, acc + g * j.s.acc);
        if (j.dx)
          j.k->input_grad(cd, gn + g * gs.y, j.w + g * gs.w, j.wp + g * j.wp_stride, dx_scratch,
                          j.dx + n * calls * gs.x + g * gs.x);
      }
      if (pb)
        for (int64_t i = 0; i < cd.n; ++i)
          for (int64_t o = 0; o < d.o; ++o) pb[o] += sum_lanes(gn + (i * d.o + o) * p, p);
    }
    if (pw)
      for (int64_t g = 0; g < calls; ++g) j.k->weight_grad_finish(kd, acc + g * j.s.acc, pw + g * gs.w);
  }

  // dw = the finish of the chunks' sums added in chunk order (split over the pool by element).
  static void finish_once(const BackwardJob& j, float* dw) {
    const int64_t size = j.calls * j.s.acc, blocks = std::min<int64_t>(size, 64);
    parallel_for(blocks, [&](int64_t b0, int64_t b1) {
      for (int64_t c = 1; c < j.acc_chunks; ++c)
        for (int64_t i = b0 * size / blocks; i < b1 * size / blocks; ++i) j.acc[i] += j.acc[c * size + i];
    });
    std::fill(dw, dw + j.d.o * j.kd.patch(), 0.0f);
    for (int64_t g = 0; g < j.calls; ++g) j.k->weight_grad_finish(j.kd, j.acc + g * j.s.acc, dw + g * j.gs.w);
  }

  // out = Σ_c parts[c], in chunk order.
  static void reduce(const float* parts, int64_t chunks, int64_t size, float* out) {
    std::fill(out, out + size, 0.0f);
    for (int64_t i = 0; chunks > 0 && i < size; ++i) out[i] = parts[i];
    for (int64_t c = 1; c < chunks; ++c)
      for (int64_t i = 0; i < size; ++i) out[i] += parts[c * size + i];
  }
  Window win_;
  int64_t groups_;
  Activation act_;
};

}  // namespace

void register_conv_ops(Registry& r) {
  r.add("conv2d", [](const json& a) {
    AttrReader reader(a);
    Window w;
    w.stride = reader.pair("stride", {1, 1}, 1);
    w.padding = reader.padding("padding");
    w.dilation = reader.pair("dilation", {1, 1}, 1);
    const int64_t groups = reader.integer("groups", 1, 1, int64_t(1) << 31);
    const Activation act =
        activation_named(reader.choice("activation", "none", {"none", "relu", "sigmoid", "tanh"}));
    reader.finish();
    return std::make_unique<Conv2d>(w, groups, act);
  });
}

}  // namespace xgrad
