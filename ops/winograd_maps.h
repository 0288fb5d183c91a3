#pragma once
// The 1-D transforms of Winograd F(m, r) (Lavin & Gray 2015; points 0, ±1, ±2 and ∞ for F(4, 3) and
// F(2, 5), −½ too for F(3, 5), ±½ for F(4, 5) and F(2, 7)), written out term by term (a product with a
// constant 0 is not free in float math, so no matrix loops). Each variant has tiles of A = m + r - 1 inputs
// (kS = 1, the stride; the stride-2 variants are in ops/winograd_maps_strided.h):
// Bt (A -> A) transforms input, G (r -> A) weights, At (A -> m, plus a bias) gives outputs; B, Gt and Ad are
// their adjoints (transposes) for backward. T is float, or a vector of floats (ops/conv_winograd_lanes.cpp:
// 16 channels per value). Checked against the reference loops by tests/test_kernels.cpp, and each map against
// its definition (the correlation, the transposes) by tests/test_winograd_maps.cpp.

namespace xgrad::winograd {

// F(2, 3): Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 -1 -1].
struct F2 {
  static constexpr int kM = 2, kR = 3, kA = 4, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    o[0] = a[0] - a[2], o[1] = a[1] + a[2], o[2] = a[2] - a[1], o[3] = a[1] - a[3];
  }
  template <class T>
  static void b(const T* a, T* o) {
    o[0] = a[0], o[1] = a[1] - a[2] + a[3], o[2] = a[1] + a[2] - a[0], o[3] = -a[3];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    o[0] = a[0] + a[1] + a[2] + bias, o[1] = a[1] - a[2] - a[3] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    o[0] = a[0], o[1] = a[0] + a[1], o[2] = a[0] - a[1], o[3] = -a[1];
  }
  template <class T>
  static void g(const T* w, T* u) {
    u[0] = w[0], u[1] = 0.5f * (w[0] + w[1] + w[2]), u[2] = 0.5f * (w[0] - w[1] + w[2]), u[3] = w[2];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    const T s = 0.5f * (u[1] + u[2]);
    w[0] = u[0] + s, w[1] = 0.5f * (u[1] - u[2]), w[2] = s + u[3];
  }
};

// F(4, 3): Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
// G = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1],
// Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
struct F4 {
  static constexpr int kM = 4, kR = 3, kA = 6, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    o[0] = 4 * a[0] - 5 * a[2] + a[4];
    o[1] = a[3] + a[4] - 4 * (a[1] + a[2]);
    o[2] = a[4] - a[3] + 4 * (a[1] - a[2]);
    o[3] = a[4] - a[2] + 2 * (a[3] - a[1]);
    o[4] = a[4] - a[2] + 2 * (a[1] - a[3]);
    o[5] = 4 * a[1] - 5 * a[3] + a[5];
  }
  template <class T>
  static void b(const T* a, T* o) {
    o[0] = 4 * a[0];
    o[1] = 4 * (a[2] - a[1] + a[5]) + 2 * (a[4] - a[3]);
    o[2] = -5 * a[0] - 4 * (a[1] + a[2]) - a[3] - a[4];
    o[3] = a[1] - a[2] + 2 * (a[3] - a[4]) - 5 * a[5];
    o[4] = a[0] + a[1] + a[2] + a[3] + a[4];
    o[5] = a[5];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    const T p1 = a[1] + a[2], m1 = a[1] - a[2], p2 = a[3] + a[4], m2 = a[3] - a[4];
    o[0] = a[0] + p1 + p2 + bias, o[1] = m1 + 2 * m2 + bias, o[2] = p1 + 4 * p2 + bias;
    o[3] = m1 + 8 * m2 + a[5] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    const T e = a[0] + a[2], f = a[1] + a[3], e4 = a[0] + 4 * a[2], f4 = 2 * a[1] + 8 * a[3];
    o[0] = a[0], o[1] = e + f, o[2] = e - f, o[3] = e4 + f4, o[4] = e4 - f4, o[5] = a[3];
  }
  template <class T>
  static void g(const T* w, T* u) {
    const T s = w[0] + w[2];
    u[0] = 0.25f * w[0], u[1] = -(s + w[1]) / 6, u[2] = -(s - w[1]) / 6;
    u[3] = w[0] / 24 + w[1] / 12 + w[2] / 6, u[4] = w[0] / 24 - w[1] / 12 + w[2] / 6, u[5] = w[2];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    w[0] = 0.25f * u[0] - (u[1] + u[2]) / 6 + (u[3] + u[4]) / 24;
    w[1] = (u[2] - u[1]) / 6 + (u[3] - u[4]) / 12;
    w[2] = (u[3] + u[4] - u[1] - u[2]) / 6 + u[5];
  }
};

