// Max pooling of any window at column stride 1 or 2 with AVX-512: the windows of an output row
// that lie inside the image's columns 16 at a time (one lane per window, every tap a load, a
// compare and two blends, in the reference's tap order so the first largest cell wins), the few
// that padding clips at the row's ends cell by cell.
#include <immintrin.h>

#include "ops/cpu.h"
#include "ops/pool_windows.h"

namespace xgrad {

XGRAD_AVX512_BEGIN
namespace {

__mmask16 first_lanes(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

// Cells x[at + j*sw] of the m windows of a block (sw 1 or 2); lanes past m read nothing.
__m512 load_cells(const float* x, int64_t at, int64_t sw, int64_t m) {
  if (sw == 1) return _mm512_maskz_loadu_ps(first_lanes(m), x + at);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const int64_t cells = 2 * m - 1;  // up to the last window's cell
  const __m512 a = _mm512_maskz_loadu_ps(first_lanes(cells), x + at);
  const __m512 b = _mm512_maskz_loadu_ps(first_lanes(std::max<int64_t>(0, cells - 16)), x + at + 16);
  return _mm512_permutex2var_ps(a, even, b);
}

// Windows [j0, j0 + n) of one output row, over image rows [r0, r1); `first` is window j0's
// top-left cell in the plane x, whose flat offset in the whole input is at0.
void max_row(const float* x, int64_t w, int64_t r0, int64_t r1, int64_t first, int64_t kw, int64_t sw,
             int64_t n, int32_t at0, float* y, int32_t* argmax) {
  const __m512i lane_offsets =
      _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                         _mm512_set1_epi32(int32_t(sw)));
  for (int64_t b = 0; b < n; b += 16) {
    const int64_t m = std::min<int64_t>(16, n - b), base = first + b * sw;
    __m512 best = load_cells(x, base, sw, m);
    __m512i best_at = _mm512_add_epi32(_mm512_set1_epi32(int32_t(at0 + base)), lane_offsets);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t q = r == r0 ? 1 : 0; q < kw; ++q) {
        const int64_t tap = base + (r - r0) * w + q;
        const __m512 v = load_cells(x, tap, sw, m);
        const __mmask16 larger = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);  // NaN never replaces
        best = _mm512_mask_blend_ps(larger, best, v);
        best_at = _mm512_mask_blend_epi32(
            larger, best_at, _mm512_add_epi32(_mm512_set1_epi32(int32_t(at0 + tap)), lane_offsets));
      }
    _mm512_mask_storeu_ps(y + b, first_lanes(m), best);
    _mm512_mask_storeu_epi32(argmax + b, first_lanes(m), best_at);
  }
}

// Windows [j0, j0 + n) of two output rows at once, n <= 8, row A's in lanes 0-7 and row B's in lanes
// 8-15, both rows' windows wholly inside the image's rows (kh of them): on small planes a row has few
// windows (7 at 3x3/2 on 16x16), and one row a vector left over half of each vector empty.
// first_a, first_b: each row's first window's top-left cell in the plane x.
void max_two_rows(const float* x, int64_t w, int64_t kh, int64_t kw, int64_t sw, int64_t n, int64_t first_a,
                  int64_t first_b, int32_t at0, float* ya, float* yb, int32_t* argmax_a, int32_t* argmax_b) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
  const __m512i pick = sw == 1 ? _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
                               : _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __mmask16 read = first_lanes(sw * (n - 1) + 1), write = first_lanes(n);
  // Each lane's first cell as a flat index into the whole input: the rows' origins, then j·sw.
  const __m512i origin =
      _mm512_add_epi32(_mm512_mask_blend_epi32(__mmask16(0xFF00), _mm512_set1_epi32(int32_t(at0 + first_a)),
                                               _mm512_set1_epi32(int32_t(at0 + first_b))),
                       _mm512_mullo_epi32(lane, _mm512_set1_epi32(int32_t(sw))));
  const auto cells = [&](int64_t offset) {
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(read, x + first_a + offset), pick,
                                  _mm512_maskz_loadu_ps(read, x + first_b + offset));
  };
  __m512 best = cells(0);
  __m512i best_at = origin;
  for (int64_t p = 0; p < kh; ++p)
    for (int64_t q = p == 0 ? 1 : 0; q < kw; ++q) {
      const int64_t offset = p * w + q;
      const __m512 v = cells(offset);
      const __mmask16 larger = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);  // NaN never replaces
      best = _mm512_mask_blend_ps(larger, best, v);
      best_at = _mm512_mask_blend_epi32(larger, best_at,
                                        _mm512_add_epi32(origin, _mm512_set1_epi32(int32_t(offset))));
    }
  _mm512_mask_storeu_ps(ya, write, best);
  _mm512_mask_storeu_epi32(argmax_a, write, best_at);
  // Row B's lanes 8-15 moved down to 0-7.
  const __m512i upper = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  _mm512_mask_storeu_ps(yb, write, _mm512_permutex2var_ps(best, upper, best));
  _mm512_mask_storeu_epi32(argmax_b, write, _mm512_permutex2var_epi32(best_at, upper, best_at));
}

}  // namespace

void max_windows_avx512(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y,
                        int32_t* argmax) {
  const int64_t kh = d.win.kernel[0], kw = d.win.kernel[1], sh = d.win.stride[0], sw = d.win.stride[1];
  const int64_t oh = d.g.out_h, ow = d.g.out_w;
  const InsideColumns in = inside_columns(d);
  const int64_t n = in.j1 - in.j0;
  // Whether output row i's windows take all kh rows of the image (none clipped by padding).
  const auto whole_rows = [&](int64_t i) {
    const int64_t r = i * sh - d.g.pad_top;
    return i < oh && r >= 0 && r + kh <= d.h;
  };
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t r = i * sh - d.g.pad_top, r0 = std::max<int64_t>(r, 0), r1 = std::min(r + kh, d.h);
      if (n > 0 && n <= 8 && whole_rows(i) && whole_rows(i + 1)) {  // rows i and i + 1 in one vector
        for (const int64_t row : {i, i + 1})
          for (int64_t j = 0; j < ow; ++j)
            if (j < in.j0 || j >= in.j1) max_clipped(d, pl, row, j, x, y, argmax);
        const int64_t oa = (pl * oh + i) * ow + in.j0, ob = oa + ow, first = in.j0 * sw - d.g.pad_left;
        max_two_rows(x + pl * d.h * d.w, d.w, kh, kw, sw, n, r * d.w + first, (r + sh) * d.w + first,
                     int32_t(pl * d.h * d.w), y + oa, y + ob, argmax + oa, argmax + ob);
        ++i;
        continue;
      }
      const bool inside_rows = r0 < r1;
      for (int64_t j = 0; j < ow; ++j)
        if (!inside_rows || j < in.j0 || j >= in.j1) max_clipped(d, pl, i, j, x, y, argmax);
      if (!inside_rows) continue;
      const int64_t o = (pl * oh + i) * ow + in.j0;
      max_row(x + pl * d.h * d.w, d.w, r0, r1, r0 * d.w + in.j0 * sw - d.g.pad_left, kw, sw, in.j1 - in.j0,
              int32_t(pl * d.h * d.w), y + o, argmax + o);
    }
}

XGRAD_AVX512_END

}  // namespace xgrad
