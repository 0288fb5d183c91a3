// Max pooling with 16 planes in the vector lanes (AVX-512), for small planes: a 7x7 plane has 3
// windows a row, so vectors along a row stay mostly empty, while every plane of a block has the same
// windows, so a window is one vector compare per cell, padding or not. Each block of planes is
// copied channel-last (cells x 16), pooled there in the reference's cell order (the first largest
// cell wins; NaN never replaces), and the outputs and argmaxes copied back.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "ops/conv_ovec.h"
#include "ops/cpu.h"
#include "ops/pool_windows.h"

namespace xgrad {

XGRAD_AVX512_BEGIN

void max_lanes_avx512(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  const int64_t cells = d.h * d.w, outs = d.g.out_h * d.g.out_w;
  std::vector<float> xt(size_t(cells * kLanes)), yt(size_t(outs * kLanes)), at(size_t(outs * kLanes));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t b = p0; b < p1; b += kLanes) {
    const int64_t n = std::min(kLanes, p1 - b);
    for (int64_t k0 = 0; k0 < cells; k0 += kLanes)  // xt [cell, plane] = x [plane, cell]
      transpose_block(x + b * cells + k0, cells, xt.data() + k0 * kLanes, kLanes, n,
                      std::min(kLanes, cells - k0));
    // Lane l's flat index of cell 0: argmax is an index into the whole x.
    const __m512i origin = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(int32_t(b))),
                                              _mm512_set1_epi32(int32_t(cells)));
    for (int64_t i = 0; i < d.g.out_h; ++i)
      for (int64_t j = 0; j < d.g.out_w; ++j) {
        const Cells c = xgrad::cells(d, i, j);
        __m512 best = _mm512_loadu_ps(xt.data() + (c.r0 * d.w + c.s0) * kLanes);
        __m512i best_at = _mm512_set1_epi32(int32_t(c.r0 * d.w + c.s0));
        for (int64_t r = c.r0; r < c.r1; ++r)
          for (int64_t s = c.s0; s < c.s1; ++s) {
            const __m512 v = _mm512_loadu_ps(xt.data() + (r * d.w + s) * kLanes);
            const __mmask16 larger = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
            best = _mm512_mask_blend_ps(larger, best, v);
            best_at = _mm512_mask_blend_epi32(larger, best_at, _mm512_set1_epi32(int32_t(r * d.w + s)));
          }
        const int64_t o = i * d.g.out_w + j;
        _mm512_storeu_ps(yt.data() + o * kLanes, best);
        _mm512_storeu_ps(at.data() + o * kLanes, _mm512_castsi512_ps(_mm512_add_epi32(best_at, origin)));
      }
    for (int64_t o0 = 0; o0 < outs; o0 += kLanes) {  // y [plane, output] = yt [output, plane]
      const int64_t m = std::min(kLanes, outs - o0);
      transpose_block(yt.data() + o0 * kLanes, kLanes, y + b * outs + o0, outs, m, n);
      // The indices move as float bit patterns: the transpose only shuffles them.
      transpose_block(at.data() + o0 * kLanes, kLanes, reinterpret_cast<float*>(argmax + b * outs + o0), outs,
                      m, n);
    }
  }
}

XGRAD_AVX512_END

}  // namespace xgrad
