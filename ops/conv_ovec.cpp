#include "ops/conv_ovec.h"

#include <algorithm>
#include <type_traits>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

namespace xgrad {
namespace {

constexpr int64_t kLanes = 16;

struct Padded {
  int64_t rows, cols;
};
// Stride 1: output (i, j) with tap (p, q) reads padded cell (i + p*dh, j + q*dw).
Padded padded(const ConvDims& d) {
  return {d.g.out_h + (d.kh - 1) * d.dilation[0], d.g.out_w + (d.kw - 1) * d.dilation[1]};
}
int64_t blocks(const ConvDims& d) { return (d.o + kLanes - 1) / kLanes; }
int64_t taps(const ConvDims& d) { return d.patch(); }

}  // namespace

int64_t ovec_padded_size(const ConvDims& d) { return d.c * padded(d).rows * padded(d).cols; }
int64_t ovec_weights_size(const ConvDims& d) { return blocks(d) * taps(d) * kLanes; }
int64_t ovec_scratch_size(const ConvDims& d) { return d.positions() * kLanes; }

void ovec_pad(const ConvDims& d, const float* x, float* xp) {
  const Padded pd = padded(d);
  std::fill(xp, xp + ovec_padded_size(d), 0.0f);
  const int64_t s0 = d.g.pad_left, s1 = std::min(pd.cols, d.g.pad_left + d.w);
  const int64_t r1 = std::min(pd.rows, d.g.pad_top + d.h);
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t r = d.g.pad_top; r < r1 && s1 > s0; ++r) {
      const float* src = x + (c * d.h + r - d.g.pad_top) * d.w;
      std::copy(src, src + (s1 - s0), xp + (c * pd.rows + r) * pd.cols + s0);
    }
}

void ovec_transpose_weights(const ConvDims& d, const float* w, float* wt) {
  const int64_t t = taps(d);
  for (int64_t ob = 0; ob < blocks(d); ++ob)
    for (int64_t k = 0; k < t; ++k)
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t o = ob * kLanes + l;
        wt[(ob * t + k) * kLanes + l] = o < d.o ? w[o * t + k] : 0.0f;
      }
}

void ovec_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  const int64_t t = taps(d);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t k = 0; k < t; ++k) dw[o * t + k] += acc[((o / kLanes) * t + k) * kLanes + o % kLanes];
}

#ifdef __AVX512F__

bool ovec_conv_applies(const ConvDims& d) { return d.stride[0] == 1 && d.stride[1] == 1 && d.o >= 8; }

namespace {

// Calls f(std::integral_constant<int, N>) with N = n in [1, 8], so loops over N unroll into
// named registers.
template <class F>
void with_count(int64_t n, F&& f) {
  switch (n) {
    case 1:
      return f(std::integral_constant<int, 1>{});
    case 2:
      return f(std::integral_constant<int, 2>{});
    case 3:
      return f(std::integral_constant<int, 3>{});
    case 4:
      return f(std::integral_constant<int, 4>{});
    case 5:
      return f(std::integral_constant<int, 5>{});
    case 6:
      return f(std::integral_constant<int, 6>{});
    case 7:
      return f(std::integral_constant<int, 7>{});
    default:
      return f(std::integral_constant<int, 8>{});
  }
}

// out [R positions, 16 channels] for R adjacent outputs of one row; src = their first input cell.
template <int R>
void forward_block(const ConvDims& d, const float* src, const float* wt, float* out) {
  const Padded pd = padded(d);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t p = 0; p < d.kh; ++p) {
      const float* row = src + (c * pd.rows + p * d.dilation[0]) * pd.cols;
      for (int64_t q = 0; q < d.kw; ++q, wt += kLanes) {
        const __m512 wv = _mm512_loadu_ps(wt);
        const float* s = row + q * d.dilation[1];
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(wv, _mm512_set1_ps(s[r]), acc[r]);
      }
    }
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + r * kLanes, acc[r]);
}

