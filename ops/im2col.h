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

// The padded plane with its columns split into the sw phases of the stride, [rows][sw][cph]: padded
// cell (r, s) sits at (r*sw + s % sw)*cph + s / sw, so the cells a tap reads along an output row
// (columns j*sw + q*dw) are contiguous and every loop over them is a plain vector loop, at any stride.
struct Phased {
  int64_t rows, sw, cph;
  int64_t size() const { return rows * sw * cph; }
  int64_t at(int64_t r, int64_t s) const { return (r * sw + s % sw) * cph + s / sw; }
};
Phased phased(const ConvDims& d);
// Between one plane x [h, w] and its phased padded plane: cell (r, s) of x is padded cell
// (r + pt, s + pl); to_phased writes the plane (zeros first), else the plane's cells go to x (0 for
// cells outside it).
void copy_phased(const ConvDims& d, const Phased& ph, float* plane, float* x, bool to_phased);
// The cell that tap (p, q) reads for output (0, 0); output row i reads row_step(d, ph) * i further.
inline int64_t tap_start(const ConvDims& d, const Phased& ph, int64_t p, int64_t q) {
  return ph.at(p * d.dilation[0], q * d.dilation[1]);
}
inline int64_t row_step(const ConvDims& d, const Phased& ph) { return d.stride[0] * ph.sw * ph.cph; }

// x: one image [C, H, W] -> cols [C*KH*KW, OH*OW].
void im2col(const ConvDims& d, const float* x, float* cols);

// The adjoint: dx [C, H, W] = Σ of every cols entry at the input cell it was read from (overwrites
// dx). The sums run in the C channels' phased padded planes (scratch: col2im_scratch(d) floats), where
// each tap's output row is one contiguous add at any stride.
int64_t col2im_scratch(const ConvDims& d);
void col2im(const ConvDims& d, const float* cols, float* scratch, float* dx);
// The same sums in the same order (so the same bits) in AVX-512 vectors; only on a CPU that has it.
// cols' rows are ld floats apart (0: OH*OW), so one image's block of images side by side serves.
void col2im_avx512(const ConvDims& d, const float* cols, float* scratch, float* dx, int64_t ld = 0);

}  // namespace xgrad
