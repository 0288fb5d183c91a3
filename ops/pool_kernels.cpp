#include "ops/pool_kernels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/error.h"
#include "ops/pool_windows.h"

namespace xgrad {
namespace {

bool no_padding_reached(const PoolDims& d) {
  return d.g.pad_top == 0 && d.g.pad_left == 0 &&
         (d.g.out_h - 1) * d.win.stride[0] + d.win.kernel[0] <= d.h &&
         (d.g.out_w - 1) * d.win.stride[1] + d.win.kernel[1] <= d.w;
}

// dst[j] += src[j * step] for j < n: steps 1 and 2 as literals, so those loops vectorise.
void add_every(const float* src, int64_t step, int64_t n, float* __restrict dst) {
  if (step == 1) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j];
  } else if (step == 2) {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[2 * j];
  } else {
    for (int64_t j = 0; j < n; ++j) dst[j] += src[j * step];
  }
}

// One output row of a 2x2 window, branch-free (comparisons as 0/1 arithmetic) so that it
// vectorises and random data costs no mispredicted branches. SW: column stride, 0 = runtime.
template <int SW>
void max_row_2x2(const float* r0, const float* r1, int64_t sw, int64_t ow, int64_t w, int32_t at0, float* y,
                 int32_t* argmax) {
  if (SW) sw = SW;
  for (int64_t j = 0; j < ow; ++j) {
    const float a = r0[j * sw], b = r0[j * sw + 1], c = r1[j * sw], e = r1[j * sw + 1];
    const int32_t right0 = b > a, right1 = e > c;
    const float top = std::max(a, b), bottom = std::max(c, e);
    const int32_t down = bottom > top;
    y[j] = std::max(top, bottom);
    argmax[j] = int32_t(at0 + j * sw + down * (w + right1) + (1 - down) * right0);
  }
}

// Any window that stays inside the image: rows of 2x2 windows branch-free, others by a scan.
void max_nopad_forward(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  const int64_t kh = d.win.kernel[0], kw = d.win.kernel[1], oh = d.g.out_h, ow = d.g.out_w;
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t row = (pl * d.h + i * d.win.stride[0]) * d.w, o = (pl * oh + i) * ow;
      if (kh == 2 && kw == 2) {
        auto* f = d.win.stride[1] == 2 ? max_row_2x2<2> : max_row_2x2<0>;
        f(x + row, x + row + d.w, d.win.stride[1], ow, d.w, int32_t(row), y + o, argmax + o);
        continue;
      }
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t origin = row + j * d.win.stride[1];
        float best = x[origin];
        int64_t best_at = origin;
        for (int64_t p = 0; p < kh; ++p)
          for (int64_t q = 0; q < kw; ++q) {
            const int64_t at = origin + p * d.w + q;
            if (x[at] > best) best = x[at], best_at = at;
          }
        y[o + j] = best;
        argmax[o + j] = int32_t(best_at);
      }
    }
}

void max_backward(const PoolDims& d, int64_t p0, int64_t p1, const float* g, const int32_t* argmax,
                  float* dx) {
  const int64_t plane_in = d.h * d.w, plane_out = d.g.out_h * d.g.out_w;
  std::fill(dx + p0 * plane_in, dx + p1 * plane_in, 0.0f);
  for (int64_t o = p0 * plane_out; o < p1 * plane_out; ++o) dx[argmax[o]] += g[o];
}

// Windows padding clips cell by cell; those inside the image's columns (rows clipped) by a scan.
void max_general_forward(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y,
                         int32_t* argmax) {
  const int64_t kh = d.win.kernel[0], oh = d.g.out_h, ow = d.g.out_w;
  const InsideColumns in = inside_columns(d);
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t r = i * d.win.stride[0] - d.g.pad_top, r0 = std::max<int64_t>(r, 0),
                    r1 = std::min(r + kh, d.h);
      for (int64_t j = 0; j < ow; ++j)
        if (r0 >= r1 || j < in.j0 || j >= in.j1)
          max_clipped(d, pl, i, j, x, y, argmax);
        else
          max_scan(d, pl, i, j, r0, r1, x, y, argmax);
    }
}