// A variant on the points of another (as many, the same scaling) has its Bᵀ and B.
template <class P>
struct SamePointsAs {
  template <class T>
  static void bt(const T* a, T* o) {
    P::bt(a, o);
  }
  template <class T>
  static void b(const T* a, T* o) {
    P::b(a, o);
  }
};

// F(2, 5), the points of F(4, 3), so the same Bᵀ:
// G = [¼ 0 0 0 0; -⅙ -⅙ -⅙ -⅙ -⅙; -⅙ ⅙ -⅙ ⅙ -⅙; (1 2 4 8 16)/24; (1 -2 4 -8 16)/24; 0 0 0 0 1],
// Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1].
struct F2x5 : SamePointsAs<F4> {
  static constexpr int kM = 2, kR = 5, kA = 6, kS = 1;
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    o[0] = a[0] + a[1] + a[2] + a[3] + a[4] + bias, o[1] = a[1] - a[2] + 2 * (a[3] - a[4]) + a[5] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    o[0] = a[0], o[1] = a[0] + a[1], o[2] = a[0] - a[1], o[3] = a[0] + 2 * a[1], o[4] = a[0] - 2 * a[1];
    o[5] = a[1];
  }
  template <class T>
  static void g(const T* w, T* u) {
    const T even = w[0] + w[2] + w[4], odd = w[1] + w[3];
    const T even4 = w[0] + 4 * w[2] + 16 * w[4], odd4 = 2 * w[1] + 8 * w[3];
    u[0] = 0.25f * w[0], u[1] = -(even + odd) / 6, u[2] = -(even - odd) / 6;
    u[3] = (even4 + odd4) / 24, u[4] = (even4 - odd4) / 24, u[5] = w[4];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    const T p = u[1] + u[2], m = u[2] - u[1], p4 = u[3] + u[4], m4 = u[3] - u[4];
    w[0] = 0.25f * u[0] - p / 6 + p4 / 24, w[1] = m / 6 + m4 / 12, w[2] = -p / 6 + p4 / 6;
    w[3] = m / 6 + m4 / 3, w[4] = -p / 6 + 2 * p4 / 3 + u[5];
  }
};

