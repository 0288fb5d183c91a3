#include "ops/conv_im2col_avx512.h"

#include <algorithm>

#include "ops/conv_ovec.h"
#include "ops/gemm_avx512.h"
#include "ops/im2col.h"
#include "ops/side_by_side.h"

namespace xgrad {

int64_t im2col_avx512_images_per_call(const ConvDims& d) { return side_by_side_images(d.positions()); }

int64_t im2col_avx512_kept_size(const ConvDims& d) { return d.patch() * d.positions(); }
int64_t im2col_avx512_scratch_size(const ConvDims& d) {
  return (d.patch() + d.o) * im2col_avx512_images_per_call(d) * d.positions();
}
int64_t im2col_avx512_dx_scratch_size(const ConvDims& d) {
  return im2col_avx512_scratch_size(d) + col2im_scratch(d);
}

void im2col_forward_avx512(const ConvDims& d, const float* x, const float* w, const float* b, float* kept,
                           float* scratch, float* y) {
  const int64_t k = d.patch(), p = d.positions(), cols = d.n * p;
  for (int64_t i = 0; i < d.n; ++i) im2col(d, x + i * d.c * d.h * d.w, kept + i * k * p);
  const float* cs = kept;
  float* ys = y;
  if (d.n > 1) {
    images_side_by_side(kept, d.n, k, p, scratch);
    cs = scratch, ys = scratch + k * cols;
  }
  for (int64_t o = 0; o < d.o; ++o) std::fill(ys + o * cols, ys + (o + 1) * cols, b ? b[o] : 0.0f);
  gemm_avx512(d.o, cols, k, w, k, 1, cs, cols, ys, cols, true);  // y [O, nP] += w [O, K] · cols [K, nP]
  if (d.n > 1) images_apart(ys, d.n, d.o, p, y);
}

// acc [O, K] += g [O, nP] · colsᵀ [nP, K]: each image's cols transposed by 16 x 16 blocks (its sums
// then run along the positions), g side by side. Over the batch (d.batch): both stored there.
void im2col_weight_grad_avx512(const ConvDims& d, const float* kept, const float* g, float* scratch,
                               float* acc) {
  const int64_t k = d.patch(), p = d.positions(), cols = d.n * p;
  float* ct = d.batch ? d.batch + d.batch_first * p * k : scratch;
  for (int64_t i = 0; i < d.n; ++i)
    for (int64_t k0 = 0; k0 < k; k0 += kLanes)
      for (int64_t p0 = 0; p0 < p; p0 += kLanes)
        transpose_block(kept + (i * k + k0) * p + p0, p, ct + (i * p + p0) * k + k0, k,
                        std::min(kLanes, k - k0), std::min(kLanes, p - p0));
  if (d.batch)
    return g_into_batch(g, d.batch_first, d.n, d.o, p, d.batch_images, d.batch + d.batch_images * p * k);
  const float* gs = g;
  if (d.n > 1) {
    images_side_by_side(g, d.n, d.o, p, scratch + cols * k);
    gs = scratch + cols * k;
  }
  gemm_avx512(d.o, k, cols, gs, cols, 1, scratch, k, acc, k, !d.acc_fresh);
}

int64_t im2col_avx512_batch_size(const ConvDims& d) {
  return batch_floats(d.n, d.positions(), d.patch(), d.o);
}
void im2col_avx512_batch_weight_grad(const ConvDims& d, const float* batch, float* acc) {
  const int64_t k = d.patch(), cols = d.n * d.positions();
  gemm_avx512_pooled(d.o, k, cols, batch + cols * k, cols, 1, batch, k, acc, k, false);
}

// dcols [K, nP] = wᵀ [K, O] · g [O, nP], then col2im image by image from its columns.
void im2col_input_grad_avx512(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx) {
  const int64_t k = d.patch(), p = d.positions(), cols = d.n * p;
  const float* gs = g;
  float* dcols = scratch;
  if (d.n > 1) {
    images_side_by_side(g, d.n, d.o, p, scratch);
    gs = scratch, dcols = scratch + d.o * cols;
  }
  gemm_avx512(k, cols, d.o, w, 1, k, gs, cols, dcols, cols, false);
  float* col2im_space = dcols + k * cols;
  for (int64_t i = 0; i < d.n; ++i)
    col2im_avx512(d, dcols + i * p, col2im_space, dx + i * d.c * d.h * d.w, cols);
}

}  // namespace xgrad
