#include "ops/im2col.h"

#include <algorithm>

namespace xgrad {
namespace {

// Output columns j whose input column j*s - pad + offset lies in [0, w): [j0, j1).
void valid_range(int64_t out, int64_t w, int64_t s, int64_t start, int64_t& j0, int64_t& j1) {
  // start + j*s >= 0  and  start + j*s <= w - 1
  j0 = std::min(out, start >= 0 ? 0 : (-start + s - 1) / s);
  j1 = start > w - 1 ? 0 : std::min(out, (w - 1 - start) / s + 1);
  j1 = std::max(j1, j0);
}

// Calls row(c, row_index, i, r, col_start, j0, j1) for every (kernel tap, output row) pair;
// r < 0 or r >= h means the whole output row reads padding.
template <class F>
void each_row(const ConvDims& d, F&& f) {
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const int64_t k = (c * d.kh + p) * d.kw + q;
        const int64_t start = q * d.dilation[1] - d.g.pad_left;
        int64_t j0, j1;
        valid_range(d.g.out_w, d.w, d.stride[1], start, j0, j1);
        for (int64_t i = 0; i < d.g.out_h; ++i) {
          const int64_t r = i * d.stride[0] - d.g.pad_top + p * d.dilation[0];
          const bool inside = r >= 0 && r < d.h;
          f(c, k, i, r, start, inside ? j0 : 0, inside ? j1 : 0);
        }
      }
}

}  // namespace

PaddedPlane padded_plane(const ConvDims& d) {
  return {(d.g.out_h - 1) * d.stride[0] + (d.kh - 1) * d.dilation[0] + 1,
          (d.g.out_w - 1) * d.stride[1] + (d.kw - 1) * d.dilation[1] + 1};
}

void pad_image(const ConvDims& d, const float* x, float* xp) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t c = d.c / d.groups;
  std::fill(xp, xp + c * pp.size(), 0.0f);
  const int64_t s0 = d.g.pad_left, s1 = std::min(pp.cols, d.g.pad_left + d.w);
  const int64_t r1 = std::min(pp.rows, d.g.pad_top + d.h);
  for (int64_t k = 0; k < c && s1 > s0; ++k)
    for (int64_t r = d.g.pad_top; r < r1; ++r) {
      const float* src = x + (k * d.h + r - d.g.pad_top) * d.w;
      std::copy(src, src + (s1 - s0), xp + (k * pp.rows + r) * pp.cols + s0);
    }
}

void crop_image(const ConvDims& d, const float* dxp, float* dx) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t c = d.c / d.groups;
  std::fill(dx, dx + c * d.h * d.w, 0.0f);
  const int64_t s1 = std::min(d.w, pp.cols - d.g.pad_left), r1 = std::min(d.h, pp.rows - d.g.pad_top);
  for (int64_t k = 0; k < c && s1 > 0; ++k)
    for (int64_t r = 0; r < r1; ++r) {
      const float* src = dxp + (k * pp.rows + r + d.g.pad_top) * pp.cols + d.g.pad_left;
      std::copy(src, src + s1, dx + (k * d.h + r) * d.w);
    }
}

void im2col(const ConvDims& d, const float* x, float* cols) {
  const int64_t ow = d.g.out_w, sw = d.stride[1], positions = d.positions();
  each_row(d, [&](int64_t c, int64_t k, int64_t i, int64_t r, int64_t start, int64_t j0, int64_t j1) {
    float* dst = cols + k * positions + i * ow;
    std::fill(dst, dst + j0, 0.0f);
    if (j1 > j0) {
      const float* src = x + (c * d.h + r) * d.w + start + j0 * sw;  // input cell of column j0
      if (sw == 1)
        std::copy(src, src + (j1 - j0), dst + j0);
      else
        for (int64_t j = j0; j < j1; ++j) dst[j] = src[(j - j0) * sw];
    }
    std::fill(dst + j1, dst + ow, 0.0f);
  });
}

void col2im(const ConvDims& d, const float* cols, float* dx) {
  std::fill(dx, dx + d.c * d.h * d.w, 0.0f);
  const int64_t ow = d.g.out_w, sw = d.stride[1], positions = d.positions();
  each_row(d, [&](int64_t c, int64_t k, int64_t i, int64_t r, int64_t start, int64_t j0, int64_t j1) {
    if (j1 <= j0) return;
    const float* src = cols + k * positions + i * ow + j0;
    float* dst = dx + (c * d.h + r) * d.w + start + j0 * sw;
    if (sw == 1)
      for (int64_t j = 0; j < j1 - j0; ++j) dst[j] += src[j];
    else
      for (int64_t j = 0; j < j1 - j0; ++j) dst[j * sw] += src[j];
  });
}

}  // namespace xgrad