// F(3, 5), points 0, ±1, ±2, −½ and ∞ (derived by Cook–Toom with exact fractions; −½ as the seventh
// point gave the smallest float error of the sets tried, within 1.4x of F(2, 5)'s):
// Bᵀ = [2 4 -5/2 -5 1/2 1 0; 0 -2 -6 -7/2 3/2 1 0; 0 2 2 -9/2 -1/2 1 0; 0 -1 -5/2 0 5/2 1 0;
//       0 1 3/2 -2 -3/2 1 0; 0 4 0 -5 0 1 0; 0 2 4 -5/2 -5 1/2 1],
// G = [1/2 0 0 0 0; -(1 1 1 1 1)/9; (1 -1 1 -1 1)/3; (1 2 4 8 16)/60; (-1 2 -4 8 -16)/36;
//      (-32 16 -8 4 -2)/45; 0 0 0 0 1],
// Aᵀ = [1 1 1 1 1 1 0; 0 1 -1 2 -2 -1/2 0; 0 1 1 4 4 1/4 1].
struct F3x5 {
  static constexpr int kM = 3, kR = 5, kA = 7, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    const T h = 0.5f * a[4], f = 2.5f * a[2], p = 4 * a[1] - 5 * a[3] + a[5], d = 2 * a[1];
    o[0] = 2 * a[0] + h - f + p;
    o[1] = a[5] + 1.5f * a[4] - 6 * a[2] - 3.5f * a[3] - d;
    o[2] = d + 2 * a[2] - 4.5f * a[3] - h + a[5];
    o[3] = a[5] + 2.5f * a[4] - f - a[1];
    o[4] = a[1] + 1.5f * a[2] - 2 * a[3] - 1.5f * a[4] + a[5];
    o[5] = p;
    o[6] = d + 4 * a[2] - 2.5f * a[3] - 5 * a[4] + 0.5f * a[5] + a[6];
  }
  template <class T>
  static void b(const T* a, T* o) {
    const T t = 2.5f * a[3] - 1.5f * a[4];
    o[0] = 2 * a[0];
    o[1] = 4 * a[0] - 2 * a[1] + 2 * a[2] - a[3] + a[4] + 4 * a[5] + 2 * a[6];
    o[2] = 2 * a[2] + 4 * a[6] - 2.5f * a[0] - 6 * a[1] - t;
    o[3] = -5 * (a[0] + a[5]) - 3.5f * a[1] - 4.5f * a[2] - 2 * a[4] - 2.5f * a[6];
    o[4] = 0.5f * (a[0] - a[2]) + 1.5f * a[1] - 5 * a[6] + t;
    o[5] = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + 0.5f * a[6];
    o[6] = a[6];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    const T p1 = a[1] + a[2], m1 = a[1] - a[2], p2 = a[3] + a[4], m2 = a[3] - a[4];
    o[0] = a[0] + p1 + p2 + a[5] + bias;
    o[1] = m1 + 2 * m2 - 0.5f * a[5] + bias;
    o[2] = p1 + 4 * p2 + 0.25f * a[5] + a[6] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    const T e = a[0] + a[2], e4 = a[0] + 4 * a[2], f2 = 2 * a[1];
    o[0] = a[0], o[1] = e + a[1], o[2] = e - a[1], o[3] = e4 + f2, o[4] = e4 - f2;
    o[5] = a[0] - 0.5f * a[1] + 0.25f * a[2], o[6] = a[2];
  }
  template <class T>
  static void g(const T* w, T* u) {
    const T even = w[0] + w[2] + w[4], odd = w[1] + w[3];
    const T even4 = w[0] + 4 * w[2] + 16 * w[4], odd4 = 2 * w[1] + 8 * w[3];
    u[0] = 0.5f * w[0], u[1] = -(even + odd) / 9, u[2] = (even - odd) / 3;
    u[3] = (even4 + odd4) / 60, u[4] = (odd4 - even4) / 36;
    u[5] = (-32 * w[0] + 16 * w[1] - 8 * w[2] + 4 * w[3] - 2 * w[4]) / 45, u[6] = w[4];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    const T a = -u[1] / 9, b = u[2] / 3, c = u[3] / 60, d = u[4] / 36, e = u[5] / 45;
    w[0] = 0.5f * u[0] + a + b + c - d - 32 * e;
    w[1] = a - b + 2 * (c + d) + 16 * e;
    w[2] = a + b + 4 * (c - d) - 8 * e;
    w[3] = a - b + 8 * (c + d) + 4 * e;
    w[4] = a + b + 16 * (c - d) - 2 * e + u[6];
  }
};

