#include "ops/conv_pointwise.h"

#include <algorithm>

#include "ops/conv_ovec.h"
#include "ops/gemm_avx512.h"
#include "ops/side_by_side.h"

namespace xgrad {

int64_t pointwise_images_per_call(const ConvDims& d) { return side_by_side_images(d.positions()); }

int64_t pointwise_scratch_size(const ConvDims& d) {
  return (d.c + d.o) * pointwise_images_per_call(d) * d.positions();
}
int64_t pointwise_dx_scratch_size(const ConvDims& d) { return pointwise_scratch_size(d); }

void pointwise_forward_avx512(const ConvDims& d, const float* x, const float* w, const float* b,
                              float* scratch, float* y) {
  const int64_t p = d.positions(), cols = d.n * p;
  const float* xs = x;
  float* ys = y;
  if (d.n > 1) {
    images_side_by_side(x, d.n, d.c, p, scratch);
    xs = scratch, ys = scratch + d.c * cols;
  }
  for (int64_t o = 0; o < d.o; ++o) std::fill(ys + o * cols, ys + (o + 1) * cols, b ? b[o] : 0.0f);
  gemm_avx512(d.o, cols, d.c, w, d.c, 1, xs, cols, ys, cols, true);  // y [O, nP] += w [O, C] · x [C, nP]
  if (d.n > 1) images_apart(ys, d.n, d.o, p, y);
}

// acc [O, C] += g [O, nP] · xᵀ [nP, C]: xᵀ by 16 x 16 blocks, g side by side. Over the batch
// (d.batch): both stored there.
void pointwise_weight_grad_avx512(const ConvDims& d, const float* x, const float* g, float* scratch,
                                  float* acc) {
  const int64_t p = d.positions(), cols = d.n * p;
  float* xt = d.batch ? d.batch + d.batch_first * p * d.c : scratch;
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t c0 = 0; c0 < d.c; c0 += kLanes)
      for (int64_t p0 = 0; p0 < p; p0 += kLanes)
        transpose_block(x + (i * d.c + c0) * p + p0, p, xt + (i * p + p0) * d.c + c0, d.c,
                        std::min(kLanes, d.c - c0), std::min(kLanes, p - p0));
  if (d.batch)
    return g_into_batch(g, d.batch_first, d.n, d.o, p, d.batch_images, d.batch + d.batch_images * p * d.c);
  const float* gs = g;
  if (d.n > 1) {
    images_side_by_side(g, d.n, d.o, p, scratch + cols * d.c);
    gs = scratch + cols * d.c;
  }
  gemm_avx512(d.o, d.c, cols, gs, cols, 1, xt, d.c, acc, d.c, !d.acc_fresh);
}

int64_t pointwise_batch_size(const ConvDims& d) { return batch_floats(d.n, d.positions(), d.c, d.o); }
void pointwise_batch_weight_grad(const ConvDims& d, const float* batch, float* acc) {
  const int64_t cols = d.n * d.positions();
  gemm_avx512_pooled(d.o, d.c, cols, batch + cols * d.c, cols, 1, batch, d.c, acc, d.c, false);
}

// dx [C, nP] = wᵀ [C, O] · g [O, nP].
void pointwise_input_grad_avx512(const ConvDims& d, const float* g, const float* w, float* scratch,
                                 float* dx) {
  const int64_t p = d.positions(), cols = d.n * p;
  if (d.n == 1) {
    gemm_avx512(d.c, p, d.o, w, 1, d.c, g, p, dx, p, false);
    return;
  }
  float *gs = scratch, *dxs = scratch + d.o * cols;
  images_side_by_side(g, d.n, d.o, p, gs);
  gemm_avx512(d.c, cols, d.o, w, 1, d.c, gs, cols, dxs, cols, false);
  images_apart(dxs, d.n, d.c, p, dx);
}

}  // namespace xgrad
