// Error bounds of the vectorisable math in ops/vmath.h against the C library in double, over dense
// sweeps of the ranges the activations use (relative error, so the tails count as much as 1).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "ops/vmath.h"

using namespace xgrad;

namespace {

// Largest |approx(x) − exact(x)| / |exact(x)| over n points spread evenly in [lo, hi].
double max_rel_error(const std::function<float(float)>& approx, const std::function<double(double)>& exact,
                     double lo, double hi, int n = 200001) {
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const float x = float(lo + (hi - lo) * i / (n - 1));
    const double want = exact(double(x));
    if (want == 0) continue;
    worst = std::max(worst, std::fabs(double(approx(x)) - want) / std::fabs(want));
  }
  return worst;
}

}  // namespace

TEST_CASE("vmath: expm1, tanh, log, log1p, erfc within a few float ulps, tails included") {
  const auto expm1_err = max_rel_error(
      expm1_approx, [](double x) { return std::expm1(x); }, -80, 80);
  const auto expm1_small = max_rel_error(
      expm1_approx, [](double x) { return std::expm1(x); }, -1e-3, 1e-3);
  const auto log_err = max_rel_error(
      log_approx, [](double x) { return std::log(x); }, 1e-30, 1e30);
  const auto log_near1 = max_rel_error(
      log_approx, [](double x) { return std::log(x); }, 0.5, 2);
  const auto log1p_err = max_rel_error(
      log1p_approx, [](double x) { return std::log1p(x); }, 0, 1);
  const auto log1p_tiny = max_rel_error(
      log1p_approx, [](double x) { return std::log1p(x); }, 0, 1e-6);
  const auto tanh_err = max_rel_error(
      tanh_approx, [](double x) { return std::tanh(x); }, -50, 50);
  const auto tanh_small = max_rel_error(
      tanh_approx, [](double x) { return std::tanh(x); }, -1e-3, 1e-3);
  const auto erfc_err = max_rel_error(
      erfc_approx, [](double x) { return std::erfc(x); }, -9, 9);
  MESSAGE("max relative errors: expm1 " << expm1_err << " (near 0: " << expm1_small << "), log " << log_err
                                        << " (near 1: " << log_near1 << "), log1p " << log1p_err
                                        << " (tiny: " << log1p_tiny << "), erfc " << erfc_err << ", tanh "
                                        << tanh_err << " (near 0: " << tanh_small << ")");
  CHECK(expm1_err < 1e-6);
  CHECK(expm1_small < 1e-6);
  CHECK(log_err < 1e-6);
  CHECK(log_near1 < 1e-6);
  CHECK(log1p_err < 1e-6);
  CHECK(log1p_tiny < 1e-6);
  CHECK(erfc_err < 1e-6);
  CHECK(tanh_err < 1e-6);
  CHECK(tanh_small < 1e-6);
  CHECK(tanh_approx(100.0f) == 1.0f);
  CHECK(tanh_approx(-100.0f) == -1.0f);
  CHECK(erfc_approx(9.5f) == 0.0f);
  CHECK(erfc_approx(-9.5f) == 2.0f);
}