// Average over the real cells of each window, one output row at a time: for each tap, a pass
// over the row (contiguous at stride 1, so it vectorises), or for windows wider than the row of
// outputs (8x8 windows on 8x8 planes), a sum along each window row.
void avg_forward(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t*) {
  const int64_t oh = d.g.out_h, ow = d.g.out_w, sw = d.win.stride[1], kw = d.win.kernel[1];
  const bool along_rows = ow >= kw;  // the inner loop runs over the longer of outputs and window columns
  const bool inside = no_padding_reached(d);
  const float inv = 1.0f / float(d.win.kernel[0] * d.win.kernel[1]);
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      float* yr = y + (pl * oh + i) * ow;
      if (!inside) {
        for (int64_t j = 0; j < ow; ++j) {
          const Cells c = cells(d, i, j);
          float sum = 0;
          for (int64_t r = c.r0; r < c.r1; ++r)
            for (int64_t s = c.s0; s < c.s1; ++s) sum += x[(pl * d.h + r) * d.w + s];
          yr[j] = sum / float(c.count());
        }
        continue;
      }
      std::fill(yr, yr + ow, 0.0f);
      for (int64_t p = 0; p < d.win.kernel[0]; ++p) {
        const float* xr = x + (pl * d.h + i * d.win.stride[0] + p) * d.w;
        if (kw == 2 && sw == 2)  // the common 2x2/2: pairs of cells, which the compiler vectorises
          for (int64_t j = 0; j < ow; ++j) yr[j] += xr[2 * j] + xr[2 * j + 1];
        else if (along_rows)
          for (int64_t q = 0; q < kw; ++q) add_every(xr + q, sw, ow, yr);
        else
          for (int64_t j = 0; j < ow; ++j) {
            float sum = 0;
            for (int64_t q = 0; q < kw; ++q) sum += xr[j * sw + q];
            yr[j] += sum;
          }
      }
      for (int64_t j = 0; j < ow; ++j) yr[j] *= inv;
    }
}

// The adjoint of avg_forward; with windows inside the image, one pass per tap over each output row.
void avg_backward(const PoolDims& d, int64_t p0, int64_t p1, const float* g, const int32_t*, float* dx) {
  const int64_t oh = d.g.out_h, ow = d.g.out_w, sw = d.win.stride[1], kw = d.win.kernel[1];
  const bool along_rows = ow >= kw;
  std::fill(dx + p0 * d.h * d.w, dx + p1 * d.h * d.w, 0.0f);
  const float inv = 1.0f / float(d.win.kernel[0] * d.win.kernel[1]);
  if (no_padding_reached(d)) {
    for (int64_t pl = p0; pl < p1; ++pl)
      for (int64_t i = 0; i < oh; ++i) {
        const float* gr = g + (pl * oh + i) * ow;
        for (int64_t p = 0; p < d.win.kernel[0]; ++p) {
          float* dr = dx + (pl * d.h + i * d.win.stride[0] + p) * d.w;
          if (kw == 2 && sw == 2)
            for (int64_t j = 0; j < ow; ++j) {
              const float share = gr[j] * inv;
              dr[2 * j] += share;
              dr[2 * j + 1] += share;
            }
          else if (along_rows)
            for (int64_t q = 0; q < kw; ++q) {
              float* dq = dr + q;
              for (int64_t j = 0; j < ow; ++j) dq[j * sw] += gr[j] * inv;
            }
          else
            for (int64_t j = 0; j < ow; ++j) {
              const float share = gr[j] * inv;
              for (int64_t q = 0; q < kw; ++q) dr[j * sw + q] += share;
            }
        }
      }
    return;
  }
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const Cells c = cells(d, i, j);
        const float share = g[(pl * oh + i) * ow + j] / float(c.count());
        for (int64_t r = c.r0; r < c.r1; ++r)
          for (int64_t s = c.s0; s < c.s1; ++s) dx[(pl * d.h + r) * d.w + s] += share;
      }
}