// acc[tap0 .. tap0+QB) += Σ_i,j xp[row(i) + j + t*dw] * gt[i, j] for taps along one kernel row;
// two sets of sums (even and odd j) keep enough FMAs in flight.
template <int QB>
void weight_taps(const ConvDims& d, const float* row, const float* gt, float* acc) {
  const Padded pd = padded(d);
  const int64_t ow = d.g.out_w, dw = d.dilation[1];
  __m512 a[QB], b[QB];
  for (int t = 0; t < QB; ++t) a[t] = _mm512_loadu_ps(acc + t * kLanes), b[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < d.g.out_h; ++i) {
    const float* s = row + i * pd.cols;
    const float* g = gt + i * ow * kLanes;
    int64_t j = 0;
    for (; j + 2 <= ow; j += 2) {
      const __m512 g0 = _mm512_loadu_ps(g + j * kLanes), g1 = _mm512_loadu_ps(g + (j + 1) * kLanes);
      for (int t = 0; t < QB; ++t) {
        a[t] = _mm512_fmadd_ps(_mm512_set1_ps(s[j + t * dw]), g0, a[t]);
        b[t] = _mm512_fmadd_ps(_mm512_set1_ps(s[j + 1 + t * dw]), g1, b[t]);
      }
    }
    if (j < ow)
      for (int t = 0; t < QB; ++t)
        a[t] = _mm512_fmadd_ps(_mm512_set1_ps(s[j + t * dw]), _mm512_loadu_ps(g + j * kLanes), a[t]);
  }
  for (int t = 0; t < QB; ++t) _mm512_storeu_ps(acc + t * kLanes, _mm512_add_ps(a[t], b[t]));
}

}  // namespace

void ovec_forward(const ConvDims& d, const float* xp, const float* wt, const float* b, float* scratch,
                  float* y) {
  const Padded pd = padded(d);
  const int64_t ow = d.g.out_w, p = d.positions();
  for (int64_t ob = 0; ob < blocks(d); ++ob) {
    for (int64_t i = 0; i < d.g.out_h; ++i)
      for (int64_t j0 = 0; j0 < ow; j0 += 8)
        with_count(std::min<int64_t>(8, ow - j0), [&](auto r) {
          forward_block<decltype(r)::value>(d, xp + i * pd.cols + j0, wt + ob * taps(d) * kLanes,
                                            scratch + (i * ow + j0) * kLanes);
        });
    for (int64_t o = ob * kLanes; o < std::min(d.o, (ob + 1) * kLanes); ++o)
      for (int64_t k = 0; k < p; ++k) y[o * p + k] = scratch[k * kLanes + o % kLanes] + (b ? b[o] : 0.0f);
  }
}

void ovec_weight_grad(const ConvDims& d, const float* xp, const float* g, float* scratch, float* acc) {
  const Padded pd = padded(d);
  const int64_t p = d.positions();
  for (int64_t ob = 0; ob < blocks(d); ++ob) {
    for (int64_t k = 0; k < p; ++k)  // scratch [positions, 16] = this block's g, transposed
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t o = ob * kLanes + l;
        scratch[k * kLanes + l] = o < d.o ? g[o * p + k] : 0.0f;
      }
    float* a = acc + ob * taps(d) * kLanes;
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t kp = 0; kp < d.kh; ++kp) {
        const float* row = xp + (c * pd.rows + kp * d.dilation[0]) * pd.cols;
        for (int64_t q0 = 0; q0 < d.kw; q0 += 8)
          with_count(std::min<int64_t>(8, d.kw - q0), [&](auto qb) {
            weight_taps<decltype(qb)::value>(d, row + q0 * d.dilation[1], scratch,
                                             a + ((c * d.kh + kp) * d.kw + q0) * kLanes);
          });
      }
  }
}

#else

bool ovec_conv_applies(const ConvDims&) { return false; }
void ovec_forward(const ConvDims&, const float*, const float*, const float*, float*, float*) {}
void ovec_weight_grad(const ConvDims&, const float*, const float*, float*, float*) {}

#endif

}  // namespace xgrad
