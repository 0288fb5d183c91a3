#pragma once
// 1x1 convs (stride 1, no padding) at AVX-512 by gemm_avx512: y [O, P] = w [O, C] · x [C, P], the
// image its own im2col matrix. On planes of at most one vector (ResNet's 4x4 stage, a 1x1 head
// after global pooling) a call takes several images side by side (ops/side_by_side.h).
// Call only where cpu_isa() is Avx512.
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Images per call (side_by_side_images of the plane).
int64_t pointwise_images_per_call(const ConvDims& d);
// Floats of the per-worker scratch of forward and weight_grad, and of input_grad, for that many images.
int64_t pointwise_scratch_size(const ConvDims& d);
int64_t pointwise_dx_scratch_size(const ConvDims& d);

// d.n images: x [n, C, P], y and g [n, O, P], dx [n, C, P]; b may be null; acc [O, C] += (= where
// d.acc_fresh).
void pointwise_forward_avx512(const ConvDims& d, const float* x, const float* w, const float* b,
                              float* scratch, float* y);
void pointwise_weight_grad_avx512(const ConvDims& d, const float* x, const float* g, float* scratch,
                                  float* acc);
// The weight gradient over the batch (ConvKernel::batch_weight_grad; ops/side_by_side.h's layout).
int64_t pointwise_batch_size(const ConvDims& d);
void pointwise_batch_weight_grad(const ConvDims& d, const float* batch, float* acc);
void pointwise_input_grad_avx512(const ConvDims& d, const float* g, const float* w, float* scratch,
                                 float* dx);

}  // namespace xgrad