// F(4, 5), points 0, ±1, ±2, ±½ and ∞ (F(6, 3)'s, derived the same way; row 0 of Bᵀ and G negated so
// that it starts with 1). 8x8 cells for 4x4 outputs: on 7x7 outputs 4 tiles of 64 cells against F(3, 5)'s
// 9 of 49. In float its sums erred within 1.2x of F(3, 5)'s (random data, 64 channels, 200 tiles).
// Bᵀ = [1 0 -21/4 0 21/4 0 -1 0; 0 1 1 -17/4 -17/4 1 1 0; 0 -1 1 17/4 -17/4 -1 1 0;
//       0 1/2 1/4 -5/2 -5/4 2 1 0; 0 -1/2 1/4 5/2 -5/4 -2 1 0; 0 2 4 -5/2 -5 1/2 1 0;
//       0 -2 4 5/2 -5 -1/2 1 0; 0 -1 0 21/4 0 -21/4 0 1],
// G = [1 0 0 0 0; -2(1 1 1 1 1)/9; -2(1 -1 1 -1 1)/9; (1 2 4 8 16)/90; (1 -2 4 -8 16)/90;
//      (32 16 8 4 2)/45; (32 -16 8 -4 2)/45; 0 0 0 0 1],
// Aᵀ = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 1/2 -1/2 0; 0 1 1 4 4 1/4 1/4 0; 0 1 -1 8 -8 1/8 -1/8 1].
struct F4x5 {
  static constexpr int kM = 4, kR = 5, kA = 8, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    const T s1 = a[2] + a[6] - 4.25f * a[4], d1 = a[1] + a[5] - 4.25f * a[3];
    const T s2 = 0.25f * a[2] - 1.25f * a[4] + a[6], d2 = 0.5f * a[1] - 2.5f * a[3] + 2 * a[5];
    const T s3 = 4 * a[2] - 5 * a[4] + a[6], d3 = 2 * a[1] - 2.5f * a[3] + 0.5f * a[5];
    o[0] = a[0] - a[6] + 5.25f * (a[4] - a[2]);
    o[1] = s1 + d1, o[2] = s1 - d1, o[3] = s2 + d2, o[4] = s2 - d2, o[5] = s3 + d3, o[6] = s3 - d3;
    o[7] = a[7] - a[1] + 5.25f * (a[3] - a[5]);
  }
  template <class T>
  static void b(const T* a, T* o) {
    const T p1 = a[1] + a[2], m1 = a[1] - a[2], p2 = a[3] + a[4], m2 = a[3] - a[4], p3 = a[5] + a[6],
            m3 = a[5] - a[6];
    o[0] = a[0];
    o[1] = m1 + 0.5f * m2 + 2 * m3 - a[7];
    o[2] = p1 + 0.25f * p2 + 4 * p3 - 5.25f * a[0];
    o[3] = 5.25f * a[7] - 4.25f * m1 - 2.5f * (m2 + m3);
    o[4] = 5.25f * a[0] - 4.25f * p1 - 1.25f * p2 - 5 * p3;
    o[5] = m1 + 2 * m2 + 0.5f * m3 - 5.25f * a[7];
    o[6] = p1 + p2 + p3 - a[0];
    o[7] = a[7];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    const T p1 = a[1] + a[2], m1 = a[1] - a[2], p2 = a[3] + a[4], m2 = a[3] - a[4], p3 = a[5] + a[6],
            m3 = a[5] - a[6];
    o[0] = a[0] + p1 + p2 + p3 + bias, o[1] = m1 + 2 * m2 + 0.5f * m3 + bias;
    o[2] = p1 + 4 * p2 + 0.25f * p3 + bias, o[3] = m1 + 8 * m2 + 0.125f * m3 + a[7] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    const T e = a[0] + a[2], f = a[1] + a[3], e4 = a[0] + 4 * a[2], f4 = 2 * a[1] + 8 * a[3];
    const T e5 = a[0] + 0.25f * a[2], f5 = 0.5f * a[1] + 0.125f * a[3];
    o[0] = a[0], o[1] = e + f, o[2] = e - f, o[3] = e4 + f4, o[4] = e4 - f4, o[5] = e5 + f5, o[6] = e5 - f5;
    o[7] = a[3];
  }
  template <class T>
  static void g(const T* w, T* u) {
    const T even = w[0] + w[2] + w[4], odd = w[1] + w[3];
    const T even4 = w[0] + 4 * w[2] + 16 * w[4], odd4 = 2 * w[1] + 8 * w[3];
    const T even5 = 32 * w[0] + 8 * w[2] + 2 * w[4], odd5 = 16 * w[1] + 4 * w[3];
    u[0] = w[0], u[1] = -2 * (even + odd) / 9, u[2] = -2 * (even - odd) / 9;
    u[3] = (even4 + odd4) / 90, u[4] = (even4 - odd4) / 90;
    u[5] = (even5 + odd5) / 45, u[6] = (even5 - odd5) / 45, u[7] = w[4];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    const T a = -2 * u[1] / 9, b = -2 * u[2] / 9, c = u[3] / 90, d = u[4] / 90, e = u[5] / 45, f = u[6] / 45;
    const T s = a + b, m = a - b, cs = c + d, cm = c - d, es = e + f, em = e - f;
    w[0] = u[0] + s + cs + 32 * es;
    w[1] = m + 2 * cm + 16 * em;
    w[2] = s + 4 * cs + 8 * es;
    w[3] = m + 8 * cm + 4 * em;
    w[4] = s + 16 * cs + 2 * es + u[7];
  }
};

