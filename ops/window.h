#pragma once
// Geometry of a sliding 2-D window (conv and pool): output size and the padding before each
// spatial dim, with Keras' "valid"/"same" (same pads the extra cell after, like TensorFlow).
#include <algorithm>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/tensor.h"
#include "ops/activation.h"
#include "ops/attrs.h"

namespace xgrad {

struct Window {
  Pair kernel{1, 1}, stride{1, 1}, dilation{1, 1};
  Padding padding;
};

struct Geometry {
  int64_t out_h, out_w;
  int64_t pad_top, pad_left;
};

inline int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t d, const Padding& p, int axis,
                          int64_t& pad_begin) {
  // Importers (ONNX) can bring geometry the attribute reader never checked: refuse it here, once.
  if (k < 1 || s < 1 || d < 1)
    throw Error("window: kernel, stride and dilation must be at least 1 (got " + std::to_string(k) + ", " +
                std::to_string(s) + ", " + std::to_string(d) + ")");
  const int64_t span = (k - 1) * d + 1;
  if (p.mode == Padding::Mode::Same) {
    const int64_t out = (in + s - 1) / s;
    const int64_t total = std::max<int64_t>((out - 1) * s + span - in, 0);
    pad_begin = total / 2;
    return out;
  }
  const int64_t pad = p.mode == Padding::Mode::Valid ? 0 : p.pad[size_t(axis)];
  pad_begin = pad;
  if (in + 2 * pad < span)
    throw Error("window of " + std::to_string(span) + " is larger than the padded input " +
                std::to_string(in + 2 * pad) + (axis == 0 ? " (height)" : " (width)"));
  return (in + 2 * pad - span) / s + 1;
}

// For a batch-symbolic shape the spatial dims are always known; h and w come from NCHW.
inline Geometry geometry(int64_t h, int64_t w, const Window& win) {
  Geometry g{};
  g.out_h = window_out(h, win.kernel[0], win.stride[0], win.dilation[0], win.padding, 0, g.pad_top);
  g.out_w = window_out(w, win.kernel[1], win.stride[1], win.dilation[1], win.padding, 1, g.pad_left);
  return g;
}

// Every size of a conv2d: x [n,c,h,w], w [o,c/groups,kh,kw], y [n,o,g.out_h,g.out_w]. Group k
// maps input channels [k*c/groups, (k+1)*c/groups) to outputs [k*o/groups, (k+1)*o/groups).
struct ConvDims {
  int64_t n, c, h, w, o, kh, kw;
  Pair stride, dilation;
  Geometry g;
  int64_t groups = 1;
  // weight_grad and both_grads: acc holds no sums yet. A kernel that sets ConvKernel::fresh_acc then
  // writes it instead of adding to it; conv.cpp zeroes it for the others.
  bool acc_fresh = false;
  // forward, for kernels with ConvKernel::own_activation only (conv.cpp sets both): the activation
  // the kernel applies to y itself, and whether y may go out with non-temporal stores (the batch's
  // output is larger than a core's L2, so it reaches memory before anything reads it again; such
  // stores skip reading each line into the cache first). See ops/KERNELS.md, session 20.
  Activation act = Activation::None;
  bool stream_output = false;
  // weight_grad and both_grads of a kernel with ConvKernel::batch_weight_grad, where conv.cpp sets
  // `batch` (weight_grad_over_batch): store what images [batch_first, batch_first + n) of the
  // batch_images add to the weight gradient in `batch`, and leave acc alone.
  float* batch = nullptr;
  int64_t batch_first = 0, batch_images = 0;
  int64_t patch() const { return c / groups * kh * kw; }   // rows of a group's im2col matrix
  int64_t positions() const { return g.out_h * g.out_w; }  // its columns
};

