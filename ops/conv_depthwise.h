#pragma once
// Depthwise conv2d (groups = input channels = output channels) with 16 channels per vector: each
// block of 16 channels of the image is copied channel-last ([rows, cols, 16], zero-padded), so
// every tap of every output is one vector load and one FMA, at any kernel size, stride, dilation
// and padding. The per-group kernels see one small plane per call instead (a 32x32 plane at
// stride 2 is 256 outputs), where copying and loop overheads outweigh the FMAs.
// AVX-512 (compiled with a target attribute; the kernel table calls it only on such CPUs). Called
// once per image with the conv's own dims (ConvKernel::all_groups).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Floats of each buffer (see ConvSizes): the weights as [block, taps, 16], the scratch of one
// block (its channel-last padded plane and its [positions, 16] outputs), the weight-gradient sums,
// and dx's.
int64_t depthwise_weights_size(const ConvDims& d);
int64_t depthwise_scratch_size(const ConvDims& d);  // forward's, weight_grad's and input_grad's

void depthwise_prepare(const ConvDims& d, const float* w, float* wt);
void depthwise_forward(const ConvDims& d, const float* x, const float* wt, const float* b, float* scratch,
                       float* y);
// acc [block, taps, 16] += what one image adds to dw; finish adds it to dw [c, 1, kh, kw].
void depthwise_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc);
void depthwise_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);
// dx of one image. Where depthwise_dx_as_forward(d) (stride 1, and the transposed conv's padding,
// (k − 1)·dilation − padding, not negative), it is depthwise_forward of the transposed conv
// (ops/window.h) with wt from depthwise_prepare_dx (the taps flipped): a sum in registers per cell of
// dx. Otherwise each output's gradient is scattered through the taps (a load, an FMA and a store per
// tap; measured 2x the forward's time), with wt from depthwise_prepare.
bool depthwise_dx_as_forward(const ConvDims& d);
void depthwise_prepare_dx(const ConvDims& d, const float* w, float* wt);
int64_t depthwise_dx_scratch_size(const ConvDims& d);
void depthwise_input_grad(const ConvDims& d, const float* g, const float* wt, float* scratch, float* dx);

}  // namespace xgrad
