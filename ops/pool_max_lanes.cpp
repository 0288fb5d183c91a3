// Max pooling with 16 (AVX-512) or 8 (AVX2) planes in the vector lanes, declared in
// ops/pool_windows.h. Every plane of a block has the same windows, so each cell of a window is one
// vector compare, padded or not; vectors along a row stay mostly empty on small planes (a 7x7 plane
// has 3 windows a row). The body is ops/pool_max_lanes_impl.h, compiled for each level.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "ops/conv_ovec.h"
#include "ops/cpu.h"
#include "ops/pool_windows.h"

XGRAD_AVX512_BEGIN
namespace xgrad::pool_lanes::avx512 {

struct Vec {
  using V = __m512;
  using I = __m512i;
  static constexpr int64_t kLanes = 16;
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static I set1(int32_t v) { return _mm512_set1_epi32(v); }
  static void take_larger(V v, int32_t cell, V& best, I& best_at) {
    const __mmask16 larger = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
    best = _mm512_mask_blend_ps(larger, best, v);
    best_at = _mm512_mask_blend_epi32(larger, best_at, _mm512_set1_epi32(cell));
  }
  static I origins(int64_t first_plane, int64_t cells) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(int32_t(first_plane))),
                              _mm512_set1_epi32(int32_t(cells)));
  }
  static void store_index(float* p, I cell, I origin) {
    _mm512_storeu_ps(p, _mm512_castsi512_ps(_mm512_add_epi32(cell, origin)));
  }
  static void transpose(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols) {
    transpose_block(src, ss, dst, ds, rows, cols);
  }
};

#include "ops/pool_max_lanes_impl.h"

}  // namespace xgrad::pool_lanes::avx512
XGRAD_AVX512_END

XGRAD_AVX2_BEGIN
namespace xgrad::pool_lanes::avx2 {

struct Vec {
  using V = __m256;
  using I = __m256i;
  static constexpr int64_t kLanes = 8;
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static I set1(int32_t v) { return _mm256_set1_epi32(v); }
  static void take_larger(V v, int32_t cell, V& best, I& best_at) {
    const __m256 larger = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
    best = _mm256_blendv_ps(best, v, larger);
    best_at = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(best_at), _mm256_castsi256_ps(_mm256_set1_epi32(cell)), larger));
  }
  static I origins(int64_t first_plane, int64_t cells) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_mullo_epi32(_mm256_add_epi32(lane, _mm256_set1_epi32(int32_t(first_plane))),
                              _mm256_set1_epi32(int32_t(cells)));
  }
  static void store_index(float* p, I cell, I origin) {
    _mm256_storeu_ps(p, _mm256_castsi256_ps(_mm256_add_epi32(cell, origin)));
  }
  static void transpose(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols) {
    transpose_block_avx2(src, ss, dst, ds, rows, cols);
  }
};

#include "ops/pool_max_lanes_impl.h"

}  // namespace xgrad::pool_lanes::avx2
XGRAD_AVX2_END

namespace xgrad {

void max_lanes_avx512(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  pool_lanes::avx512::max_lanes(d, p0, p1, x, y, argmax);
}
void max_lanes_avx2(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  pool_lanes::avx2::max_lanes(d, p0, p1, x, y, argmax);
}

}  // namespace xgrad
