#include "ops/conv_depthwise_rows.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "ops/conv_simd.h"
#include "ops/cpu.h"

namespace xgrad {
// Named, not anonymous: unity builds join this file with others (CMakeLists.txt).
namespace depthwise_rows_detail {

constexpr int64_t kColumns = 16;  // output columns a vector
constexpr int kRows = 8;          // output rows at once: 8 independent FMA chains
constexpr int kTaps = 3;          // a 3x3 kernel

// One plane's 3x3 correlation: out[i][j] = bias + Σ taps[ky·3 + kx] · in[i + ky - pt][j + kx - pl],
// the cells outside `in` counting as zero.
struct PlaneConv {
  int64_t in_h, in_w, out_h, out_w, pt, pl;
};

PlaneConv forward_plane(const ConvDims& d) {
  return {d.h, d.w, d.g.out_h, d.g.out_w, d.g.pad_top, d.g.pad_left};
}
// Cell (i, j) of dx gathers g[i + pt - ky][j + pl - kx] · w[ky][kx]: tap (2 - ky, 2 - kx) of a
// correlation of g padded by 2 - pt above and 2 - pl on the left (negative: cropped).
PlaneConv input_grad_plane(const ConvDims& d) {
  return {d.g.out_h, d.g.out_w, d.h, d.w, kTaps - 1 - d.g.pad_top, kTaps - 1 - d.g.pad_left};
}

// Where a masked load of row `row`, lane 0 at column `first`, starts. The address may lie before the
// plane (first < 0): its lanes there are masked off and read nothing, so it is computed as an integer.
const float* at(const float* plane, int64_t in_w, int64_t row, int64_t first) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(plane) +
                                        uintptr_t((row * in_w + first) * int64_t(sizeof(float))));
}

// Ask for the next plane's lines while this one runs: from a batch larger than the caches, the
// demand misses of one plane at a time left the kernel waiting on memory (KERNELS.md, session 22).
void prefetch_plane(const float* plane, int64_t floats) {
  for (int64_t i = 0; i < floats; i += kColumns) __builtin_prefetch(plane + i, 0, 3);
}
void prefetch_plane_to_write(float* plane, int64_t floats) {
  for (int64_t i = 0; i < floats; i += kColumns) __builtin_prefetch(plane + i, 1, 3);
}

}  // namespace depthwise_rows_detail

XGRAD_AVX512_BEGIN

