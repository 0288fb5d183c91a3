#pragma once
// Direct conv2d for small planes, several images per call with the images innermost. A call's x
// goes to [c, h, w, n], so one cell of its n images is n adjacent values, each broadcast against a
// vector of 16 output channels: ovec's blocking (ops/conv_ovec.h) with the images where ovec has a
// row's outputs. So a 5x5 or 7x7 plane keeps 8-16 sums in flight per weight vector however short
// its rows, and each output cell sums over exactly the taps that read the image (none of the
// padding, at any stride or dilation; no padded copy). dx is the same sum over g with the weights
// transposed, each dx cell over the (tap, output) pairs that reach it, so strided convs need no
// col2im. dw runs each kernel position over the outputs that read the image through it.
// AVX-512 (compiled with a target attribute; the kernel table calls it only on such CPUs).
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// Images per call (at most): 16 broadcasts per weight vector.
constexpr int64_t kImagesPerCall = 16;

// Floats of the forward's weights (ovec's layout [o blocks, c, kh, kw, 16]) and of input_grad's
// ([c blocks, o, kh, kw, 16]).
int64_t images_weights_size(const ConvDims& d);
void images_prepare(const ConvDims& d, const float* w, float* prepared);
int64_t images_dx_weights_size(const ConvDims& d);
void images_prepare_dx(const ConvDims& d, const float* w, float* prepared);

// Floats of forward's and weight_grad's scratch, of weight_grad's sums [o blocks, c*kh*kw, 16] and of
// input_grad's scratch, for up to kImagesPerCall images.
int64_t images_scratch_size(const ConvDims& d);
int64_t images_acc_size(const ConvDims& d);
int64_t images_dx_scratch_size(const ConvDims& d);

// d.n images (1 to kImagesPerCall) at once: x [n, c, h, w], y and g [n, o, out_h, out_w]; b may be null.
void images_forward(const ConvDims& d, const float* x, const float* wt, const float* b, float* scratch,
                    float* y);
void images_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc);
void images_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);  // dw [o, c*kh*kw] +=
void images_input_grad(const ConvDims& d, const float* g, const float* wt, float* scratch, float* dx);

}  // namespace xgrad
