#include "ops/conv_plane.h"

#include <algorithm>

#include "ops/im2col.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

#define XGRAD_INLINE inline __attribute__((always_inline))

// SW: the column stride as a constant for the common 1 and 2 (0: read it from d), so the inner
// loops are contiguous or even/odd loads the compiler vectorises.
template <int SW>
XGRAD_INLINE void forward_body(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, sw = SW ? SW : d.stride[1], dw = d.dilation[1];
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t i = 0; i < oh; ++i) {
      float* yr = y + (o * oh + i) * ow;
      std::fill(yr, yr + ow, b ? b[o] : 0.0f);
      for (int64_t p = 0; p < d.kh; ++p) {
        const float* row = xp + (i * d.stride[0] + p * d.dilation[0]) * pp.cols;
        for (int64_t q = 0; q < d.kw; ++q) {
          const float wv = w[(o * d.kh + p) * d.kw + q], *s = row + q * dw;
          for (int64_t j = 0; j < ow; ++j) yr[j] += wv * s[j * sw];
        }
      }
    }
}

// acc[o, tap, j] += g[o, i, j] * xp[row of tap + i, column of tap + j*sw]: no reduction inside
// the loop, so it vectorises; the sums over j happen once per chunk of images.
template <int SW>
XGRAD_INLINE void weight_body(const ConvDims& d, const float* xp, const float* g, float* acc) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, sw = SW ? SW : d.stride[1], taps = d.kh * d.kw;
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t i = 0; i < oh; ++i) {
      const float* gr = g + (o * oh + i) * ow;
      for (int64_t p = 0; p < d.kh; ++p) {
        const float* row = xp + (i * d.stride[0] + p * d.dilation[0]) * pp.cols;
        for (int64_t q = 0; q < d.kw; ++q) {
          float* a = acc + (o * taps + p * d.kw + q) * ow;
          const float* s = row + q * d.dilation[1];
          for (int64_t j = 0; j < ow; ++j) a[j] += gr[j] * s[j * sw];
        }
      }
    }
}

// dxp[row of tap + i, column of tap + j*sw] += w[o, tap] * g[o, i, j], then cropped to dx.
template <int SW>
XGRAD_INLINE void input_body(const ConvDims& d, const float* g, const float* w, float* dxp, float* dx) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, sw = SW ? SW : d.stride[1];
  std::fill(dxp, dxp + pp.size(), 0.0f);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t i = 0; i < oh; ++i) {
      const float* gr = g + (o * oh + i) * ow;
      for (int64_t p = 0; p < d.kh; ++p) {
        float* row = dxp + (i * d.stride[0] + p * d.dilation[0]) * pp.cols;
        for (int64_t q = 0; q < d.kw; ++q) {
          const float wv = w[(o * d.kh + p) * d.kw + q];
          float* s = row + q * d.dilation[1];
          for (int64_t j = 0; j < ow; ++j) s[j * sw] += wv * gr[j];
        }
      }
    }
  crop_image(d, dxp, dx);
}

// Calls body<1>, body<2> or body<0> for the column stride.
#define XGRAD_BY_STRIDE(body, ...) \
  switch (d.stride[1]) {           \
    case 1:                        \
      return body<1>(__VA_ARGS__); \
    case 2:                        \
      return body<2>(__VA_ARGS__); \
    default:                       \
      return body<0>(__VA_ARGS__); \
  }

// The three entry points of one instruction set; TARGET is its attribute (or nothing).
#define XGRAD_PLANE_VARIANT(name, TARGET)                                                                   \
  TARGET void name##_forward(const ConvDims& d, const float* xp, const float* w, const float* b,            \
                             float* y){XGRAD_BY_STRIDE(                                                     \
      forward_body, d, xp, w, b, y)} TARGET void name##_weight(const ConvDims& d, const float* xp,          \
                                                               const float* g, float* acc){XGRAD_BY_STRIDE( \
      weight_body, d, xp, g, acc)} TARGET void name##_input(const ConvDims& d, const float* g,              \
                                                            const float* w, float* scratch, float* dx) {    \
    XGRAD_BY_STRIDE(input_body, d, g, w, scratch, dx)                                                       \
  }

XGRAD_PLANE_VARIANT(avx512, XGRAD_TARGET_AVX512)
XGRAD_PLANE_VARIANT(avx2, XGRAD_TARGET_AVX2)
XGRAD_PLANE_VARIANT(generic, )

}  // namespace

const PlaneKernel& plane_kernel(Isa isa) {
  static const PlaneKernel avx512{avx512_forward, avx512_weight, avx512_input};
  static const PlaneKernel avx2{avx2_forward, avx2_weight, avx2_input};
  static const PlaneKernel generic{generic_forward, generic_weight, generic_input};
  return isa == Isa::Avx512 ? avx512 : isa == Isa::Avx2 ? avx2 : generic;
}

int64_t plane_acc_size(const ConvDims& d) { return d.o * d.kh * d.kw * d.g.out_w; }
int64_t plane_dx_scratch(const ConvDims& d) { return padded_plane(d).size(); }

void plane_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.kh * d.kw; ++k) dw[k] += sum_lanes(acc + k * d.g.out_w, d.g.out_w);
}

}  // namespace xgrad