// Windows inside the image, separably: each output row first adds its kh input rows into one row of
// the columns the windows read (contiguous adds, which vectorise), then sums kw cells of that row per
// window; kh + kw adds a window instead of kh·kw passes over the row of outputs (KERNELS.md). Backward
// stays avg's: its adjoint done the same way measured slower (2x2/2 on 28x28: 516 -> 1145 µs).
// SW, KW: the column stride and window width where known at compile time (else 0).
template <int SW, int KW>
void window_row_sums(const float* r, int64_t sw, int64_t kw, int64_t ow, float inv, float* y) {
  if (SW) sw = SW;
  if (KW) kw = KW;
  for (int64_t j = 0; j < ow; ++j) {
    float sum = r[j * sw];
    for (int64_t q = 1; q < kw; ++q) sum += r[j * sw + q];
    y[j] = sum * inv;
  }
}
using RowSums = void (*)(const float*, int64_t, int64_t, int64_t, float, float*);
RowSums window_row_sums_for(const PoolDims& d) {
  const Pair s = d.win.stride, k = d.win.kernel;
  if (s[1] == 2 && k[1] == 2) return window_row_sums<2, 2>;
  if (s[1] == 2 && k[1] == 3) return window_row_sums<2, 3>;
  if (s[1] == 1 && k[1] == 3) return window_row_sums<1, 3>;
  return window_row_sums<0, 0>;
}

void avg_inside_forward(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t*) {
  const int64_t oh = d.g.out_h, ow = d.g.out_w, kh = d.win.kernel[0];
  const int64_t width = (ow - 1) * d.win.stride[1] + d.win.kernel[1];  // the columns windows read
  const float inv = 1.0f / float(kh * d.win.kernel[1]);
  const RowSums row_sums = window_row_sums_for(d);
  std::vector<float> rows(static_cast<size_t>(width));
  float* __restrict sum = rows.data();
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      const float* xr = x + (pl * d.h + i * d.win.stride[0]) * d.w;
      std::copy(xr, xr + width, sum);
      for (int64_t p = 1; p < kh; ++p)
        for (int64_t c = 0; c < width; ++c) sum[c] += xr[p * d.w + c];
      row_sums(sum, d.win.stride[1], d.win.kernel[1], ow, inv, y + (pl * oh + i) * ow);
    }
}

XGRAD_AVX512_BEGIN
// max 2x2 stride 2 with AVX-512: 16 windows at a time, the even and odd columns of two rows
// split out by permutes; blends and masks do what the comparisons do in max_row_2x2.
void max_row_2x2_s2(const float* r0, const float* r1, int ow, int w, int32_t at0, float* y, int32_t* argmax) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lanes2 =
      _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (int j0 = 0; j0 < ow; j0 += 16) {
    const int n = std::min(16, ow - j0);
    const __mmask16 m = __mmask16((1u << n) - 1);
    const __mmask16 lo = __mmask16((1u << std::min(16, 2 * n)) - 1),
                    hi = __mmask16((1u << std::max(0, 2 * n - 16)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * j0),
                 x1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * j0 + 16);
    const __m512 z0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * j0),
                 z1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * j0 + 16);
    const __m512 a = _mm512_permutex2var_ps(x0, even, x1), b = _mm512_permutex2var_ps(x0, odd, x1);
    const __m512 c = _mm512_permutex2var_ps(z0, even, z1), e = _mm512_permutex2var_ps(z0, odd, z1);
    const __mmask16 right0 = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ),
                    right1 = _mm512_cmp_ps_mask(e, c, _CMP_GT_OQ);
    const __m512 top = _mm512_mask_blend_ps(right0, a, b), bottom = _mm512_mask_blend_ps(right1, c, e);
    const __mmask16 down = _mm512_cmp_ps_mask(bottom, top, _CMP_GT_OQ);
    _mm512_mask_storeu_ps(y + j0, m, _mm512_mask_blend_ps(down, top, bottom));
    const __m512i up_off = _mm512_maskz_mov_epi32(right0, _mm512_set1_epi32(1));
    const __m512i down_off = _mm512_mask_blend_epi32(right1, _mm512_set1_epi32(w), _mm512_set1_epi32(w + 1));
    const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(at0 + 2 * j0), lanes2);
    _mm512_mask_storeu_epi32(argmax + j0, m,
                             _mm512_add_epi32(at, _mm512_mask_blend_epi32(down, up_off, down_off)));
  }
}

void max_2x2s2_forward(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  const int64_t oh = d.g.out_h, ow = d.g.out_w;
  for (int64_t pl = p0; pl < p1; ++pl)
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t row = (pl * d.h + 2 * i) * d.w, o = (pl * oh + i) * ow;
      max_row_2x2_s2(x + row, x + row + d.w, int(ow), int(d.w), int32_t(row), y + o, argmax + o);
    }
}
XGRAD_AVX512_END

