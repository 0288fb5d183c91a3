#pragma once
// 1x1 convs (stride 1, no padding) at AVX-512 by gemm_avx512: y [O, P] = w [O, C] · x [C, P]. An
// image's positions P are the GEMM's columns, so on planes of at most one vector (ResNet's 4x4 stage,
// a 1x1 head after global pooling) gemm_avx512 keeps few sums in flight. A call then takes several
// images and lays them side by side, [C, n·P], so the three products run on kPointwiseColumns
// columns. On larger planes the copies cost more than the wider GEMM gains (measured: 7x7 and 8x8
// planes 5-15 % slower), so those take one image a call. Every sum runs over the same terms in the
// same order as one image per call (gemm_avx512 sums each element over k in order, and the weight
// gradient's k is the images' positions one image after another), so the bits do not change.
// Call only where cpu_isa() is Avx512.
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// The columns a call aims for: gemm_avx512 reached 150 GFLOP/s on 16 columns, 205-213 (94 % of the
// FMA peak) on 64 or more.
constexpr int64_t kPointwiseColumns = 64;

// Images per call: enough for kPointwiseColumns columns where an image has at most kLanes positions,
// else 1 (conv.cpp caps it at its chunk of the batch).
int64_t pointwise_images_per_call(const ConvDims& d);
// Floats of the per-worker scratch of forward and weight_grad, and of input_grad, for that many images.
int64_t pointwise_scratch_size(const ConvDims& d);
int64_t pointwise_dx_scratch_size(const ConvDims& d);

// d.n images: x [n, C, P], y and g [n, O, P], dx [n, C, P]; b may be null; acc [O, C] +=.
void pointwise_forward_avx512(const ConvDims& d, const float* x, const float* w, const float* b,
                              float* scratch, float* y);
void pointwise_weight_grad_avx512(const ConvDims& d, const float* x, const float* g, float* scratch,
                                  float* acc);
void pointwise_input_grad_avx512(const ConvDims& d, const float* g, const float* w, float* scratch,
                                 float* dx);

}  // namespace xgrad
