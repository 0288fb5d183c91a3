#include "tests/pool_reference.h"

#include <algorithm>
#include <limits>

namespace xgrad {
namespace {

template <class F>
void each_cell(const PoolDims& d, int64_t i, int64_t j, F&& f) {
  for (int64_t p = 0; p < d.win.kernel[0]; ++p) {
    const int64_t r = i * d.win.stride[0] - d.g.pad_top + p;
    if (r < 0 || r >= d.h) continue;
    for (int64_t q = 0; q < d.win.kernel[1]; ++q) {
      const int64_t s = j * d.win.stride[1] - d.g.pad_left + q;
      if (s >= 0 && s < d.w) f(r, s);
    }
  }
}

// Calls f(plane, flat output index, i, j) for every output cell.
template <class F>
void each_output(const PoolDims& d, F&& f) {
  for (int64_t pl = 0; pl < d.planes; ++pl)
    for (int64_t i = 0; i < d.g.out_h; ++i)
      for (int64_t j = 0; j < d.g.out_w; ++j) f(pl, (pl * d.g.out_h + i) * d.g.out_w + j, i, j);
}

}  // namespace

void max_pool_reference_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax) {
  each_output(d, [&](int64_t pl, int64_t o, int64_t i, int64_t j) {
    float best = -std::numeric_limits<float>::infinity();
    int64_t best_at = -1;
    each_cell(d, i, j, [&](int64_t r, int64_t s) {
      const int64_t at = (pl * d.h + r) * d.w + s;
      if (best_at < 0 || x[at] > best) best = x[at], best_at = at;
    });
    y[o] = best;
    if (argmax) argmax[o] = int32_t(best_at);
  });
}

void avg_pool_reference_forward(const PoolDims& d, const float* x, float* y) {
  each_output(d, [&](int64_t pl, int64_t o, int64_t i, int64_t j) {
    double sum = 0;
    int64_t count = 0;
    each_cell(d, i, j, [&](int64_t r, int64_t s) {
      sum += x[(pl * d.h + r) * d.w + s];
      ++count;
    });
    y[o] = float(sum / double(count));
  });
}

void max_pool_reference_backward(const PoolDims& d, const float* gy, const int32_t* argmax, float* dx) {
  std::fill(dx, dx + d.planes * d.h * d.w, 0.0f);
  for (int64_t o = 0, n = d.planes * d.g.out_h * d.g.out_w; o < n; ++o) dx[argmax[o]] += gy[o];
}

void avg_pool_reference_backward(const PoolDims& d, const float* gy, float* dx) {
  std::fill(dx, dx + d.planes * d.h * d.w, 0.0f);
  each_output(d, [&](int64_t pl, int64_t o, int64_t i, int64_t j) {
    int64_t count = 0;
    each_cell(d, i, j, [&](int64_t, int64_t) { ++count; });
    const float share = gy[o] / float(count);
    each_cell(d, i, j, [&](int64_t r, int64_t s) { dx[(pl * d.h + r) * d.w + s] += share; });
  });
}

}  // namespace xgrad
