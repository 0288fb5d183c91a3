#pragma once
// conv2d of one input channel for any stride, dilation and padding: depthwise convs (groups = C),
// and first layers reading a grey image at stride 2. Plain C++ loops over a zero-padded plane that
// the compiler vectorises; built three times (AVX-512, AVX2 + FMA, the build's default) and picked
// at run time by the kernel table.
#include <cstdint>

#include "ops/cpu.h"
#include "ops/window.h"

namespace xgrad {

struct PlaneKernel {
  // y [o, oh, ow] from the padded plane xp (plane_pad); b may be null.
  void (*forward)(const ConvDims& d, const float* xp, const float* w, const float* b, float* y);
  // acc [o, kh*kw, ow] += per-column products of one image; finish: dw [o, kh*kw] += Σ of each row.
  void (*weight_grad)(const ConvDims& d, const float* xp, const float* g, float* acc);
  // dx [1, h, w] from g [o, oh, ow]; scratch holds plane_dx_scratch(d) floats.
  void (*input_grad)(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx);
};

const PlaneKernel& plane_kernel(Isa isa);
// The padded plane of one image x [1, h, w], split into column phases for the stride (conv_plane.cpp).
int64_t plane_kept_size(const ConvDims& d);
void plane_pad(const ConvDims& d, const float* x, float* xp);
int64_t plane_acc_size(const ConvDims& d);
int64_t plane_dx_scratch(const ConvDims& d);
void plane_weight_grad_finish(const ConvDims& d, const float* acc, float* dw);

}  // namespace xgrad
