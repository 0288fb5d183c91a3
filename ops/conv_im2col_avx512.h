#pragma once
// im2col + gemm_avx512, any conv: y [O, P] = w [O, K] · cols [K, P]; dw += g · colsᵀ; dx =
// col2im(wᵀ · g). A call takes several images where the output plane is at most one vector
// (ops/side_by_side.h): strided convs late in a network (256 -> 512, stride 2, to 4x4), whose K is
// large and P small. Call only where cpu_isa() is Avx512.
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Images per call (side_by_side_images of the output plane).
int64_t im2col_avx512_images_per_call(const ConvDims& d);
// Floats of kept per image (its cols [K, P]), and of the per-worker scratch of forward and
// weight_grad, and of input_grad, for that many images.
int64_t im2col_avx512_kept_size(const ConvDims& d);
int64_t im2col_avx512_scratch_size(const ConvDims& d);
int64_t im2col_avx512_dx_scratch_size(const ConvDims& d);

// d.n images: x [n, C, H, W], y and g [n, O, P], dx [n, C, H, W]; b may be null; kept holds each
// image's cols [K, P] one after another; acc [O, K] += (= where d.acc_fresh).
void im2col_forward_avx512(const ConvDims& d, const float* x, const float* w, const float* b, float* kept,
                           float* scratch, float* y);
void im2col_weight_grad_avx512(const ConvDims& d, const float* kept, const float* g, float* scratch,
                               float* acc);
// The weight gradient over the batch (ConvKernel::batch_weight_grad; ops/side_by_side.h's layout).
int64_t im2col_avx512_batch_size(const ConvDims& d);
void im2col_avx512_batch_weight_grad(const ConvDims& d, const float* batch, float* acc);
void im2col_input_grad_avx512(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx);

}  // namespace xgrad