namespace depthwise_rows_detail {

// The lanes of a vector of `outs` output columns whose input column (lane 0's is `first`) lies
// inside a row of in_w.
__mmask16 lanes_inside(int64_t first, int64_t in_w, int64_t outs) {
  const int64_t lo = std::max<int64_t>(0, -first), hi = std::min<int64_t>(outs, in_w - first);
  return hi <= lo ? __mmask16(0) : __mmask16(((1u << hi) - 1) & ~((1u << lo) - 1));
}
__mmask16 first_lanes(int64_t n) { return __mmask16((1u << n) - 1); }

// Output rows [i0, i0 + R) of column block j0. Each input row is loaded once per tap column and
// feeds the (up to) 3 output rows that read it: R + 2 loads for 3R FMAs, not one load per FMA (a
// masked load of 16 floats across two cache lines takes ~1.7 cycles here; the loads, not the FMAs,
// bounded a load per tap: 2x slower).
template <int R>
void correlate_rows(const PlaneConv& p, const float* in, const float* taps, float bias, int64_t i0,
                    int64_t j0, float* out) {
  const int64_t outs = std::min(kColumns, p.out_w - j0), top = i0 - p.pt;  // top: output row i0's tap row 0
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_set1_ps(bias);
  for (int64_t kx = 0; kx < kTaps; ++kx) {
    const int64_t first = j0 + kx - p.pl;
    const __mmask16 inside = lanes_inside(first, p.in_w, outs);
    if (!inside) continue;
    __m512 wv[kTaps];
    for (int ky = 0; ky < kTaps; ++ky) wv[ky] = _mm512_set1_ps(taps[ky * kTaps + kx]);
    for (int m = 0; m < R + kTaps - 1; ++m) {
      if (top + m < 0 || top + m >= p.in_h) continue;
      const __m512 v = _mm512_maskz_loadu_ps(inside, at(in, p.in_w, top + m, first));
      for (int ky = 0; ky < kTaps; ++ky)
        if (m - ky >= 0 && m - ky < R) acc[m - ky] = _mm512_fmadd_ps(wv[ky], v, acc[m - ky]);
    }
  }
  for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(out + (i0 + r) * p.out_w + j0, first_lanes(outs), acc[r]);
}

// Rows outer, column blocks inner: the plane is read and written front to back.
void correlate_plane(const PlaneConv& p, const float* in, const float* taps, float bias, float* out) {
  for (int64_t i0 = 0; i0 < p.out_h; i0 += kRows)
    with_count<kRows>(p.out_h - i0, [&](auto rows) {
      for (int64_t j0 = 0; j0 < p.out_w; j0 += kColumns)
        correlate_rows<decltype(rows)::value>(p, in, taps, bias, i0, j0, out);
    });
}

// acc[ky·3 + kx] += Σ over the plane's outputs of g · the input cell tap (ky, kx) reads. Each input
// row is loaded once per tap column and each g row once per tap row that reads it: 6 loads for 9
// FMAs into 9 independent sums.
void weight_plane(const PlaneConv& p, const float* in, const float* g, float* acc) {
  __m512 sum[kTaps][kTaps];
  for (auto& row : sum)
    for (auto& s : row) s = _mm512_setzero_ps();
  const int64_t rows_end =
      std::min(p.in_h, p.out_h - 1 + kTaps - p.pt);  // past the last row any output reads
  for (int64_t j0 = 0; j0 < p.out_w; j0 += kColumns) {
    const int64_t outs = std::min(kColumns, p.out_w - j0);
    __mmask16 inside[kTaps];
    for (int kx = 0; kx < kTaps; ++kx) inside[kx] = lanes_inside(j0 + kx - p.pl, p.in_w, outs);
    for (int64_t m = std::max<int64_t>(0, -p.pt); m < rows_end; ++m) {
      __m512 xs[kTaps];
      for (int kx = 0; kx < kTaps; ++kx)
        xs[kx] = _mm512_maskz_loadu_ps(inside[kx], at(in, p.in_w, m, j0 + kx - p.pl));
      for (int ky = 0; ky < kTaps; ++ky) {
        const int64_t i = m + p.pt - ky;  // the output row that reads row m with tap row ky
        if (i < 0 || i >= p.out_h) continue;
        const __m512 gv = _mm512_maskz_loadu_ps(first_lanes(outs), g + i * p.out_w + j0);
        for (int kx = 0; kx < kTaps; ++kx) sum[ky][kx] = _mm512_fmadd_ps(gv, xs[kx], sum[ky][kx]);
      }
    }
  }
  for (int t = 0; t < kTaps * kTaps; ++t) {  // the lanes in a fixed order: the same bits at any split
    alignas(64) float lanes[kColumns];
    _mm512_store_ps(lanes, sum[t / kTaps][t % kTaps]);
    for (const float v : lanes) acc[t] += v;
  }
}

void forward(const ConvDims& d, const float* x, const float* w, const float* b, float* y) {
  const PlaneConv p = forward_plane(d);
  const int64_t hw = d.h * d.w, out = d.positions();
  for (int64_t c = 0; c < d.c; ++c) {
    if (c + 1 < d.c) prefetch_plane(x + (c + 1) * hw, hw), prefetch_plane_to_write(y + (c + 1) * out, out);
    correlate_plane(p, x + c * hw, w + c * kTaps * kTaps, b ? b[c] : 0.0f, y + c * out);
  }
}

void weight_grad(const ConvDims& d, const float* x, const float* g, float* acc) {
  const PlaneConv p = forward_plane(d);
  const int64_t hw = d.h * d.w, out = d.positions();
  for (int64_t c = 0; c < d.c; ++c) {
    if (c + 1 < d.c) prefetch_plane(x + (c + 1) * hw, hw), prefetch_plane(g + (c + 1) * out, out);
    weight_plane(p, x + c * hw, g + c * out, acc + c * kTaps * kTaps);
  }
}

void input_grad(const ConvDims& d, const float* g, const float* flipped, float* dx) {
  const PlaneConv p = input_grad_plane(d);
  const int64_t hw = d.h * d.w, out = d.positions();
  for (int64_t c = 0; c < d.c; ++c) {
    if (c + 1 < d.c) prefetch_plane(g + (c + 1) * out, out), prefetch_plane_to_write(dx + (c + 1) * hw, hw);
    correlate_plane(p, g + c * out, flipped + c * kTaps * kTaps, 0.0f, dx + c * hw);
  }
}

}  // namespace depthwise_rows_detail

void depthwise_rows_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* y) {
  depthwise_rows_detail::forward(d, x, w, b, y);
}
void depthwise_rows_weight_grad(const ConvDims& d, const float* x, const float* g, float* acc) {
  depthwise_rows_detail::weight_grad(d, x, g, acc);
}
void depthwise_rows_input_grad(const ConvDims& d, const float* g, const float* flipped, float* dx) {
  depthwise_rows_detail::input_grad(d, g, flipped, dx);
}

XGRAD_AVX512_END

void depthwise_rows_flip(const ConvDims& d, const float* w, float* flipped) {
  const int64_t taps = d.kh * d.kw;
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t t = 0; t < taps; ++t) flipped[c * taps + t] = w[c * taps + taps - 1 - t];
}

}  // namespace xgrad
