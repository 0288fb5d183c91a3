#include "tests/conv_reference.h"

#include <algorithm>

namespace xgrad {
namespace {

// Calls f(c, c', p, q, r, s) for every kernel tap of output (o, i, j) that lands inside the input:
// input channel c of o's group, c' its index in the group (w's second axis).
template <class F>
void each_tap(const ConvDims& d, int64_t o, int64_t i, int64_t j, F&& f) {
  const int64_t per_group = d.c / d.groups, first = o / (d.o / d.groups) * per_group;
  for (int64_t c = first; c < first + per_group; ++c)
    for (int64_t p = 0; p < d.kh; ++p) {
      const int64_t r = i * d.stride[0] - d.g.pad_top + p * d.dilation[0];
      if (r < 0 || r >= d.h) continue;
      for (int64_t q = 0; q < d.kw; ++q) {
        const int64_t s = j * d.stride[1] - d.g.pad_left + q * d.dilation[1];
        if (s >= 0 && s < d.w) f(c, c - first, p, q, r, s);
      }
    }
}

}  // namespace

void conv2d_reference_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* y) {
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.o; ++o)
      for (int64_t i = 0; i < d.g.out_h; ++i)
        for (int64_t j = 0; j < d.g.out_w; ++j) {
          double acc = b ? b[o] : 0.0f;
          each_tap(d, o, i, j, [&](int64_t c, int64_t cg, int64_t p, int64_t q, int64_t r, int64_t s) {
            acc += double(x[((n * d.c + c) * d.h + r) * d.w + s]) *
                   w[((o * (d.c / d.groups) + cg) * d.kh + p) * d.kw + q];
          });
          y[((n * d.o + o) * d.g.out_h + i) * d.g.out_w + j] = float(acc);
        }
}

void conv2d_reference_backward(const ConvDims& d, const float* x, const float* w, const float* g, float* dx,
                               float* dw, float* db) {
  if (dx) std::fill(dx, dx + d.n * d.c * d.h * d.w, 0.0f);
  if (dw) std::fill(dw, dw + d.o * d.patch(), 0.0f);
  if (db) std::fill(db, db + d.o, 0.0f);
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t o = 0; o < d.o; ++o)
      for (int64_t i = 0; i < d.g.out_h; ++i)
        for (int64_t j = 0; j < d.g.out_w; ++j) {
          const float go = g[((n * d.o + o) * d.g.out_h + i) * d.g.out_w + j];
          if (db) db[o] += go;
          each_tap(d, o, i, j, [&](int64_t c, int64_t cg, int64_t p, int64_t q, int64_t r, int64_t s) {
            const int64_t xi = ((n * d.c + c) * d.h + r) * d.w + s;
            const int64_t wi = ((o * (d.c / d.groups) + cg) * d.kh + p) * d.kw + q;
            if (dx) dx[xi] += go * w[wi];
            if (dw) dw[wi] += go * x[xi];
          });
        }
}

}  // namespace xgrad
