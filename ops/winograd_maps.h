#pragma once
// The 1-D transforms of Winograd F(m, 3) (Lavin & Gray 2015; points 0, ±1, ±2 for m = 4), written out
// term by term (a product with a constant 0 is not free in float math, so no matrix loops). Each
// variant has tiles of A = m + 2 inputs: Bt (A -> A) transforms input, G (3 -> A) weights, At
// (A -> m, plus a bias) gives outputs; B, Gt and Ad are their adjoints (transposes) for backward.
// T is float, or a vector of floats (ops/conv_winograd_avx512.cpp: 16 channels per value).
// Checked against the reference loops by tests/test_kernels.cpp.

namespace xgrad::winograd {

// F(2, 3): Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
// Aᵀ = [1 1 1 0; 0 1 -1 -1].
struct F2 {
  static constexpr int kM = 2, kA = 4;
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
  static constexpr int kM = 4, kA = 6;
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

}  // namespace xgrad::winograd
