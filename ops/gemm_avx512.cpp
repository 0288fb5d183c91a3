// Register blocks of 6 rows x 4 vectors (24 of the 32 registers accumulate; 8 x 3 and 12 x 2 measured
// no faster on the Winograd cells), no packing: B's rows are read in place and A's values broadcast.
#include "ops/gemm_avx512.h"

#include <immintrin.h>

#include <algorithm>

#include "core/parallel.h"
#include "ops/conv_simd.h"
#include "ops/cpu.h"

XGRAD_AVX512_BEGIN
namespace xgrad {
namespace {

constexpr int kRows = 6, kVecs = 4;
// B's rows are taken 256 at a time, so a block of them (64 KB) stays in L2 while every row block of
// A passes over it (a dense layer's K runs to thousands).
constexpr int64_t kDepth = 256;
constexpr int64_t kWidth = 16;

// Loads and stores the vectors of a row of C; the last one masked where Masked (AMD's masked stores
// are slow even with every lane set, so whole blocks use plain ones). B is never read masked inside
// the loop over k: GCC 12 then kept the accumulators in memory, storing them at every k (3-4x slower);
// a column block that ends in a partial vector reads a copy of B padded with zeros instead.
template <bool Masked>
__m512 load(const float* p, int j, int vecs, __mmask16 last) {
  return Masked && j == vecs - 1 ? _mm512_maskz_loadu_ps(last, p) : _mm512_loadu_ps(p);
}
template <bool Masked>
void store(float* p, int j, int vecs, __mmask16 last, __m512 v) {
  if (Masked && j == vecs - 1)
    _mm512_mask_storeu_ps(p, last, v);
  else
    _mm512_storeu_ps(p, v);
}

// The block of Rows rows x Vecs vectors at c; `last` masks the last vector's lanes where Masked.
template <int Rows, int Vecs, bool Masked>
void block(int64_t k, const float* a, int64_t ars, int64_t aks, const float* b, int64_t ldb, float* c,
           int64_t ldc, bool accumulate, __mmask16 last) {
  __m512 acc[Rows][Vecs];
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Vecs; ++j)
      acc[i][j] = accumulate ? load<Masked>(c + i * ldc + j * kWidth, j, Vecs, last) : _mm512_setzero_ps();
  for (int64_t kk = 0; kk < k; ++kk) {
    __m512 row[Vecs];
    for (int j = 0; j < Vecs; ++j) row[j] = _mm512_loadu_ps(b + kk * ldb + j * kWidth);
    for (int i = 0; i < Rows; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i * ars + kk * aks]);
      for (int j = 0; j < Vecs; ++j) acc[i][j] = _mm512_fmadd_ps(ai, row[j], acc[i][j]);
    }
  }
  for (int i = 0; i < Rows; ++i)
    for (int j = 0; j < Vecs; ++j) store<Masked>(c + i * ldc + j * kWidth, j, Vecs, last, acc[i][j]);
}

template <int Vecs, bool Masked>
void columns(int64_t m, int64_t k, const float* a, int64_t ars, int64_t aks, const float* b, int64_t ldb,
             float* c, int64_t ldc, bool accumulate, __mmask16 last) {
  for (int64_t i = 0; i < m; i += kRows)
    with_count<kRows>(m - i, [&](auto rows) {
      block<rows(), Vecs, Masked>(k, a + i * ars, ars, aks, b, ldb, c + i * ldc, ldc, accumulate, last);
    });
}

}  // namespace

void gemm_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks, const float* b,
                 int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  // C is stored and read again between depths: the same sums. k = 0 still sets C (to 0) or keeps it.
  for (int64_t k0 = 0; k0 == 0 || k0 < k; k0 += kDepth) {
    const int64_t depth = std::min(kDepth, k - k0);
    const bool add = accumulate || k0 > 0;
    for (int64_t j = 0; j < n; j += kVecs * kWidth) {
      const int64_t cols = std::min(n - j, kVecs * kWidth), vecs = (cols + kWidth - 1) / kWidth;
      const int64_t tail = cols - (vecs - 1) * kWidth;  // lanes of the last vector, 1..16
      const __mmask16 last = __mmask16((1u << tail) - 1);
      const float* ak = a + k0 * aks;
      if (tail < kWidth) {
        alignas(64) float padded[kDepth * kVecs * kWidth];  // B's rows of this block, whole vectors
        const int64_t width = vecs * kWidth;
        for (int64_t kk = 0; kk < depth; ++kk)
          for (int64_t v = 0; v < vecs; ++v)
            _mm512_store_ps(padded + kk * width + v * kWidth,
                            _mm512_maskz_loadu_ps(v == vecs - 1 ? last : __mmask16(0xFFFF),
                                                  b + (k0 + kk) * ldb + j + v * kWidth));
        with_count<kVecs>(vecs, [&](auto v) {
          columns<v(), true>(m, depth, ak, ars, aks, padded, width, c + j, ldc, add, last);
        });
        continue;
      }
      with_count<kVecs>(vecs, [&](auto v) {
        columns<v(), false>(m, depth, ak, ars, aks, b + k0 * ldb + j, ldb, c + j, ldc, add, last);
      });
    }
  }
}

}  // namespace xgrad
XGRAD_AVX512_END

namespace xgrad {

void gemm_avx512_pooled(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks,
                        const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  // Each task streams all of B, so two tasks a thread (a thread slowed by another process leaves
  // some to the other), in whole register blocks of rows. The split does not change any sum.
  const int64_t tasks = std::max<int64_t>(1, std::min<int64_t>((m + kRows - 1) / kRows, 2 * num_threads()));
  const int64_t block = ((m + tasks - 1) / tasks + kRows - 1) / kRows * kRows;
  parallel_for((m + block - 1) / block, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * block, r1 = std::min(m, b1 * block);
    gemm_avx512(r1 - r0, n, k, a + r0 * ars, ars, aks, b, ldb, c + r0 * ldc, ldc, accumulate);
  });
}

}  // namespace xgrad