inline ConvDims conv_dims(const Shape& x, const Shape& w, Window win, int64_t groups = 1) {
  win.kernel = {w[2], w[3]};
  return {x[0],  x[1], x[2], x[3], w[0], w[2], w[3], win.stride, win.dilation, geometry(x[2], x[3], win),
          groups};
}
inline ConvDims conv_dims(const Tensor& x, const Tensor& w, const Window& win, int64_t groups = 1) {
  return conv_dims(shape_of(x), shape_of(w), win, groups);
}

// A range [begin, end) of taps or outputs along one axis.
struct Span {
  int64_t begin, end;
  int64_t size() const { return end - begin; }
};
// Along an axis of `in` cells padded by `pad` before them: the taps of output i that read the image
// (the others read only padding), and the outputs whose tap p reads it.
inline Span taps_inside(int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t pad, int64_t i) {
  const int64_t top = i * stride - pad;  // image cell of tap 0
  const int64_t begin = top >= 0 ? 0 : (-top + dil - 1) / dil;
  const int64_t end = in - top <= 0 ? 0 : std::min(k, (in - top + dil - 1) / dil);
  return {std::min(begin, end), end};
}
inline Span outputs_inside(int64_t in, int64_t out, int64_t stride, int64_t dil, int64_t pad, int64_t p) {
  const int64_t first = pad - p * dil, last = in - 1 + pad - p * dil;  // i*stride must lie in [first, last]
  const int64_t end = last < 0 ? 0 : std::min(out, last / stride + 1);
  const int64_t begin = first > 0 ? (first + stride - 1) / stride : 0;
  return {std::min(begin, end), end};
}
// Kernel rows of output row i that read image rows.
using KernelRows = Span;
inline KernelRows kernel_rows_inside(const ConvDims& d, int64_t i) {
  return taps_inside(d.h, d.kh, d.stride[0], d.dilation[0], d.g.pad_top, i);
}

// One group of a grouped conv as a conv of its own (what the kernels see).
inline ConvDims group_dims(ConvDims d) {
  d.c /= d.groups, d.o /= d.groups, d.groups = 1;
  return d;
}

// At stride 1, dx is itself a conv (the adjoint): g [o, out_h, out_w] correlated with the weights
// flipped in both spatial axes and their channel axes swapped, padded by (kernel − 1)·dilation −
// padding, gives dx [c, h, w]. These are its dims (of one group) and its weights.
inline ConvDims transposed_conv_dims(const ConvDims& d) {
  ConvDims t = d;
  t.c = d.o, t.o = d.c, t.h = d.g.out_h, t.w = d.g.out_w;
  t.g = {d.h, d.w, (d.kh - 1) * d.dilation[0] - d.g.pad_top, (d.kw - 1) * d.dilation[1] - d.g.pad_left};
  return t;
}
// wt [c, o, kh, kw] = w [o, c, kh − 1 − p, kw − 1 − q].
inline void transposed_conv_weights(const ConvDims& d, const float* w, float* wt) {
  const int64_t taps = d.kh * d.kw;
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t k = 0; k < taps; ++k)
        wt[(c * d.o + o) * taps + k] = w[(o * d.c + c) * taps + taps - 1 - k];
}

// A pooling window over [n*c planes, h, w].
struct PoolDims {
  int64_t planes, h, w;
  Window win;
  Geometry g;
};

inline PoolDims pool_dims(const Tensor& x, const Window& win) {
  const int64_t h = int64_t(x.shape(2)), w = int64_t(x.shape(3));
  return {int64_t(x.shape(0) * x.shape(1)), h, w, win, geometry(h, w, win)};
}

inline json window_attrs(const Window& w, bool with_kernel, bool with_dilation) {
  json j{{"stride", {w.stride[0], w.stride[1]}}, {"padding", w.padding.to_json()}};
  if (with_kernel) j["kernel"] = {w.kernel[0], w.kernel[1]};
  if (with_dilation) j["dilation"] = {w.dilation[0], w.dilation[1]};
  return j;
}

}  // namespace xgrad
