#pragma once
// A dilated conv at stride 1 as one undilated conv over its phases laid side by side (what TensorFlow's
// atrous conv does with space_to_batch). Output rows a, a + dh, a + 2dh, ... read only the padded input
// rows a + dh·r (columns likewise), so phase (a, b) is a plain valid conv of the phase image
// x_ab[c, r, s] = x_pad[c, a + dh·r, b + dw·s] with the same weights, whose outputs are
// y[o, a + dh·i, b + dw·j]. The phase images side by side make one image, the mosaic; a valid conv over
// it gives every phase's outputs, plus kh − 1 rows (kw − 1 columns) at each seam that read two phases:
// forward drops them, and backward gives them a zero gradient, so they add nothing to dw or dx. That lets
// kernels that need dilation 1 (Winograd) run dilated layers (DeepLab-style context modules, dilated-1x1
// in the zoo) with one GEMM per cell over every phase's tiles.
#include "ops/conv_kernels.h"

namespace xgrad {

// The dims of the mosaic of a stride-1 conv d: valid, undilated, stride 1.
ConvDims mosaic_dims(const ConvDims& d);

// The parts of a mosaic entry, over an inner kernel that prepares weights for both directions.
namespace mosaic {
ConvSizes sizes(const ConvKernel& inner, const ConvDims& d);
void prepare(const ConvKernel& inner, bool for_dx, const ConvDims& d, const float* w, float* prepared);
void forward(const ConvKernel& inner, const ConvDims& d, const float* x, const float* wp, const float* b,
             float* kept, float* scratch, float* y);
void weight_grad(const ConvKernel& inner, const ConvDims& d, const float* x, const float* kept,
                 const float* g, float* scratch, float* acc);
void weight_grad_finish(const ConvKernel& inner, const ConvDims& d, const float* acc, float* dw);
void input_grad(const ConvKernel& inner, const ConvDims& d, const float* g, const float* w, const float* wp,
                float* scratch, float* dx);
// Both gradients by the inner kernel's both_grads, g gathered once.
void both_grads(const ConvKernel& inner, const ConvDims& d, const float* x, const float* kept, const float* g,
                const float* wp, float* scratch, float* dx_scratch, float* acc, float* dx);
}  // namespace mosaic

// A conv table entry (without name and applies) that runs Inner() on the mosaic. Inner must have
// prepare and prepare_dx (the Winograd lanes do).
template <const ConvKernel& (*Inner)()>
ConvKernel mosaic_conv_kernel() {
  ConvKernel k{};
  k.sizes = [](const ConvDims& d) { return mosaic::sizes(Inner(), d); };
  k.prepare = [](const ConvDims& d, const float* w, float* p) { mosaic::prepare(Inner(), false, d, w, p); };
  k.prepare_dx = [](const ConvDims& d, const float* w, float* p) { mosaic::prepare(Inner(), true, d, w, p); };
  k.forward = [](const ConvDims& d, const float* x, const float* wp, const float* b, float* kept,
                 float* scratch, float* y) { mosaic::forward(Inner(), d, x, wp, b, kept, scratch, y); };
  k.weight_grad = [](const ConvDims& d, const float* x, const float* kept, const float* g, float* scratch,
                     float* acc) { mosaic::weight_grad(Inner(), d, x, kept, g, scratch, acc); };
  k.weight_grad_finish = [](const ConvDims& d, const float* acc, float* dw) {
    mosaic::weight_grad_finish(Inner(), d, acc, dw);
  };
  k.input_grad = [](const ConvDims& d, const float* g, const float* w, const float* wp, float* scratch,
                    float* dx) { mosaic::input_grad(Inner(), d, g, w, wp, scratch, dx); };
  k.finish_once = Inner().finish_once;
  k.fresh_acc = Inner().fresh_acc;  // each call is one image: the chunk's first passes d.acc_fresh on
  if (Inner().both_grads)
    k.both_grads = [](const ConvDims& d, const float* x, const float* kept, const float* g, const float* wp,
                      float* scratch, float* dx_scratch, float* acc, float* dx) {
      mosaic::both_grads(Inner(), d, x, kept, g, wp, scratch, dx_scratch, acc, dx);
    };
  return k;
}

}  // namespace xgrad
