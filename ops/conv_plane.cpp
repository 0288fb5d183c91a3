#include "ops/conv_plane.h"

#include <algorithm>

#include "ops/im2col.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

#define XGRAD_INLINE inline __attribute__((always_inline))

XGRAD_INLINE void forward_body(const ConvDims& d, const float* xp, const float* w, const float* b,
                               float* __restrict y) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, step = row_step(d, ph);
  for (int64_t o = 0; o < d.o; ++o) {
    std::fill(y + o * oh * ow, y + (o + 1) * oh * ow, b ? b[o] : 0.0f);
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const float wv = w[(o * d.kh + p) * d.kw + q], *s = xp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          float* __restrict yr = y + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) yr[j] += wv * s[i * step + j];
        }
      }
  }
}

// acc[o, tap, j] += g[o, i, j] * (the cell tap reads for output (i, j)): no reduction inside the
// loop, so it vectorises; the sums over j happen once per chunk of images.
XGRAD_INLINE void weight_body(const ConvDims& d, const float* xp, const float* g, float* __restrict acc) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, taps = d.kh * d.kw, step = row_step(d, ph);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        float* __restrict a = acc + (o * taps + p * d.kw + q) * ow;
        const float* s = xp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          const float* gr = g + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) a[j] += gr[j] * s[i * step + j];
        }
      }
}

// dxp (phased) [cells tap reads for output (i, j)] += w[o, tap] * g[o, i, j], then cropped to dx.
XGRAD_INLINE void input_body(const ConvDims& d, const float* g, const float* w, float* __restrict dxp,
                             float* dx) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, step = row_step(d, ph);
  std::fill(dxp, dxp + ph.size(), 0.0f);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const float wv = w[(o * d.kh + p) * d.kw + q];
        float* __restrict s = dxp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          const float* gr = g + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) s[i * step + j] += wv * gr[j];
        }
      }
  copy_phased(d, ph, dxp, dx, false);
}

// The three entry points of one instruction set; TARGET is its attribute (or nothing).
#define XGRAD_PLANE_VARIANT(name, TARGET)                                                                    \
  TARGET void name##_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) { \
    forward_body(d, xp, w, b, y);                                                                            \
  }                                                                                                          \
  TARGET void name##_weight(const ConvDims& d, const float* xp, const float* g, float* acc) {                \
    weight_body(d, xp, g, acc);                                                                              \
  }                                                                                                          \
  TARGET void name##_input(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx) {   \
    input_body(d, g, w, scratch, dx);                                                                        \
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
int64_t plane_dx_scratch(const ConvDims& d) { return phased(d).size(); }
int64_t plane_kept_size(const ConvDims& d) { return phased(d).size(); }

void plane_pad(const ConvDims& d, const float* x, float* xp) {
  copy_phased(d, phased(d), xp, const_cast<float*>(x), true);  // to_phased only reads x
}

void plane_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.kh * d.kw; ++k) dw[k] += sum_lanes(acc + k * d.g.out_w, d.g.out_w);
}

}  // namespace xgrad
