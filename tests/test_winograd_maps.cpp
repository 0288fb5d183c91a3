// The Winograd maps (ops/winograd_maps.h, ops/winograd_maps_strided.h) against their definitions: each
// variant's three transforms compute the (strided) correlation exactly, and b, ad and gt are the
// transposes of bt, at and g. The kernel tests compare whole convs; this checks every map of every
// variant, including gt, which the lane kernels do not call (they apply the weight transform as a matrix
// built from g).
#include <doctest/doctest.h>

#include <cmath>

#include "core/rng.h"
#include "ops/winograd_maps_strided.h"

using namespace xgrad;

namespace {

template <int N>
double dot(const double* a, const double* b) {
  double s = 0;
  for (int i = 0; i < N; ++i) s += a[i] * b[i];
  return s;
}

template <class F>
void check_variant(const char* name) {
  constexpr int M = F::kM, R = F::kR, A = F::kA, S = F::kS;
  static_assert(A == S * (M - 1) + R);  // a tile's inputs
  CAPTURE(name);
  Rng rng(5);
  const auto fill = [&](double* v, int n) {
    for (int i = 0; i < n; ++i) v[i] = rng.uniform(-1.0f, 1.0f);
  };
  for (int trial = 0; trial < 20; ++trial) {
    double d[A], w[R], o[M], a[A], c[A], u[A];
    fill(d, A), fill(w, R), fill(o, M), fill(a, A), fill(c, A), fill(u, A);
    // y = Aᵀ [(G w) ⊙ (Bᵀ d)] + bias is the correlation y_i = Σ_k d[S·i + k] w[k] + bias.
    double gw[A], btd[A], prod[A], y[M];
    F::g(w, gw);
    F::bt(d, btd);
    for (int i = 0; i < A; ++i) prod[i] = gw[i] * btd[i];
    const double bias = 0.25;
    F::at(prod, bias, y);
    for (int i = 0; i < M; ++i) {
      double want = bias;
      for (int k = 0; k < R; ++k) want += d[S * i + k] * w[k];
      CHECK(std::fabs(y[i] - want) < 1e-9 * (1 + std::fabs(want)));
    }
    // <Bᵀ a, c> = <a, B c>, <Aᵀ a, o> = <a, A o>, <G w, u> = <w, Gᵀ u>.
    double bta[A], bc[A], ata[M], ao[A], gtu[R];
    F::bt(a, bta);
    F::b(c, bc);
    CHECK(dot<A>(bta, c) == doctest::Approx(dot<A>(a, bc)).epsilon(1e-9));
    F::at(a, 0.0, ata);
    F::ad(o, ao);
    CHECK(dot<M>(ata, o) == doctest::Approx(dot<A>(a, ao)).epsilon(1e-9));
    F::gt(u, gtu);
    CHECK(dot<A>(gw, u) == doctest::Approx(dot<R>(w, gtu)).epsilon(1e-9));
  }
}

}  // namespace

TEST_CASE("every Winograd variant's maps compute the correlation, and b, ad and gt are transposes") {
  check_variant<winograd::F2>("F(2, 3)");
  check_variant<winograd::F4>("F(4, 3)");
  check_variant<winograd::F2x5>("F(2, 5)");
  check_variant<winograd::F3x5>("F(3, 5)");
  check_variant<winograd::F4x5>("F(4, 5)");
  check_variant<winograd::F2x7>("F(2, 7)");
}

TEST_CASE("the stride-2 variants' maps compute the strided correlation, and their parts' maps theirs") {
  check_variant<winograd::Taps1<3>>("F(3, 1)");
  check_variant<winograd::F2x2>("F(2, 2)");
  check_variant<winograd::S2F2x3>("F(2, 3) at stride 2");
  check_variant<winograd::S2F2x5>("F(2, 5) at stride 2");
}
