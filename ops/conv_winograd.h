#pragma once
// Winograd F(2x2, 3x3) for 3x3 convs at stride 1 without dilation (VGG-style layers): each 2x2
// block of outputs of a channel pair comes from 16 products of a 4x4 input tile and the 4x4
// transformed weights instead of 36 multiplies, so the MACs drop by 2.25x:
//   Y = Aᵀ [ Σ_c (G w Gᵀ) ⊙ (Bᵀ d B) ] A    (Lavin & Gray 2015)
// The sum over channels is one sgemm per tile cell: M_ξ [O, T] = U_ξ [O, C] · V_ξ [C, T] for the
// 16 cells ξ over all T tiles of an image. Backward is the adjoint of the same linear map:
//   dM = A dY Aᵀ;  dU_ξ += dM_ξ · V_ξᵀ, dw = Gᵀ dU G;  dV_ξ = U_ξᵀ · dM_ξ, dx += B dV Bᵀ.
// Plain C++ and OpenBLAS: no instruction-set specific code.
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

bool winograd_applies(const ConvDims& d);

// Floats of U [16, O, C] (the prepared weights), of one worker's scratch for any of the three
// parts, and of the weight-gradient sums dU [16, O, C].
int64_t winograd_weights_size(const ConvDims& d);
int64_t winograd_scratch_size(const ConvDims& d);

// U = G w Gᵀ for every (o, c) pair, w [O, C, 3, 3].
void winograd_prepare(const ConvDims& d, const float* w, float* u);

// y [O, oh, ow] of one image x [C, h, w]; b may be null.
void winograd_forward(const ConvDims& d, const float* x, const float* u, const float* b, float* scratch,
                      float* y);

// acc (dU [16, O, C]) += what one image x and its output gradient g add; finish: dw += Gᵀ dU G.
void winograd_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc);
void winograd_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

// dx [C, h, w] of one image from g [O, oh, ow].
void winograd_input_grad(const ConvDims& d, const float* g, const float* u, float* scratch, float* dx);

}  // namespace xgrad
