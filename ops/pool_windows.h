#pragma once
// Pool windows against the image's edges, shared by the max kernels (pool_kernels.cpp and
// pool_max_lanes.cpp): which cells a window covers, which windows of a row lie inside the image's
// columns, and the cell-by-cell scan for windows that padding clips.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ops/window.h"

namespace xgrad {

// Rows [r0, r1) and columns [s0, s1) of the image that window (i, j) covers.
struct Cells {
  int64_t r0, r1, s0, s1;
  int64_t count() const { return (r1 - r0) * (s1 - s0); }
};
inline Cells cells(const PoolDims& d, int64_t i, int64_t j) {
  const int64_t r = i * d.win.stride[0] - d.g.pad_top, s = j * d.win.stride[1] - d.g.pad_left;
  return {std::max<int64_t>(r, 0), std::min(r + d.win.kernel[0], d.h), std::max<int64_t>(s, 0),
          std::min(s + d.win.kernel[1], d.w)};
}

// Windows j0 <= j < j1 of every output row start at or after column 0 and end at or before the
// last column: only rows clip them.
struct InsideColumns {
  int64_t j0, j1;
};
inline InsideColumns inside_columns(const PoolDims& d) {
  const int64_t sw = d.win.stride[1], ow = d.g.out_w;
  const int64_t j0 = std::min(ow, (d.g.pad_left + sw - 1) / sw);
  const int64_t last = d.w - d.win.kernel[1] + d.g.pad_left;  // the last padded start column that fits
  return {j0, last < 0 ? j0 : std::max(j0, std::min(ow, last / sw + 1))};
}

// Max of window (i, j) of plane pl over its cells inside the image; argmax is the first largest
// cell's flat index into x (-1 for a window with no cell, which geometry never makes).
inline void max_clipped(const PoolDims& d, int64_t pl, int64_t i, int64_t j, const float* x, float* y,
                        int32_t* argmax) {
  const Cells c = cells(d, i, j);
  float best = -std::numeric_limits<float>::infinity();
  int64_t best_at = -1;
  for (int64_t r = c.r0; r < c.r1; ++r)
    for (int64_t s = c.s0; s < c.s1; ++s) {
      const int64_t at = (pl * d.h + r) * d.w + s;
      if (best_at < 0 || x[at] > best) best = x[at], best_at = at;
    }
  const int64_t o = (pl * d.g.out_h + i) * d.g.out_w + j;
  y[o] = best;
  argmax[o] = int32_t(best_at);
}

// Max of window (i, j) of plane pl whose columns lie inside the image, over image rows [r0, r1):
// a scan in the reference's order (rows, then columns; a strictly larger value replaces the best).
inline void max_scan(const PoolDims& d, int64_t pl, int64_t i, int64_t j, int64_t r0, int64_t r1,
                     const float* x, float* y, int32_t* argmax) {
  const int64_t origin = (pl * d.h + r0) * d.w + j * d.win.stride[1] - d.g.pad_left;
  float best = x[origin];
  int64_t best_at = origin;
  for (int64_t p = 0; p < r1 - r0; ++p)
    for (int64_t q = 0; q < d.win.kernel[1]; ++q) {
      const int64_t at = origin + p * d.w + q;
      if (x[at] > best) best = x[at], best_at = at;
    }
  const int64_t o = (pl * d.g.out_h + i) * d.g.out_w + j;
  y[o] = best;
  argmax[o] = int32_t(best_at);
}

// Any max pool with 16 (AVX-512) or 8 (AVX2) planes in the vector lanes (pool_max_lanes.cpp).
void max_lanes_avx512(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax);
void max_lanes_avx2(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax);

}  // namespace xgrad
