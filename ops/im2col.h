#pragma once
// Lowering a convolution to matrix products, one image at a time:
//   cols [C*KH*KW, OH*OW]: cols[(c*KH + p)*KW + q][i*OW + j] = x[c][i*sh - pt + p*dh][j*sw - pl + q*dw]
// (0 where that lands in the padding), so y[O, OH*OW] = w[O, C*KH*KW] · cols.
#include "ops/window.h"

namespace xgrad {

// The zero-padded image that every tap of every output reads inside of:
// rows (oh-1)*sh + (kh-1)*dh + 1, cols (ow-1)*sw + (kw-1)*dw + 1, input cell (r, s) at
// (r + pad_top, s + pad_left); input cells no output reads are left out.
struct PaddedPlane {
  int64_t rows, cols;
  int64_t size() const { return rows * cols; }
};
PaddedPlane padded_plane(const ConvDims& d);
// xp [C, rows, cols] from x [C, H, W].
void pad_image(const ConvDims& d, const float* x, float* xp);
// dx [C, H, W] = the cells of dxp [C, rows, cols] that are input cells (0 for cells left out).
void crop_image(const ConvDims& d, const float* dxp, float* dx);

// x: one image [C, H, W] -> cols [C*KH*KW, OH*OW].
void im2col(const ConvDims& d, const float* x, float* cols);

// The adjoint: dx [C, H, W] = Σ of every cols entry at the input cell it was read from (overwrites dx).
void col2im(const ConvDims& d, const float* cols, float* dx);

}  // namespace xgrad
