#pragma once
// Lowering a convolution to matrix products, one image at a time:
//   cols [C*KH*KW, OH*OW]: cols[(c*KH + p)*KW + q][i*OW + j] = x[c][i*sh - pt + p*dh][j*sw - pl + q*dw]
// (0 where that lands in the padding), so y[O, OH*OW] = w[O, C*KH*KW] · cols.
#include "ops/window.h"

namespace xgrad {

// x: one image [C, H, W] -> cols [C*KH*KW, OH*OW].
void im2col(const ConvDims& d, const float* x, float* cols);

// The adjoint: dx [C, H, W] = Σ of every cols entry at the input cell it was read from (overwrites dx).
void col2im(const ConvDims& d, const float* cols, float* dx);

}  // namespace xgrad
