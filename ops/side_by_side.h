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
// The weight gradient over the batch (ConvKernel::batch_weight_grad) of kernels whose dw is
// g [O, nP] · colsᵀ [nP, K]: the batch's buffer holds colsᵀ of every image, [N, K], then g side by
// side, [O, N], for the batch's N positions; each call stores its images at their place.
inline int64_t batch_floats(int64_t images, int64_t positions, int64_t k, int64_t o) {
  return images * positions * (k + o);
}
// g [n, o, p] of images [first, first + n) of `images` into the batch's g [o, images·p].
inline void g_into_batch(const float* g, int64_t first, int64_t n, int64_t o, int64_t p, int64_t images,
                         float* batch_g) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < o; ++r)
      std::copy(g + (i * o + r) * p, g + (i * o + r + 1) * p, batch_g + (r * images + first + i) * p);
}
inline void images_apart(const float* src, int64_t n, int64_t rows, int64_t p, float* dst) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t r = 0; r < rows; ++r)
      std::copy(src + (r * n + i) * p, src + (r * n + i + 1) * p, dst + (i * rows + r) * p);
}

}  // namespace xgrad
