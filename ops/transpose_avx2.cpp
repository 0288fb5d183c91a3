// The AVX2 register transpose of 8x8 blocks (declared in ops/conv_ovec.h), for the kernels that
// put 8 channels or planes in the vector lanes at the AVX2 level (Winograd lanes, max pooling).
#include <immintrin.h>

#include <cstring>

#include "ops/conv_ovec.h"
#include "ops/cpu.h"

namespace xgrad {

XGRAD_AVX2_BEGIN
// GCC 12's _mm256_undefined_ps inside the unpack and shuffle intrinsics trips -Wmaybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
void transpose_block_avx2(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols) {
  if (rows < 8 || cols < 8) {  // memcpy: the max pool also moves int32 indices through here
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) std::memcpy(dst + c * ds + r, src + r * ss + c, sizeof(float));
    return;
  }
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ss);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ds, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ds, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#pragma GCC diagnostic pop
XGRAD_AVX2_END

}  // namespace xgrad
