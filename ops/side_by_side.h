#pragma once
// Several images in one GEMM: a plane of P positions gives a product only P columns, and on planes
// of one vector or less (P <= 16) gemm_avx512 keeps few sums in flight (150 GFLOP/s on 16 columns
// against 205-213, 94 % of the FMA peak, on 64 or more). Kernels that take n images a call lay
// their [rows, P] blocks side by side as [rows, n·P]. A sum over positions then runs over the
// images one after another, in the order separate calls would add them, so the bits do not change.
#include <algorithm>
#include <cstdint>

namespace xgrad {

constexpr int64_t kSideBySideColumns = 64;

// Images a call for planes of `positions` positions: enough for kSideBySideColumns columns on planes
// of at most 16, else 1 (on 7x7 and 8x8 planes the copies cost more than the wider GEMM gained:
// 1x1 convs were 5-15 % slower). conv.cpp caps it at its chunk of the batch.
inline int64_t side_by_side_images(int64_t positions) {
  const int64_t p = std::max<int64_t>(1, positions);
  return p > 16 ? 1 : (kSideBySideColumns + p - 1) / p;
}

// [n, rows, p] -> [rows, n·p]; images_apart undoes it.
inline void images_side_by_side(const float* src, int64_t n, int64_t rows, int64_t p, float* dst) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r)
      std::copy(src + (i * rows + r) * p, src + (i * rows + r + 1) * p, dst + (r * n + i) * p);
}
inline void images_apart(const float* src, int64_t n, int64_t rows, int64_t p, float* dst) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r)
      std::copy(src + (r * n + i) * p, src + (r * n + i + 1) * p, dst + (i * rows + r) * p);
}

}  // namespace xgrad