// F(2, 7), the points of F(4, 5), so the same Bᵀ (8x8 cells per 2x2 outputs: 3x fewer multiplies than
// direct). Each row of G is the F(4, 5) row's factor times the point's powers, now up to the sixth:
// G = [1 0 0 0 0 0 0; -2(1 1 1 1 1 1 1)/9; -2(1 -1 1 -1 1 -1 1)/9; (1 2 4 8 16 32 64)/90;
//      (1 -2 4 -8 16 -32 64)/90; (32 16 8 4 2 1 ½)/45; (32 -16 8 -4 2 -1 ½)/45; 0 0 0 0 0 0 1],
// Aᵀ = [1 1 1 1 1 1 1 0; 0 1 -1 2 -2 ½ -½ 1].
struct F2x7 : SamePointsAs<F4x5> {
  static constexpr int kM = 2, kR = 7, kA = 8, kS = 1;
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    o[0] = a[0] + a[1] + a[2] + a[3] + a[4] + a[5] + a[6] + bias;
    o[1] = a[1] - a[2] + 2 * (a[3] - a[4]) + 0.5f * (a[5] - a[6]) + a[7] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    o[0] = a[0], o[1] = a[0] + a[1], o[2] = a[0] - a[1], o[3] = a[0] + 2 * a[1], o[4] = a[0] - 2 * a[1];
    o[5] = a[0] + 0.5f * a[1], o[6] = a[0] - 0.5f * a[1], o[7] = a[1];
  }
  template <class T>
  static void g(const T* w, T* u) {
    const T even = w[0] + w[2] + w[4] + w[6], odd = w[1] + w[3] + w[5];
    const T even4 = w[0] + 4 * w[2] + 16 * w[4] + 64 * w[6], odd4 = 2 * w[1] + 8 * w[3] + 32 * w[5];
    const T even5 = 32 * w[0] + 8 * w[2] + 2 * w[4] + 0.5f * w[6], odd5 = 16 * w[1] + 4 * w[3] + w[5];
    u[0] = w[0], u[1] = -2 * (even + odd) / 9, u[2] = -2 * (even - odd) / 9;
    u[3] = (even4 + odd4) / 90, u[4] = (even4 - odd4) / 90;
    u[5] = (even5 + odd5) / 45, u[6] = (even5 - odd5) / 45, u[7] = w[6];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    const T a = -2 * u[1] / 9, b = -2 * u[2] / 9, c = u[3] / 90, d = u[4] / 90, e = u[5] / 45, f = u[6] / 45;
    const T s = a + b, m = a - b, cs = c + d, cm = c - d, es = e + f, em = e - f;
    w[0] = u[0] + s + cs + 32 * es;
    w[1] = m + 2 * cm + 16 * em;
    w[2] = s + 4 * cs + 8 * es;
    w[3] = m + 8 * cm + 4 * em;
    w[4] = s + 16 * cs + 2 * es;
    w[5] = m + 32 * cm + em;
    w[6] = s + 64 * cs + 0.5f * es + u[7];
  }
};

}  // namespace xgrad::winograd
