#pragma once
// Direct conv2d vectorised over output channels, for many output channels at any stride (LeNet's
// conv2: 6 channels in, 16 out, 8x8 outputs). Each vector holds 16 output channels of one output
// position; an input value is broadcast against the weights of a tap. The per-image im2col GEMMs
// of such layers are small (16x64x150) and reach only a fraction of sgemm's speed. The input
// gradient (ops/conv_ovec_dx.cpp) needs stride 1.
// AVX-512 (compiled with a target attribute; the kernel table calls it only on such CPUs).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Floats per AVX-512 vector: the ovec kernels block output channels by this.
constexpr int64_t kLanes = 16;

// dst[c*ds + r] = src[r*ss + c] for r < rows, c < cols (both <= 16): [positions, 16 channels] <->
// [channels, positions] blocks of the kernels that put channels in the vector lanes.
void transpose_block(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols,
                     bool stream = false);
// The same in 8x8 blocks (rows, cols <= 8) with AVX2 (ops/transpose_avx2.cpp); partial blocks cell by cell.
void transpose_block_avx2(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols);

// Floats of one padded image [c, rows, cols] (zero border, so every tap reads inside it).
int64_t ovec_padded_size(const ConvDims& d);
void ovec_pad(const ConvDims& d, const float* x, float* xp);

// Floats of the transposed weights [o blocks of 16, taps, 16] and of the per-image scratch.
int64_t ovec_weights_size(const ConvDims& d);
int64_t ovec_scratch_size(const ConvDims& d);
void ovec_transpose_weights(const ConvDims& d, const float* w, float* wt);

// y [o, out_h, out_w] of one padded image; b may be null.
void ovec_forward(const ConvDims& d, const float* xp, const float* wt, const float* b, float* scratch,
                  float* y);

// acc [o blocks, taps, 16] += Σ_positions xp[tap + position] * g[o, position] for one image;
// ovec_weight_grad_finish adds it to dw [o, taps].
void ovec_weight_grad(const ConvDims& d, const float* xp, const float* g, float* scratch, float* acc);
// The same on a padded image of another layout [c, rows, cols] (stride 1: the direct kernels').
void ovec_weight_grad_in(const ConvDims& d, const float* xp, int64_t rows, int64_t cols, const float* g,
                         float* scratch, float* acc);
void ovec_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

// dx [c, h, w] of one image from its output gradient g [o, out_h, out_w], without im2col.
int64_t ovec_input_grad_scratch_size(const ConvDims& d);
void ovec_input_grad(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx);

// dx as the ovec forward of the transposed conv (transposed_conv_dims, ops/window.h): g [o, out_h,
// out_w] correlated with wᵀ[c, o, kh−1−p, kw−1−q] under padding (k − 1)·dilation − pad gives dx [c, h, w].
// Its vectors hold 16 of dx's channels where the gather's hold 16 of its cells, so it wins on small
// planes with many input channels. Needs stride 1 and no side padded by more than (k − 1)·dilation.
bool ovec_transposed_applies(const ConvDims& d);
int64_t ovec_transposed_weights_size(const ConvDims& d);  // what prepare writes: wᵀ, then its ovec layout
void ovec_prepare_transposed(const ConvDims& d, const float* w, float* prepared);
int64_t ovec_transposed_scratch_size(const ConvDims& d);
void ovec_input_grad_transposed(const ConvDims& d, const float* g, const float* prepared, float* scratch,
                                float* dx);

}  // namespace xgrad
