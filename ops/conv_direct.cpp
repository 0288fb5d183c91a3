#include "ops/conv_direct.h"

#include <immintrin.h>

#include <algorithm>

#include "ops/conv_simd.h"
#include "ops/cpu.h"

namespace xgrad {

PaddedDims padded_dims(const ConvDims& d) {
  const int64_t blocks = (d.g.out_w + 15) / 16;
  return {d.g.out_h + d.kh - 1, blocks * 16 + d.kw - 1};
}

void direct_pad(const ConvDims& d, const float* x, float* xp) {
  const PaddedDims pd = padded_dims(d);
  std::fill(xp, xp + pd.size(), 0.0f);
  const int64_t c0 = std::max<int64_t>(d.g.pad_left, 0), c1 = std::min(pd.cols, d.g.pad_left + d.w);
  for (int64_t r = std::max<int64_t>(d.g.pad_top, 0); r < std::min(pd.rows, d.g.pad_top + d.h); ++r)
    if (c1 > c0)
      std::copy(x + (r - d.g.pad_top) * d.w + c0 - d.g.pad_left,
                x + (r - d.g.pad_top) * d.w + c1 - d.g.pad_left, xp + r * pd.cols + c0);
}

int64_t direct_acc_size(const ConvDims& d) { return d.o * d.kh * d.kw * 16; }

void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.kh * d.kw; ++k) {
    float s = 0;
    for (int l = 0; l < 16; ++l) s += acc[k * 16 + l];
    dw[k] += s;
  }
}

XGRAD_AVX512_BEGIN

namespace {

// Output columns [16*jb, 16*jb + 16) that exist.
__mmask16 block_mask(const ConvDims& d, int64_t jb) {
  const int64_t lanes = std::min<int64_t>(16, d.g.out_w - 16 * jb);
  return __mmask16((1u << lanes) - 1);
}

// Calls f(std::integral_constant<int, OB>) for output channels [o0, o0 + OB), OB <= 8, so the
// accumulators of a group are named registers.
template <class F>
void by_groups(int64_t channels, F&& f) {
  for (int64_t o0 = 0; o0 < channels; o0 += 8) {
    switch (std::min<int64_t>(8, channels - o0)) {
      case 1:
        f(o0, std::integral_constant<int, 1>{});
        break;
      case 2:
        f(o0, std::integral_constant<int, 2>{});
        break;
      case 3:
        f(o0, std::integral_constant<int, 3>{});
        break;
      case 4:
        f(o0, std::integral_constant<int, 4>{});
        break;
      case 5:
        f(o0, std::integral_constant<int, 5>{});
        break;
      case 6:
        f(o0, std::integral_constant<int, 6>{});
        break;
      case 7:
        f(o0, std::integral_constant<int, 7>{});
        break;
      default:
        f(o0, std::integral_constant<int, 8>{});
        break;
    }
  }
}

template <int OB>
void forward_group(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.kh * d.kw, ow = d.g.out_w, plane = d.g.out_h * ow;
  for (int64_t i = 0; i < d.g.out_h; ++i)
    for (int64_t jb = 0; jb * 16 < ow; ++jb) {
      __m512 acc[OB];
      for (int o = 0; o < OB; ++o) acc[o] = _mm512_set1_ps(b ? b[o] : 0.0f);
      for (int64_t p = 0; p < d.kh; ++p)
        for (int64_t q = 0; q < d.kw; ++q) {
          const __m512 xv = _mm512_loadu_ps(xp + (i + p) * pd.cols + jb * 16 + q);
          for (int o = 0; o < OB; ++o)
            acc[o] = _mm512_fmadd_ps(_mm512_set1_ps(w[o * taps + p * d.kw + q]), xv, acc[o]);
        }
      const __mmask16 m = block_mask(d, jb);
      for (int o = 0; o < OB; ++o) _mm512_mask_storeu_ps(y + o * plane + i * ow + jb * 16, m, acc[o]);
    }
}

// acc [o, tap, 16 lanes] += Σ_{i, j} g[o, i, j] * xp[i + p, j + q] for OB channels and QB taps
// q0 .. q0+QB of kernel row p (xrow = xp + p * cols + q0): each g and x vector loaded once per block.
template <int OB, int QB>
void weight_block(const ConvDims& d, const float* xrow, const float* g, float* acc) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.kh * d.kw, ow = d.g.out_w, plane = d.g.out_h * ow;
  __m512 a[OB][QB];
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < QB; ++t) a[o][t] = _mm512_loadu_ps(acc + (o * taps + t) * 16);
  for (int64_t i = 0; i < d.g.out_h; ++i)
    for (int64_t jb = 0; jb * 16 < ow; ++jb) {
      const __mmask16 m = block_mask(d, jb);
      __m512 gv[OB];
      for (int o = 0; o < OB; ++o) gv[o] = _mm512_maskz_loadu_ps(m, g + o * plane + i * ow + jb * 16);
      for (int t = 0; t < QB; ++t) {
        const __m512 xv = _mm512_loadu_ps(xrow + i * pd.cols + jb * 16 + t);
        for (int o = 0; o < OB; ++o) a[o][t] = _mm512_fmadd_ps(gv[o], xv, a[o][t]);
      }
    }
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < QB; ++t) _mm512_storeu_ps(acc + (o * taps + t) * 16, a[o][t]);
}

// Blocks of 3 channels x 5 taps: 15 accumulators, 3 + 5 loads per 15 FMAs.
void weight_image(const ConvDims& d, const float* xp, const float* g, float* acc) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.kh * d.kw, plane = d.positions();
  for (int64_t o0 = 0; o0 < d.o; o0 += 3)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q0 = 0; q0 < d.kw; q0 += 5)
        with_count<3>(d.o - o0, [&](auto ob) {
          with_count<5>(d.kw - q0, [&](auto qb) {
            weight_block<decltype(ob)::value, decltype(qb)::value>(d, xp + p * pd.cols + q0, g + o0 * plane,
                                                                   acc + (o0 * taps + p * d.kw + q0) * 16);
          });
        });
}

}  // namespace

void direct_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  const int64_t taps = d.kh * d.kw, plane = d.positions();
  by_groups(d.o, [&](int64_t o0, auto ob) {
    forward_group<decltype(ob)::value>(d, xp, w + o0 * taps, b ? b + o0 : nullptr, y + o0 * plane);
  });
}

void direct_weight_grad(const ConvDims& d, const float* xp, const float* g, float* acc) {
  weight_image(d, xp, g, acc);
}

XGRAD_AVX512_END

}  // namespace xgrad
