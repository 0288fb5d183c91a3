#pragma once
// A dilated conv at stride 1 as one undilated conv over its phases laid side by side (what TensorFlow's
// atrous conv does with space_to_batch). Output rows a, a + dh, a + 2dh, ... read only the padded input
// rows a + dh·r (columns likewise), so phase (a, b) is a plain valid conv of the phase image
// x_ab[c, r, s] = x_pad[c, a + dh·r, b + dw·s] with the same weights, whose outputs are
// y[o, a + dh·i, b + dw·j]. The phase images side by side make one image, the mosaic; a valid conv over
// it gives every phase's outputs, plus kh − 1 rows (kw − 1 columns) at each seam that read two phases:
// forward drops them, and backward gives them a zero gradient, so they add nothing to dw or dx. That lets
// kernels that need dilation 1 (Winograd) run dilated layers (DeepLab-style context modules, dilated-1x1
// in the zoo) with one GEMM per cell over every phase's tiles.
//
// The Winograd lanes never build the mosaic as a plane: they copy x's cells straight into their
// channel-last region by the maps below (and y's, g's and dx's likewise), where moving a cell is moving
// one vector of channels. A copy of [c, MH, MW] first, cell by cell, cost 37 % of the forward.
#include <cstdint>
#include <vector>

#include "ops/conv_kernels.h"

namespace xgrad {

// The dims of the mosaic of a stride-1 conv d: valid, undilated, stride 1 (d.n images).
ConvDims mosaic_dims(const ConvDims& d);

// How the cells of a [c, h, w] plane and of a grid of rows x width cells line up, in one direction:
// destination row r takes source row row_of[r] (−1: zeros); along a row, destination cells
// at, at + 1, ..., at + count − 1 take source cells from, from + step, ... (cells in no run: zeros).
// Within a phase the source cells are dil apart, so each phase's cells of a row are one run.
struct CellRun {
  int64_t at, count, from, step;
};
struct CellMap {
  std::vector<int64_t> row_of;
  std::vector<CellRun> runs;
  int64_t width = 0;  // destination cells per row
};

// The maps between dilated conv d's planes and its mosaic on grids of rows x cols cells (at least the
// mosaic's; the cells beyond it are zeros):
CellMap mosaic_of_x(const ConvDims& d, int64_t rows, int64_t cols);          // mosaic cell <- x's
CellMap mosaic_outputs_of_g(const ConvDims& d, int64_t rows, int64_t cols);  // mosaic output <- g's (seams 0)
CellMap y_of_mosaic_outputs(const ConvDims& d);                              // y cell <- mosaic output's
CellMap dx_of_mosaic(const ConvDims& d);  // dx cell <- the mosaic cell that read it (none: 0)

}  // namespace xgrad