// From 6 windows a row; below, the lanes kernel wins (µs per 64 images: 8x8 at 64 channels 94 → 65,
// 4x4 at 128 87 → 36; 12x12, 14x14 and 16x16 tie).
bool max_2x2s2_applies(const PoolDims& d, bool is_max, Isa isa) {
  return is_max && isa == Isa::Avx512 && d.win.kernel == Pair{2, 2} && d.win.stride == Pair{2, 2} &&
         no_padding_reached(d) && d.g.out_w >= 6;
}
// Every other max pool at AVX-512, padded or not: with 16 planes in the lanes every cell of a window is
// one compare, and it beat the vectors along rows it replaced on every shape measured (µs per 64
// images, 3x3/2: 7x7 at 128 channels 381–393 → 103–106, 16x16 at 64 531 → 287–292, 24x24 padded
// 812–838 → 254–272, 112x112 padded (16 images) 15,585–16,363 → 7,305–8,527).
bool max_lanes_applies(const PoolDims&, bool is_max, Isa isa) { return is_max && isa == Isa::Avx512; }
// At AVX2 (8 planes a vector) every max pool but 2x2/2 with 12 or more windows a row, where max_inside's
// branch-free rows win (µs per 64 images, old kernels → this: 3x3/2 7x7 at 128 channels 410–459 →
// 162–206; 24x24 padded 1571–1690 → 539–560; 3x3/1 padded 14x14 7286–7528 → 1895–2014; 2x2/2 on 14x14
// 246–254 → 141–184; 24x24 72–74 → 64–65, a tie; 28x28 562–610 against 899–968).
bool max_lanes_avx2_applies(const PoolDims& d, bool is_max, Isa isa) {
  const bool wide_2x2s2 =
      d.win.kernel == Pair{2, 2} && d.win.stride == Pair{2, 2} && no_padding_reached(d) && d.g.out_w >= 12;
  return is_max && isa >= Isa::Avx2 && !wide_2x2s2;
}
bool max_nopad_applies(const PoolDims& d, bool is_max, Isa) { return is_max && no_padding_reached(d); }
bool max_applies(const PoolDims&, bool is_max, Isa) { return is_max; }
bool avg_inside_applies(const PoolDims& d, bool is_max, Isa) { return !is_max && no_padding_reached(d); }
bool avg_applies(const PoolDims&, bool is_max, Isa) { return !is_max; }

std::string& forced_pool_kernel() {
  static std::string name = [] {
    const char* v = std::getenv("XGRAD_POOL_KERNEL");
    return std::string(v ? v : "");
  }();
  return name;
}

}  // namespace

const std::vector<PoolKernel>& pool_kernels() {
  static const std::vector<PoolKernel> table = {
      {"max_2x2s2_avx512", max_2x2s2_applies, max_2x2s2_forward, max_backward},
      {"max_lanes_avx512", max_lanes_applies, max_lanes_avx512, max_backward},
      {"max_lanes_avx2", max_lanes_avx2_applies, max_lanes_avx2, max_backward},
      {"max_inside", max_nopad_applies, max_nopad_forward, max_backward},
      {"max_general", max_applies, max_general_forward, max_backward},
      {"avg_inside", avg_inside_applies, avg_inside_forward, avg_backward},
      {"avg", avg_applies, avg_forward, avg_backward},
  };
  return table;
}

const PoolKernel& choose_pool_kernel(const PoolDims& d, bool is_max) {
  const Isa isa = cpu_isa();
  for (const PoolKernel& k : pool_kernels()) {
    if (!forced_pool_kernel().empty() && forced_pool_kernel() != k.name) continue;
    if (k.applies(d, is_max, isa)) return k;
    if (!forced_pool_kernel().empty())
      throw Error("pool kernel \"" + forced_pool_kernel() + "\" does not apply to this pool on " +
                  isa_name(isa));
  }
  throw Error("no pool kernel named \"" + forced_pool_kernel() + "\"");
}

void force_pool_kernel(const std::string& name) { forced_pool_kernel() = name; }

}  // namespace xgrad
