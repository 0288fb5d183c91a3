#pragma once
// Direct conv2d for one input channel, stride 1 and dilation 1 (LeNet's conv1). Its im2col GEMM
// has only K = KH*KW rows (25 for 5x5), too thin for sgemm to run well; here each output row is
// computed from shifted loads of a zero-padded copy of the image, 16 output columns per vector.
// AVX-512 (compiled with a target attribute; the kernel table calls it only on such CPUs).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Sizes of one padded image: rows cover every tap of every output row; each row holds whole
// 16-column blocks of output plus the kernel width, so no load leaves it.
struct PaddedDims {
  int64_t rows, cols;
  int64_t size() const { return rows * cols; }
};
PaddedDims padded_dims(const ConvDims& d);

// xp [rows, cols] = image x [h, w] shifted by the padding, zeros elsewhere.
void direct_pad(const ConvDims& d, const float* x, float* xp);

// y [o, out_h, out_w] of one padded image; b may be null.
void direct_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y);

// acc [o, taps, 16 lanes] += what one padded image xp and its output gradient g add to dw;
// direct_weight_grad_finish adds the lanes to dw [o, kh, kw].
int64_t direct_acc_size(const ConvDims& d);
void direct_weight_grad(const ConvDims& d, const float* xp, const float* g, float* acc);
void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

}  // namespace xgrad
