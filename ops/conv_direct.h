#pragma once
// Direct conv2d at stride 1 and dilation 1, 16 output columns per vector: each output row is
// computed from shifted loads of a zero-padded copy of the image, summed over its input channels.
// For one input channel (LeNet's conv1) the im2col GEMM has only K = KH*KW rows (25 for 5x5), too
// thin for sgemm; for few output channels (< 16) the kernels that put channels in the vector lanes
// leave lanes empty. AVX-512 (compiled with a target attribute; the kernel table calls it only on
// such CPUs).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Sizes of one padded channel of an image: rows cover every tap of every output row; each row holds whole
// 16-column blocks of output plus the kernel width, so no load leaves it.
struct PaddedDims {
  int64_t rows, cols;
  int64_t size() const { return rows * cols; }
};
PaddedDims padded_dims(const ConvDims& d);

// xp [c, rows, cols] = image x [c, h, w] shifted by the padding, zeros elsewhere.
void direct_pad(const ConvDims& d, const float* x, float* xp);

// y [o, out_h, out_w] of one padded image; b may be null.
void direct_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y);

// acc [o, c*kh*kw, 16 lanes] += what one padded image xp and its output gradient g add to dw;
// direct_weight_grad_finish adds the lanes to dw [o, c, kh, kw].
int64_t direct_acc_size(const ConvDims& d);
void direct_weight_grad(const ConvDims& d, const float* xp, const float* g, float* acc);
void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

}  // namespace xgrad
