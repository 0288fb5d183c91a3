#pragma once
// Direct conv2d at stride 1 (any dilation), output columns in the vector lanes (16 at AVX-512, 8 at
// AVX2): each output row is computed from shifted loads of a zero-padded copy of the image, summed
// over its input channels.
// For one input channel (LeNet's conv1) the im2col GEMM has only K = KH*KW rows (25 for 5x5), too
// thin for sgemm; for few output channels (< 16) the kernels that put channels in the vector lanes
// leave lanes empty. Written once over the vector type (ops/conv_direct_impl.h) and compiled for
// AVX-512 and for AVX2 + FMA with target attributes; the kernel table calls each only on a CPU
// that has it.
#include <cstdint>

#include "ops/cpu.h"
#include "ops/window.h"

namespace xgrad {

// Sizes of one padded channel of an image: rows cover every tap of every output row; each row holds
// whole 16-column blocks of output plus the kernel width, so no load (of 16 or 8) leaves it.
struct PaddedDims {
  int64_t rows, cols;
  int64_t size() const { return rows * cols; }
};
PaddedDims padded_dims(const ConvDims& d);

// xp [c, rows, cols] = image x [c, h, w] shifted by the padding, zeros elsewhere.
void direct_pad(const ConvDims& d, const float* x, float* xp);

struct DirectKernel {
  // y [o, out_h, out_w] of one padded image; b may be null.
  void (*forward)(const ConvDims& d, const float* xp, const float* w, const float* b, float* y);
  // acc [o, c*kh*kw, 16 lanes] += what one padded image xp and its output gradient g add to dw;
  // direct_weight_grad_finish adds the lanes to dw [o, c, kh, kw].
  void (*weight_grad)(const ConvDims& d, const float* xp, const float* g, float* acc);
};
// The AVX-512 kernel for Isa::Avx512, else the AVX2 one (the caller checks the CPU has AVX2).
const DirectKernel& direct_kernel(Isa isa);
int64_t direct_acc_size(const ConvDims& d);
void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

}  // namespace xgrad
