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
  std::fill(xp, xp + d.c * pd.size(), 0.0f);
  const int64_t c0 = std::max<int64_t>(d.g.pad_left, 0), c1 = std::min(pd.cols, d.g.pad_left + d.w);
  if (c1 <= c0) return;
  for (int64_t c = 0; c < d.c; ++c, x += d.h * d.w, xp += pd.size())
    for (int64_t r = std::max<int64_t>(d.g.pad_top, 0); r < std::min(pd.rows, d.g.pad_top + d.h); ++r)
      std::copy(x + (r - d.g.pad_top) * d.w + c0 - d.g.pad_left,
                x + (r - d.g.pad_top) * d.w + c1 - d.g.pad_left, xp + r * pd.cols + c0);
}

int64_t direct_acc_size(const ConvDims& d) { return d.o * d.patch() * 16; }

void direct_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.patch(); ++k) {
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

// Output rows [i0, i0 + RB) of OB channels: OB·RB independent accumulators per column block, so
// the FMA chains overlap even for a single channel (depthwise convs). The sums over input
// channels and taps stay in registers.
template <int OB, int RB>
void forward_rows(const ConvDims& d, int64_t i0, const float* xp, const float* w, const float* b, float* y) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.kh * d.kw, patch = d.patch(), ow = d.g.out_w, plane = d.g.out_h * ow;
  for (int64_t jb = 0; jb * 16 < ow; ++jb) {
    __m512 acc[RB][OB];
    for (int r = 0; r < RB; ++r)
      for (int o = 0; o < OB; ++o) acc[r][o] = _mm512_set1_ps(b ? b[o] : 0.0f);
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.kh; ++p)
        for (int64_t q = 0; q < d.kw; ++q) {
          __m512 wv[OB];
          for (int o = 0; o < OB; ++o) wv[o] = _mm512_set1_ps(w[o * patch + c * taps + p * d.kw + q]);
          const float* x = xp + c * pd.size() + (i0 + p) * pd.cols + jb * 16 + q;
          for (int r = 0; r < RB; ++r) {
            const __m512 xv = _mm512_loadu_ps(x + r * pd.cols);
            for (int o = 0; o < OB; ++o) acc[r][o] = _mm512_fmadd_ps(wv[o], xv, acc[r][o]);
          }
        }
    const __mmask16 m = block_mask(d, jb);
    for (int r = 0; r < RB; ++r)
      for (int o = 0; o < OB; ++o)
        _mm512_mask_storeu_ps(y + o * plane + (i0 + r) * ow + jb * 16, m, acc[r][o]);
  }
}

// About 8 accumulators for one input channel (an FMA's latency is 4 cycles and two issue per
// cycle); 16 for more, so each weight broadcast feeds two rows' FMAs.
template <int OB, int Acc>
void forward_group(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  constexpr int kRows = (Acc + OB - 1) / OB;
  int64_t i = 0;
  for (; i + kRows <= d.g.out_h; i += kRows) forward_rows<OB, kRows>(d, i, xp, w, b, y);
  for (; i < d.g.out_h; ++i) forward_rows<OB, 1>(d, i, xp, w, b, y);
}

// acc [o, tap, 16 lanes] += Σ_{i, j} g[o, i, j] * xp[c, i + p, j + q] for OB channels and TB taps
// (any taps (c, p, q) of the kernel: off[t] = c * rows * cols + p * cols + q), each g and x vector
// loaded once per block.
template <int OB, int TB>
void direct_weight_block(const ConvDims& d, const float* xp, const int64_t* off, const float* g, float* acc) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.patch(), ow = d.g.out_w, plane = d.g.out_h * ow;
  __m512 a[OB][TB];
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) a[o][t] = _mm512_loadu_ps(acc + (o * taps + t) * 16);
  for (int64_t i = 0; i < d.g.out_h; ++i)
    for (int64_t jb = 0; jb * 16 < ow; ++jb) {
      const __mmask16 m = block_mask(d, jb);
      __m512 gv[OB];
      for (int o = 0; o < OB; ++o) gv[o] = _mm512_maskz_loadu_ps(m, g + o * plane + i * ow + jb * 16);
      const float* x = xp + i * pd.cols + jb * 16;
      for (int t = 0; t < TB; ++t) {
        const __m512 xv = _mm512_loadu_ps(x + off[t]);
        for (int o = 0; o < OB; ++o) a[o][t] = _mm512_fmadd_ps(gv[o], xv, a[o][t]);
      }
    }
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) _mm512_storeu_ps(acc + (o * taps + t) * 16, a[o][t]);
}

// Blocks of 4 channels x 6 taps: 24 accumulators, 4 + 6 loads per 24 FMAs; one channel: 12 taps.
void weight_image(const ConvDims& d, const float* xp, const float* g, float* acc) {
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.patch(), plane = d.positions(), kernel = d.kh * d.kw;
  int64_t off[64];  // tap offsets of up to 64 taps at a time
  for (int64_t t0 = 0; t0 < taps; t0 += 64) {
    const int64_t n = std::min<int64_t>(64, taps - t0);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t c = (t0 + t) / kernel, k = (t0 + t) % kernel;
      off[t] = c * pd.size() + k / d.kw * pd.cols + k % d.kw;
    }
    if (d.o == 1) {  // depthwise: blocks of 12 taps, 12 FMA chains instead of 6
      for (int64_t t1 = 0; t1 < n; t1 += 12)
        with_count<12>(n - t1, [&](auto tb) {
          direct_weight_block<1, decltype(tb)::value>(d, xp, off + t1, g, acc + (t0 + t1) * 16);
        });
      continue;
    }
    for (int64_t o0 = 0; o0 < d.o; o0 += 4)
      for (int64_t t1 = 0; t1 < n; t1 += 6)
        with_count<4>(d.o - o0, [&](auto ob) {
          with_count<6>(n - t1, [&](auto tb) {
            direct_weight_block<decltype(ob)::value, decltype(tb)::value>(d, xp, off + t1, g + o0 * plane,
                                                                          acc + (o0 * taps + t0 + t1) * 16);
          });
        });
  }
}

}  // namespace

void direct_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  const int64_t plane = d.positions();
  by_groups(d.o, [&](int64_t o0, auto ob) {
    constexpr int OB = decltype(ob)::value;
    const float* wo = w + o0 * d.patch();
    if (d.c == 1)
      forward_group<OB, 8>(d, xp, wo, b ? b + o0 : nullptr, y + o0 * plane);
    else
      forward_group<OB, 16>(d, xp, wo, b ? b + o0 : nullptr, y + o0 * plane);
  });
}

void direct_weight_grad(const ConvDims& d, const float* xp, const float* g, float* acc) {
  weight_image(d, xp, g, acc);
}

XGRAD_AVX512_END

}  // namespace xgrad
