#pragma once
// Winograd for convs at stride 2. Output i of a row reads inputs 2i, 2i + 1, …, 2i + r − 1: the taps at
// even offsets see only the even inputs and the taps at odd offsets only the odd ones, so the conv is the
// sum of two stride-1 convs on the two phases of the input, each done by its own F(m, ·) (Lavin & Gray
// 2015, applied per phase). A 3x3 kernel at stride 2 is F(m, 2) on the even phase plus F(m, 1) (a plain
// product) on the odd: 2m + 1 cells per m outputs along an axis, (2m + 1)² per m x m tile against 9m²
// multiplies direct. A tile reads 2m + r − 2 inputs, the next tile starts 2m further on: kS = 2 in the lane
// code. Only m = 2: m = 3 and 4 (F(3, 2), F(4, 2): 49 and 81 cells) multiply less but measured no faster in
// the lanes, and on small planes up to 2.3x slower (ops/KERNELS.md). The maps have the shape of
// ops/winograd_maps.h's and are checked the same way (tests/test_winograd_maps.cpp).
#include "ops/winograd_maps.h"

namespace xgrad::winograd {

// F(m, 1): one tap, one cell per output: every map is the identity (G copies the tap).
template <int M>
struct Taps1 {
  static constexpr int kM = M, kR = 1, kA = M, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    for (int i = 0; i < M; ++i) o[i] = a[i];
  }
  template <class T>
  static void b(const T* a, T* o) {
    bt(a, o);
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    for (int i = 0; i < M; ++i) o[i] = a[i] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    bt(a, o);
  }
  template <class T>
  static void g(const T* w, T* u) {
    for (int i = 0; i < M; ++i) u[i] = w[0];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    w[0] = u[0];
    for (int i = 1; i < M; ++i) w[0] = w[0] + u[i];
  }
};

// F(2, 2), points 0, 1 and ∞: Bᵀ = [1 -1 0; 0 1 0; 0 -1 1], G = [1 0; 1 1; 0 1], Aᵀ = [1 1 0; 0 1 1].
struct F2x2 {
  static constexpr int kM = 2, kR = 2, kA = 3, kS = 1;
  template <class T>
  static void bt(const T* a, T* o) {
    o[0] = a[0] - a[1], o[1] = a[1], o[2] = a[2] - a[1];
  }
  template <class T>
  static void b(const T* a, T* o) {
    o[0] = a[0], o[1] = a[1] - a[0] - a[2], o[2] = a[2];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    o[0] = a[0] + a[1] + bias, o[1] = a[1] + a[2] + bias;
  }
  template <class T>
  static void ad(const T* a, T* o) {
    o[0] = a[0], o[1] = a[0] + a[1], o[2] = a[1];
  }
  template <class T>
  static void g(const T* w, T* u) {
    u[0] = w[0], u[1] = w[0] + w[1], u[2] = w[1];
  }
  template <class T>
  static void gt(const T* u, T* w) {
    w[0] = u[0] + u[1], w[1] = u[1] + u[2];
  }
};

// An r-tap kernel at stride 2 as Even (F(m, ⌈r/2⌉), the taps 0, 2, …) on the even inputs plus Odd
// (F(m, ⌊r/2⌋), the taps 1, 3, …) on the odd ones: Even's cells first, then Odd's.
template <class Even, class Odd>
struct Stride2 {
  static_assert(Even::kM == Odd::kM && (Even::kR == Odd::kR || Even::kR == Odd::kR + 1));
  static constexpr int kM = Even::kM, kR = Even::kR + Odd::kR, kA = Even::kA + Odd::kA, kS = 2;
  template <class T>
  static void bt(const T* a, T* o) {
    T even[Even::kA], odd[Odd::kA];
    for (int i = 0; i < Even::kA; ++i) even[i] = a[2 * i];
    for (int i = 0; i < Odd::kA; ++i) odd[i] = a[2 * i + 1];
    Even::bt(even, o);
    Odd::bt(odd, o + Even::kA);
  }
  template <class T>
  static void b(const T* a, T* o) {
    T even[Even::kA], odd[Odd::kA];
    Even::b(a, even);
    Odd::b(a + Even::kA, odd);
    for (int i = 0; i < Even::kA; ++i) o[2 * i] = even[i];
    for (int i = 0; i < Odd::kA; ++i) o[2 * i + 1] = odd[i];
  }
  template <class T>
  static void at(const T* a, const T& bias, T* o) {
    T odd[kM];
    Even::at(a, bias, o);
    Odd::at(a + Even::kA, T{}, odd);
    for (int i = 0; i < kM; ++i) o[i] = o[i] + odd[i];
  }
  template <class T>
  static void ad(const T* a, T* o) {
    Even::ad(a, o);
    Odd::ad(a, o + Even::kA);
  }
  template <class T>
  static void g(const T* w, T* u) {
    T even[Even::kR], odd[Odd::kR];
    for (int i = 0; i < Even::kR; ++i) even[i] = w[2 * i];
    for (int i = 0; i < Odd::kR; ++i) odd[i] = w[2 * i + 1];
    Even::g(even, u);
    Odd::g(odd, u + Even::kA);
  }
  template <class T>
  static void gt(const T* u, T* w) {
    T even[Even::kR], odd[Odd::kR];
    Even::gt(u, even);
    Odd::gt(u + Even::kA, odd);
    for (int i = 0; i < Even::kR; ++i) w[2 * i] = even[i];
    for (int i = 0; i < Odd::kR; ++i) w[2 * i + 1] = odd[i];
  }
};

// 3x3 at stride 2 on 2x2 output tiles: 5x5 cells against 36 multiplies direct (1.44x fewer); 5x5 at stride
// 2: F(2, 3) on the even phase, F(2, 2) on the odd, 7x7 cells against 100 (2.04x fewer).
using S2F2x3 = Stride2<F2x2, Taps1<2>>;
using S2F2x5 = Stride2<F2, F2x2>;

}  // namespace xgrad::winograd
