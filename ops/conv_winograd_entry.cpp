// The Winograd entries of the conv kernel table; see ops/KERNELS.md for the measurements behind
// the conditions.
#include <algorithm>

#include "ops/conv_ovec.h"
#include "ops/conv_winograd.h"

namespace xgrad {
namespace {

// The transforms cost about (C + O) per output position, the multiplies Winograd saves C·O: below
// 32 input or output channels, or 2^19 channel pairs x output positions per image (32 -> 32 at
// 16x16, 32 -> 64 at 8x8), the direct kernels won every shape measured.
constexpr int64_t kMinChannels = 32;
constexpr int64_t kMinWork = int64_t(1) << 19;
// F(4, 3) needs this many output columns (4 tiles per row) to fill its lanes; F(2, 3) wins below.
constexpr int64_t kF4MinWidth = 16;

template <int M, Isa I>
bool applies(const ConvDims& d, Isa isa) {
  return winograd_applies(d) && isa >= I && d.c >= kMinChannels && d.o >= kMinChannels &&
         d.c * d.o * d.positions() >= kMinWork && (M == 2 || d.g.out_w >= kF4MinWidth);
}
template <int M, Isa I>
ConvSizes sizes(const ConvDims& d) {
  const WinogradKernel& k = winograd_kernel(M);
  const int64_t s = k.scratch_size(d), u = k.weights_floats(d);
  if (I == Isa::Avx512)  // the weight gradient reads ovec's padded image
    return {ovec_padded_size(d), u, std::max(s, ovec_scratch_size(d)), ovec_weights_size(d), s};
  return {0, u, s, u, s};
}
template <int M>
void prepare(const ConvDims& d, const float* w, float* u) {
  winograd_kernel(M).prepare(d, w, u);
}
template <int M, Isa I>
void forward(const ConvDims& d, const float* x, const float* u, const float* b, float* kept, float* scratch,
             float* y) {
  if (I == Isa::Avx512) ovec_pad(d, x, kept);
  winograd_kernel(M).forward(d, x, u, b, scratch, y);
}
template <int M, Isa I>
void weight_grad(const ConvDims& d, const float* x, const float* kept, const float* g, float* scratch,
                 float* acc) {
  if (I == Isa::Avx512)
    ovec_weight_grad(d, kept, g, scratch, acc);
  else
    winograd_kernel(M).weight_grad(d, x, g, scratch, acc);
}
template <int M, Isa I>
void finish(const ConvDims& d, const float* acc, float* dw) {
  if (I == Isa::Avx512)
    ovec_weight_grad_finish(d, acc, dw);
  else
    winograd_kernel(M).weight_grad_finish(d, acc, dw);
}
template <int M>
void input_grad(const ConvDims& d, const float* g, const float*, const float* u, float* scratch, float* dx) {
  winograd_kernel(M).input_grad(d, g, u, scratch, dx);
}
template <int M, Isa I>
ConvKernel entry(const char* name) {
  return {name,          applies<M, I>,     sizes<M, I>,  prepare<M>,
          forward<M, I>, weight_grad<M, I>, finish<M, I>, input_grad<M>};
}

}  // namespace

ConvKernel winograd_conv_kernel(const char* name, int m, Isa isa) {
  if (isa == Isa::Avx512) return m == 4 ? entry<4, Isa::Avx512>(name) : entry<2, Isa::Avx512>(name);
  return m == 4 ? entry<4, Isa::Generic>(name) : entry<2, Isa::Generic>(name);
}

}  // namespace xgrad
