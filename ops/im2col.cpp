#include "ops/im2col.h"

#include <immintrin.h>

#include <algorithm>

#include "ops/cpu.h"

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

// dst[k] = src[k * step] for k < n, and its reverse: a plain copy at step 1 and a deinterleave the
// compiler vectorises at step 2 (the strides convs use); any other step element by element.
void gather_every(const float* src, int64_t step, int64_t n, float* __restrict dst) {
  if (step == 1) {
    std::copy(src, src + n, dst);
  } else if (step == 2) {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[2 * k];
  } else {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[k * step];
  }
}
void scatter_every(const float* src, int64_t step, int64_t n, float* __restrict dst) {
  if (step == 1) {
    std::copy(src, src + n, dst);
  } else if (step == 2) {
    for (int64_t k = 0; k < n; ++k) dst[2 * k] = src[k];
  } else {
    for (int64_t k = 0; k < n; ++k) dst[k * step] = src[k];
  }
}

// x [h, w] from the phased plane at column stride 2: each row's two phases at once, x[2k] and x[2k + 1]
// from the two phase rows (one phase at a time stores every other cell, which stays scalar).
void interleave_phases(const ConvDims& d, const Phased& ph, const float* plane, float* x) {
  const int64_t cols = padded_plane(d).cols, half = (d.w + 1) / 2;
  for (int64_t r = 0; r < d.h; ++r) {
    const int64_t pr = r + d.g.pad_top;
    const float* from[2] = {plane, plane};
    int64_t n[2] = {0, 0};  // the cells 2k + c0 of row r that the plane holds: k < n[c0]
    for (int64_t c0 = 0; c0 < 2; ++c0) {
      const int64_t pc0 = c0 + d.g.pad_left;
      if (pr >= ph.rows || pc0 >= cols) continue;
      n[c0] = std::min((d.w - c0 + 1) / 2, (cols - pc0 + 1) / 2);
      from[c0] = plane + ph.at(pr, pc0);
    }
    float* __restrict xr = x + r * d.w;
    const float* __restrict even = from[0], * __restrict odd = from[1];
    const int64_t both = std::min(n[0], n[1]);
    for (int64_t k = 0; k < both; ++k) {
      xr[2 * k] = even[k];
      xr[2 * k + 1] = odd[k];
    }
    for (int64_t k = both; k < half; ++k) {
      xr[2 * k] = k < n[0] ? even[k] : 0.0f;
      if (2 * k + 1 < d.w) xr[2 * k + 1] = k < n[1] ? odd[k] : 0.0f;
    }
  }
}

}  // namespace

Phased phased(const ConvDims& d) {
  const PaddedPlane pp = padded_plane(d);
  return {pp.rows, d.stride[1], (pp.cols + d.stride[1] - 1) / d.stride[1]};
}

void copy_phased(const ConvDims& d, const Phased& ph, float* plane, float* x, bool to_phased) {
  const int64_t cols = padded_plane(d).cols, sw = ph.sw, padded_row = sw * ph.cph;
  if (!to_phased && sw == 2) return interleave_phases(d, ph, plane, x);
  if (to_phased) std::fill(plane, plane + ph.size(), 0.0f);
  // One column phase of x at a time, so the divisions stay out of the row loop.
  for (int64_t c0 = 0; c0 < std::min(sw, d.w); ++c0) {
    const int64_t pc0 = c0 + d.g.pad_left, n = (d.w - c0 + sw - 1) / sw;  // columns c0 + k*sw of x
    const int64_t inside = pc0 < cols ? std::min(n, (cols - pc0 + sw - 1) / sw) : 0, start = ph.at(0, pc0);
    for (int64_t r = 0; r < d.h; ++r) {
      const int64_t pr = r + d.g.pad_top, in_row = pr < ph.rows ? inside : 0;
      float* xr = x + r * d.w + c0;
      float* pl = in_row ? plane + start + pr * padded_row : plane;
      if (to_phased) {
        gather_every(xr, sw, in_row, pl);
      } else {
        scatter_every(pl, sw, in_row, xr);
        for (int64_t k = in_row; k < n; ++k) xr[k * sw] = 0.0f;
      }
    }
  }
}

PaddedPlane padded_plane(const ConvDims& d) {
  return {(d.g.out_h - 1) * d.stride[0] + (d.kh - 1) * d.dilation[0] + 1,
          (d.g.out_w - 1) * d.stride[1] + (d.kw - 1) * d.dilation[1] + 1};
}

