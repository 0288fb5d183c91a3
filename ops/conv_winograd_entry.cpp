// The Winograd entries of the conv kernel table; see ops/KERNELS.md for the measurements behind
// the conditions.
#include "ops/conv_winograd.h"

namespace xgrad {
namespace {

// AVX-512 (16 channels in the lanes): from 16 input and output channels it beat the direct kernels
// on every shape measured, in forward, weight gradient and input gradient; below, the channels fill
// too few lanes. F(4, 3) multiplies least, but its GEMMs are short on small planes with few
// channels: by training step time F(2, 3) won below 256 outputs (16x16) unless there were ≥ 4
// tiles of 4x4 and ≥ 32x32 channel pairs.
constexpr int64_t kLaneMinChannels = 16;
bool lanes_prefer_f4(const ConvDims& d) {
  const int64_t tiles = ((d.g.out_h + 3) / 4) * ((d.g.out_w + 3) / 4);
  return d.positions() >= 256 || (d.c * d.o >= 1024 && tiles >= 4);
}
template <int M, int R>
bool lanes_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && winograd_applies(d, R) && d.c >= kLaneMinChannels && d.o >= kLaneMinChannels &&
         (M == 2 || lanes_prefer_f4(d));
}

// Plain C++ (any CPU): the transforms cost about (C + O) per output position, the multiplies Winograd
// saves C·O: below 32 input or output channels, or 2^19 channel pairs x output positions per image,
// im2col + sgemm won.
constexpr int64_t kMinChannels = 32;
constexpr int64_t kMinWork = int64_t(1) << 19;

bool plain_applies(const ConvDims& d, Isa) {
  return winograd_applies(d) && d.c >= kMinChannels && d.o >= kMinChannels &&
         d.c * d.o * d.positions() >= kMinWork;
}
ConvSizes plain_sizes(const ConvDims& d) {
  const WinogradKernel& k = winograd_kernel(2);
  const int64_t s = k.scratch_size(d), u = k.weights_size(d);
  return {0, u, s, u, s};
}
void plain_prepare(const ConvDims& d, const float* w, float* u) { winograd_kernel(2).prepare(d, w, u); }
void plain_forward(const ConvDims& d, const float* x, const float* u, const float* b, float*, float* scratch,
                   float* y) {
  winograd_kernel(2).forward(d, x, u, b, scratch, y);
}
void plain_weight_grad(const ConvDims& d, const float* x, const float*, const float* g, float* scratch,
                       float* acc) {
  winograd_kernel(2).weight_grad(d, x, g, scratch, acc);
}
void plain_finish(const ConvDims& d, const float* acc, float* dw) {
  winograd_kernel(2).weight_grad_finish(d, acc, dw);
}
void plain_input_grad(const ConvDims& d, const float* g, const float*, const float* u, float* scratch,
                      float* dx) {
  winograd_kernel(2).input_grad(d, g, u, scratch, dx);
}

}  // namespace

ConvKernel winograd_conv_kernel(const char* name, int m, Isa isa, int r) {
  if (isa == Isa::Avx512) {
    ConvKernel k = winograd_avx512_conv_kernel(m, r);
    k.name = name, k.applies = r == 5   ? lanes_applies<2, 5>
                               : m == 4 ? lanes_applies<4, 3>
                                        : lanes_applies<2, 3>;
    return k;
  }
  return {name,          plain_applies,     plain_sizes,  plain_prepare,
          plain_forward, plain_weight_grad, plain_finish, plain_input_grad};
}

}  // namespace xgrad
