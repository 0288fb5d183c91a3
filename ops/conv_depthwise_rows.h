#pragma once
// Depthwise 3x3 conv2d (groups = input channels = output channels) at stride 1, straight on the
// [c, h, w] planes: output columns in the vector lanes, input rows read by masked loads (lanes
// outside the plane read nothing and count as padding), each shared by the output rows that read
// it. No padded copy, no transpose: x, y, g and dx are read and written in memory order, one plane
// after another, a pattern the hardware prefetcher follows; depthwise_avx512's 16-channel blocks
// are 16 streams a block, and from a batch of activations larger than the caches it lost them
// (KERNELS.md, session 22).
// Any padding; no dilation. dx is the same correlation on g with the taps flipped. (5x5 and 7x7
// kernels this way measured no faster than direct_c1_avx512 and depthwise_avx512: KERNELS.md.)
// AVX-512 (compiled with a target attribute; the kernel table calls it only on such CPUs). Called
// once per image with the conv's own dims (ConvKernel::all_groups).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// y [c, oh, ow] of one image x [c, h, w]; w [c, 1, 3, 3]; b [c] or null.
void depthwise_rows_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* y);
// acc [c, 9] += what one image adds to dw.
void depthwise_rows_weight_grad(const ConvDims& d, const float* x, const float* g, float* acc);
// flipped [c, 9]: each channel's taps in reverse order (rows and columns flipped), for dx.
void depthwise_rows_flip(const ConvDims& d, const float* w, float* flipped);
// dx [c, h, w] of one image from g [c, oh, ow] and the flipped taps.
void depthwise_rows_input_grad(const ConvDims& d, const float* g, const float* flipped, float* dx);

}  // namespace xgrad
