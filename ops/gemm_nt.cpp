#include "ops/gemm_nt.h"

#include <immintrin.h>

#include "ops/cpu.h"

namespace xgrad {
namespace {

constexpr int64_t kLanes = 16;

// J dot products of one row of a with rows b0..b(J-1), added to c[0..J).
XGRAD_AVX512_BEGIN
// With AVX-512 the partial sums are named registers: GCC keeps a float[J][16] array on the stack.
template <int J>
void dots_avx512(int64_t k, const float* a, const float* b, int64_t ldb, float* c) {
  __m512 acc[J];
  for (int j = 0; j < J; ++j) acc[j] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + kLanes <= k; p += kLanes) {
    const __m512 av = _mm512_loadu_ps(a + p);
    for (int j = 0; j < J; ++j) acc[j] = _mm512_fmadd_ps(av, _mm512_loadu_ps(b + j * ldb + p), acc[j]);
  }
  for (int j = 0; j < J; ++j) {
    alignas(64) float lanes[kLanes];  // (_mm512_reduce_add_ps trips GCC 12's maybe-uninitialized)
    _mm512_store_ps(lanes, acc[j]);
    float s = 0;
    for (float v : lanes) s += v;
    for (int64_t q = p; q < k; ++q) s += a[q] * b[j * ldb + q];
    c[j] += s;
  }
}
XGRAD_AVX512_END

// The same sums, plain C++ (for CPUs without AVX-512).
template <int J>
void dots(int64_t k, const float* a, const float* b, int64_t ldb, float* c) {
  float acc[J][kLanes] = {};
  int64_t p = 0;
  for (; p + kLanes <= k; p += kLanes)
    for (int j = 0; j < J; ++j)
      for (int64_t l = 0; l < kLanes; ++l) acc[j][l] += a[p + l] * b[j * ldb + p + l];
  for (int j = 0; j < J; ++j) {
    float s = 0;
    for (int64_t l = 0; l < kLanes; ++l) s += acc[j][l];
    for (int64_t q = p; q < k; ++q) s += a[q] * b[j * ldb + q];
    c[j] += s;
  }
}

template <int J>
void dots_for(bool avx512, int64_t k, const float* a, const float* b, int64_t ldb, float* c) {
  if (avx512) return dots_avx512<J>(k, a, b, ldb, c);
  dots<J>(k, a, b, ldb, c);
}

}  // namespace

void gemm_nt_accumulate(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc) {
  const bool avx512 = cpu_isa() == Isa::Avx512;
  for (int64_t i = 0; i < m; ++i) {
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) dots_for<4>(avx512, k, a + i * lda, b + j * ldb, ldb, c + i * ldc + j);
    for (; j < n; ++j) dots_for<1>(avx512, k, a + i * lda, b + j * ldb, ldb, c + i * ldc + j);
  }
}

}  // namespace xgrad
