#include "ops/conv_direct.h"

#include <immintrin.h>

#include <algorithm>

#include "ops/conv_simd.h"
#include "ops/cpu.h"

namespace xgrad {

namespace {

constexpr int64_t kAccLanes = 16;  // floats per (output channel, tap) in acc, whatever the vector

}  // namespace

PaddedDims padded_dims(const ConvDims& d) {
  const int64_t blocks = (d.g.out_w + 15) / 16;
  return {d.g.out_h + (d.kh - 1) * d.dilation[0], blocks * 16 + (d.kw - 1) * d.dilation[1]};
}

void direct_pad(const ConvDims& d, const float* x, float* xp) {
  const PaddedDims pd = padded_dims(d);
  std::fill(xp, xp + d.c * pd.size(), 0.0f);
  const int64_t c0 = std::max<int64_t>(d.g.pad_left, 0), c1 = std::min(pd.cols, d.g.pad_left + d.w);
  if (c1 <= c0) return;
  for (int64_t c = 0; c < d.c; ++c, x += d.h * d.w, xp += pd.size())
    for (int64_t r = std::max<int64_t>(d.g.pad_top, 0); r < std::min(pd.rows, d.g.pad_top + d.h); ++r)
      std::copy(x + (r - d.g.pad_top) * d.w + c0 - d.g.pad_left,
                x + (r - d.g.pad_top) * d.w + c1 - d.g.pad_left, xp + r * pd.cols + c0);
}

int64_t direct_acc_size(const ConvDims& d) { return d.o * d.patch() * kAccLanes; }

void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.patch(); ++k) {
    float s = 0;
    for (int l = 0; l < kAccLanes; ++l) s += acc[k * kAccLanes + l];
    dw[k] += s;
  }
}

XGRAD_AVX512_BEGIN
namespace {
namespace avx512 {

struct Vec {
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int64_t kLanes = 16;
  // 32 registers: about 16 accumulators (8 output channels x 2 rows, ..., 1 x 16), 4 x 6 for the
  // weight gradient
  static constexpr int kGroup = 8, kAccOneChannel = 16, kAccChannels = 16;
  static constexpr int kWeightChannels = 4, kWeightTaps = 6, kWeightTapsOne = 12;
  static V set1(float v) { return _mm512_set1_ps(v); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask first_lanes(int64_t n) { return Mask((1u << n) - 1); }
  static V load_lanes(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store_lanes(float* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
};

#include "ops/conv_direct_impl.h"

}  // namespace avx512
}  // namespace
XGRAD_AVX512_END

XGRAD_AVX2_BEGIN
namespace {
namespace avx2 {

struct Vec {
  using V = __m256;
  using Mask = __m256i;
  static constexpr int64_t kLanes = 8;
  // 16 registers: 12 accumulators (3 output channels x 4 rows, ..., 1 x 12), 3 broadcast weights
  // and the input vector; 2 x 5 accumulators for the weight gradient
  static constexpr int kGroup = 3, kAccOneChannel = 12, kAccChannels = 12;
  static constexpr int kWeightChannels = 2, kWeightTaps = 5, kWeightTapsOne = 12;
  static V set1(float v) { return _mm256_set1_ps(v); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static Mask first_lanes(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V load_lanes(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static void store_lanes(float* p, Mask m, V v) { _mm256_maskstore_ps(p, m, v); }
};

#include "ops/conv_direct_impl.h"

}  // namespace avx2
}  // namespace
XGRAD_AVX2_END

const DirectKernel& direct_kernel(Isa isa) {
  static const DirectKernel wide{avx512::forward, avx512::weight_grad},
      narrow{avx2::forward, avx2::weight_grad};
  return isa == Isa::Avx512 ? wide : narrow;
}

}  // namespace xgrad
