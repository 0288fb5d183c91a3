#pragma once
// Elementwise math written so that GCC/Clang vectorise the loops that call it (std::exp does not
// vectorise without -ffast-math). Both sides of a choice are computed before it: a float operation
// inside a ?: arm may trap, so the compiler would not turn the choice into a vector blend: Cephes' expf,
// within about 1 ulp of std::exp, and from it expm1, log, log1p and erfc for the activations.
// tests/test_vmath.cpp bounds their errors.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

namespace xgrad {

// relu and the gradient through it, as the relu op computes them; the ops that fuse a relu (conv2d,
// batch_norm) call the same, so fused and separate give the same bits. y > 0 exactly where x > 0;
// a product, not a branch on y, so the loops vectorise.
inline float relu(float x) { return x > 0 ? x : 0.0f; }
inline float relu_gradient(float g, float y) { return g * (y > 0 ? 1.0f : 0.0f); }

inline float exp_approx(float x) {
  x = x < -87.3f ? -87.3f : x > 88.0f ? 88.0f : x;  // (fmin/fmax and floor would not vectorise)
  // x = n ln2 + r with n = round(x / ln2) by the 1.5 * 2^23 trick, so |r| <= ln2 / 2
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(n) + 127) << 23;  // 2^n; n in [-126, 127] after the clamp
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return er * scale;
}

// Σ f(i) over [0, n) with 16 interleaved partial sums: one vector register instead of a serial
// chain of float adds (which the compiler may not reorder), in a fixed order.
template <class F>
inline float sum_lanes_of(int64_t n, F&& f) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += f(i + l);
  float s = 0;
  for (int l = 0; l < 16; ++l) s += lanes[l];
  for (; i < n; ++i) s += f(i);
  return s;
}
// Σ f(i) and Σ g(i) in one pass over [0, n), each bit for bit what sum_lanes_of gives.
template <class F, class G>
inline std::pair<float, float> sum_lanes_of2(int64_t n, F&& f, G&& g) {
  float a[16] = {}, b[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) a[l] += f(i + l), b[l] += g(i + l);
  float sa = 0, sb = 0;
  for (int l = 0; l < 16; ++l) sa += a[l], sb += b[l];
  for (; i < n; ++i) sa += f(i), sb += g(i);
  return {sa, sb};
}
inline float sum_lanes(const float* v, int64_t n) {
  return sum_lanes_of(n, [v](int64_t i) { return v[i]; });
}

// 1 / (1 + e^-x): e^-x saturates instead of overflowing; exactly 0 below -88 (a denormal before).
inline float sigmoid_approx(float x) {
  const float s = 1.0f / (1.0f + exp_approx(-x));
  return x < -88.0f ? 0.0f : s;
}

// e^x − 1 without the cancellation of exp(x) − 1 near 0: its Taylor polynomial for |x| < 0.5
// (truncation below 1e-8 relative), exp_approx − 1 elsewhere.
inline float expm1_approx(float x) {
  float p = 1.0f / 40320;
  p = p * x + 1.0f / 5040;
  p = p * x + 1.0f / 720;
  p = p * x + 1.0f / 120;
  p = p * x + 1.0f / 24;
  p = p * x + 1.0f / 6;
  p = p * x + 0.5f;
  p = p * x * x + x;
  const float e = exp_approx(x) - 1.0f;
  return std::fabs(x) < 0.5f ? p : e;
}

// tanh x = (e^2x − 1) / (e^2x + 1), from expm1 so that it keeps its relative accuracy near 0;
// ±1 in the tails (exp_approx saturates instead of overflowing).
inline float tanh_approx(float x) {
  const float e = expm1_approx(2.0f * x);
  return e / (e + 2.0f);
}

// log x for finite x > 0 (Cephes' logf): x = m·2^e with m in [√½, √2), log m by a polynomial.
inline float log_approx(float x) {
  int32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int32_t e = ((bits >> 23) & 0xff) - 126;  // x = m·2^e, m in [0.5, 1)
  bits = (bits & 0x807fffff) | 0x3f000000;
  float m;
  std::memcpy(&m, &bits, sizeof m);
  const bool low = m < 0.70710678f;
  const float m_low = m + m - 1.0f, m_high = m - 1.0f;
  e = low ? e - 1 : e;
  m = low ? m_low : m_high;  // now log x = log(1 + m) + e·ln2
  const float z = m * m, fe = float(e);
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  const float y = p * m * z - 2.12194440e-4f * fe - 0.5f * z;
  return m + y + 0.693359375f * fe;
}

// log(1 + z) for z >= 0: log of the rounded w = 1 + z, corrected by the rounding (z − (w − 1))/w.
inline float log1p_approx(float z) {
  const float w = 1.0f + z;
  return log_approx(w) + (z - (w - 1.0f)) / w;
}

// erfc x (Numerical Recipes' erfcc, a Chebyshev fit with relative error below 1.2e-7 in exact
// arithmetic, so the tails keep their relative accuracy); 0 once it is below float's normal range.
inline float erfc_approx(float x) {
  const float z = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.5f * z);
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  // e^−z² as e^−h²·e^((h − z)(h + z)) with h = z cut to 12 significant bits, so h² is exact: the
  // rounding of z² (1e-5 relative at z = 9) does not reach the result.
  int32_t bits;
  std::memcpy(&bits, &z, sizeof bits);
  bits &= int32_t(0xfffff000);
  float h;
  std::memcpy(&h, &bits, sizeof h);
  float r = t * exp_approx(-h * h) * exp_approx((h - z) * (h + z) - 1.26551223f + p * t);
  r = z > 9.2f ? 0.0f : r;
  const float reflected = 2.0f - r;
  return x >= 0 ? r : reflected;
}

}  // namespace xgrad
