#pragma once
// Elementwise math written so that GCC/Clang vectorise the loops that call it (std::exp does not
// vectorise without -ffast-math): Cephes' expf, within about 1 ulp of std::exp.
#include <cmath>
#include <cstdint>
#include <cstring>

namespace xgrad {

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

// Σ v[0..n) with 16 interleaved partial sums: one vector register instead of a serial chain of
// float adds (which the compiler may not reorder), in a fixed order.
inline float sum_lanes(const float* v, int64_t n) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += v[i + l];
  float s = 0;
  for (int l = 0; l < 16; ++l) s += lanes[l];
  for (; i < n; ++i) s += v[i];
  return s;
}

// 1 / (1 + e^-x): e^-x saturates instead of overflowing; exactly 0 below -88 (a denormal before).
inline float sigmoid_approx(float x) {
  const float s = 1.0f / (1.0f + exp_approx(-x));
  return x < -88.0f ? 0.0f : s;
}

}  // namespace xgrad
