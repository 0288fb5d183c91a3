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

// A read across its rows a page or more apart (A(i, k) = a[i + k·aks], aks ≥ 1024: a dense layer's
// weight gradient xᵀ from 1024 inputs) is copied a panel of rows at a time into [depth, rows], about
// 24 KB, which then serves every column block of B. Read in place, a register block's values at
// each k sit on a line and a page of their own, all in one L1 set where the stride is a multiple
// of 4 KB: dw of 4608 -> 512 over 64 images ran at 63 GFLOP/s against sgemm's 80 (71 packed; 128
// images 65 -> 77), 784 -> 512 at sgemm's speed either way.
constexpr int64_t kPanelFloats = (24 << 10) / sizeof(float);
bool packs_a(int64_t ars, int64_t aks, int64_t n) { return ars == 1 && aks >= 1024 && n > kVecs * kWidth; }
int64_t panel_rows(int64_t m, int64_t depth) {  // whole register blocks, at least one (depth <= kDepth)
  return std::min(m, std::max<int64_t>(kRows, kPanelFloats / std::max<int64_t>(depth, 1) / kRows * kRows));
}

void gemm_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks, const float* b,
                 int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const bool pack = packs_a(ars, aks, n);
  alignas(64) float packed[kPanelFloats];
  // C is stored and read again between depths: the same sums. k = 0 still sets C (to 0) or keeps it.
  for (int64_t k0 = 0; k0 == 0 || k0 < k; k0 += kDepth) {
    const int64_t depth = std::min(kDepth, k - k0);
    const bool add = accumulate || k0 > 0;
    const int64_t panel = pack ? panel_rows(m, depth) : m;
    // B's last column block, when it ends in a partial vector: a copy padded to whole vectors.
    const int64_t tail_j = (n - 1) / (kVecs * kWidth) * (kVecs * kWidth);
    const int64_t tail_cols = n - tail_j, tail_vecs = (tail_cols + kWidth - 1) / kWidth;
    const int64_t tail = tail_cols - (tail_vecs - 1) * kWidth;  // lanes of its last vector, 1..16
    const __mmask16 last = __mmask16((1u << tail) - 1);
    alignas(64) float padded[kDepth * kVecs * kWidth];
    const int64_t width = tail_vecs * kWidth;
    if (n > 0 && tail < kWidth)
      for (int64_t kk = 0; kk < depth; ++kk)
        for (int64_t v = 0; v < tail_vecs; ++v)
          _mm512_store_ps(padded + kk * width + v * kWidth,
                          _mm512_maskz_loadu_ps(v == tail_vecs - 1 ? last : __mmask16(0xFFFF),
                                                b + (k0 + kk) * ldb + tail_j + v * kWidth));
    for (int64_t i0 = 0; i0 < m; i0 += panel) {
      const int64_t rows = std::min(panel, m - i0);
      const float* ak = a + i0 * ars + k0 * aks;
      int64_t pars = ars, paks = aks;
      if (pack) {
        for (int64_t kk = 0; kk < depth; ++kk)
          std::copy(ak + kk * aks, ak + kk * aks + rows, packed + kk * rows);
        ak = packed, pars = 1, paks = rows;
      }
      float* ci = c + i0 * ldc;
      for (int64_t j = 0; j < n; j += kVecs * kWidth) {
        if (j == tail_j && tail < kWidth) {
          with_count<kVecs>(tail_vecs, [&](auto v) {
            columns<v(), true>(rows, depth, ak, pars, paks, padded, width, ci + j, ldc, add, last);
          });
          continue;
        }
        const int64_t vecs = (std::min(n - j, kVecs * kWidth) + kWidth - 1) / kWidth;
        with_count<kVecs>(vecs, [&](auto v) {
          columns<v(), false>(rows, depth, ak, pars, paks, b + k0 * ldb + j, ldb, ci + j, ldc, add, last);
        });
      }
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