void pad_image(const ConvDims& d, const float* x, float* xp) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t c = d.c / d.groups;
  const int64_t s0 = std::min(pp.cols, d.g.pad_left),
                s1 = std::max(s0, std::min(pp.cols, d.g.pad_left + d.w));
  const int64_t r0 = std::min(pp.rows, d.g.pad_top), r1 = std::max(r0, std::min(pp.rows, d.g.pad_top + d.h));
  // Every cell written once, row by row: zeroing the whole plane first wrote the image's cells twice
  // (a fifth of a strided ovec forward's time at 32 channels, 32x32, padding 1).
  for (int64_t k = 0; k < c; ++k) {
    float* plane = xp + k * pp.size();
    std::fill(plane, plane + r0 * pp.cols, 0.0f);
    for (int64_t r = r0; r < r1; ++r) {
      float* row = plane + r * pp.cols;
      const float* src = x + (k * d.h + r - d.g.pad_top) * d.w;
      std::fill(row, row + s0, 0.0f);
      std::copy(src, src + (s1 - s0), row + s0);
      std::fill(row + s1, row + pp.cols, 0.0f);
    }
    std::fill(plane + r1 * pp.cols, plane + pp.size(), 0.0f);
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
      gather_every(src, sw, j1 - j0, dst + j0);
    }
    std::fill(dst + j1, dst + ow, 0.0f);
  });
}

int64_t col2im_scratch(const ConvDims& d) { return d.c * phased(d).size(); }

// Each cell's sum runs in the order of the plain loop over (c, p, q, i, j), so the result is the
// same as adding into dx directly (which, at stride 2, adds every other cell: a scalar loop).
void col2im(const ConvDims& d, const float* cols, float* scratch, float* dx) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, positions = d.positions(), step = row_step(d, ph);
  std::fill(scratch, scratch + d.c * ph.size(), 0.0f);
  for (int64_t c = 0; c < d.c; ++c) {
    float* plane = scratch + c * ph.size();
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const float* src = cols + ((c * d.kh + p) * d.kw + q) * positions;
        float* dst = plane + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i)
          for (int64_t j = 0; j < ow; ++j) dst[i * step + j] += src[i * ow + j];
      }
    copy_phased(d, ph, plane, dx + c * d.h * d.w, false);
  }
}

XGRAD_AVX512_BEGIN
// col2im's sums in vectors, a row's last vector masked. Small planes are where it counts: a tap's
// output row there holds few cells (5 for a 5x5 output), and the plain loop spent more on its
// control than on its adds (col2im took half of a 16 -> 32, 5x5, stride-2 dx). The channels are
// the inner loop: the taps of one channel add into overlapping rows, and a masked load that
// follows a masked store to the same cells waits for the store to complete. Each cell still
// receives its terms in the order (p, q, i) of col2im, so the bits are the same.
void col2im_avx512(const ConvDims& d, const float* cols, float* scratch, float* dx, int64_t ld) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, cols_ld = ld ? ld : d.positions(), step = row_step(d, ph);
  const int64_t taps = d.kh * d.kw;
  const __mmask16 tail = __mmask16((1u << (ow % 16)) - 1);
  std::fill(scratch, scratch + d.c * ph.size(), 0.0f);
  for (int64_t p = 0; p < d.kh; ++p)
    for (int64_t q = 0; q < d.kw; ++q)
      for (int64_t i = 0; i < oh; ++i) {
        const float* src = cols + (p * d.kw + q) * cols_ld + i * ow;
        float* dst = scratch + tap_start(d, ph, p, q) + i * step;
        for (int64_t c = 0; c < d.c; ++c) {
          float* dr = dst + c * ph.size();
          const float* sr = src + c * taps * cols_ld;
          int64_t j = 0;
          for (; j + 16 <= ow; j += 16)
            _mm512_storeu_ps(dr + j, _mm512_add_ps(_mm512_loadu_ps(dr + j), _mm512_loadu_ps(sr + j)));
          if (tail)
            _mm512_mask_storeu_ps(
                dr + j, tail,
                _mm512_add_ps(_mm512_maskz_loadu_ps(tail, dr + j), _mm512_maskz_loadu_ps(tail, sr + j)));
        }
      }
  for (int64_t c = 0; c < d.c; ++c) copy_phased(d, ph, scratch + c * ph.size(), dx + c * d.h * d.w, false);
}
XGRAD_AVX512_END

}  // namespace xgrad
