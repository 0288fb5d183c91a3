// Dilated convs over the mosaic of their phases; see ops/conv_dilated.h.
#include "ops/conv_dilated.h"

#include <algorithm>
#include <vector>

namespace xgrad {
namespace {

// One axis of the mosaic (rows or columns): phase a has `outputs` cells of y and `size` = outputs +
// k − 1 cells of the padded input, 0 and 0 where y has no cell a.
struct Axis {
  int64_t out, dil, k, pad, in;  // the conv's output size, dilation, kernel, padding before, input size
  int64_t outputs(int64_t a) const { return out > a ? (out - a + dil - 1) / dil : 0; }
  int64_t size(int64_t a) const { return outputs(a) > 0 ? outputs(a) + k - 1 : 0; }
  int64_t total() const {
    int64_t t = 0;
    for (int64_t a = 0; a < dil; ++a) t += size(a);
    return t;
  }
  // For each mosaic input cell, x's cell (−1: padding); for each mosaic output cell, y's (−1: a seam).
  std::vector<int64_t> input_map() const {
    std::vector<int64_t> map;
    for (int64_t a = 0; a < dil; ++a)
      for (int64_t r = 0; r < size(a); ++r) {
        const int64_t i = a + dil * r - pad;
        map.push_back(i >= 0 && i < in ? i : -1);
      }
    return map;
  }
  std::vector<int64_t> output_map() const {
    std::vector<int64_t> map;
    for (int64_t a = 0; a < dil; ++a)
      for (int64_t r = 0; r < size(a); ++r) map.push_back(r < outputs(a) ? a + dil * r : -1);
    map.resize(size_t(total() - k + 1));  // the last phase ends the mosaic's outputs
    return map;
  }
};
Axis rows_of(const ConvDims& d) { return {d.g.out_h, d.dilation[0], d.kh, d.g.pad_top, d.h}; }
Axis cols_of(const ConvDims& d) { return {d.g.out_w, d.dilation[1], d.kw, d.g.pad_left, d.w}; }

// Which cell of x (or y) each cell of the mosaic (or its output) is.
struct Maps {
  std::vector<int64_t> in_rows, in_cols, out_rows, out_cols;
  explicit Maps(const ConvDims& d)
      : in_rows(rows_of(d).input_map()),
        in_cols(cols_of(d).input_map()),
        out_rows(rows_of(d).output_map()),
        out_cols(cols_of(d).output_map()) {}
};

// out [planes, rows.size(), cols.size()] = the cells of src [planes, h, w] the maps name (0 for −1).
void gather(int64_t planes, int64_t h, int64_t w, const std::vector<int64_t>& rows,
            const std::vector<int64_t>& cols, const float* src, float* out) {
  for (int64_t p = 0; p < planes; ++p)
    for (size_t r = 0; r < rows.size(); ++r) {
      float* row = out + (size_t(p) * rows.size() + r) * cols.size();
      const int64_t i = rows[r];
      const float* in = src + (p * h + std::max<int64_t>(i, 0)) * w;
      for (size_t s = 0; s < cols.size(); ++s) row[s] = i >= 0 && cols[s] >= 0 ? in[cols[s]] : 0.0f;
    }
}

// The cells of dst [planes, h, w] the maps name = from [planes, rows.size(), cols.size()]; the others
// are left as they are.
void scatter(int64_t planes, int64_t h, int64_t w, const std::vector<int64_t>& rows,
             const std::vector<int64_t>& cols, const float* from, float* dst) {
  for (int64_t p = 0; p < planes; ++p)
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r] < 0) continue;
      const float* row = from + (size_t(p) * rows.size() + r) * cols.size();
      float* out = dst + (p * h + rows[r]) * w;
      for (size_t s = 0; s < cols.size(); ++s)
        if (cols[s] >= 0) out[cols[s]] = row[s];
    }
}

// The mosaic [c, MH, MW] of x (zeros for padding), and the mosaic's output gradient [o, MOH, MOW] from
// g (zeros on the seams).
void gather_input(const ConvDims& d, const Maps& m, const float* x, float* out) {
  gather(d.c, d.h, d.w, m.in_rows, m.in_cols, x, out);
}
void gather_output(const ConvDims& d, const Maps& m, const float* g, float* out) {
  gather(d.o, d.g.out_h, d.g.out_w, m.out_rows, m.out_cols, g, out);
}

// Scratch: the mosaic image (x, or in input_grad dx's), the mosaic's outputs (y, or g), the inner's.
struct Buffers {
  float *image, *outputs, *inner;
  Buffers(const ConvDims& md, float* scratch)
      : image(scratch), outputs(image + md.c * md.h * md.w), inner(outputs + md.o * md.positions()) {}
};

}  // namespace

ConvDims mosaic_dims(const ConvDims& d) {
  ConvDims m = d;
  m.n = 1;  // one mosaic per call
  m.h = rows_of(d).total(), m.w = cols_of(d).total();
  m.dilation = {1, 1};
  m.g = {m.h - d.kh + 1, m.w - d.kw + 1, 0, 0};
  return m;
}

namespace mosaic {

ConvSizes sizes(const ConvKernel& inner, const ConvDims& d) {
  const ConvDims md = mosaic_dims(d);
  ConvSizes s = inner.sizes(md);
  const int64_t planes = md.c * md.h * md.w + md.o * md.positions();
  s.scratch += planes, s.dx_scratch += planes;
  return s;
}

void prepare(const ConvKernel& inner, bool for_dx, const ConvDims& d, const float* w, float* prepared) {
  (for_dx ? inner.prepare_dx : inner.prepare)(mosaic_dims(d), w, prepared);
}

void forward(const ConvKernel& inner, const ConvDims& d, const float* x, const float* wp, const float* b,
             float* kept, float* scratch, float* y) {
  const ConvDims md = mosaic_dims(d);
  const Maps maps(d);
  const Buffers buf(md, scratch);
  gather_input(d, maps, x, buf.image);
  inner.forward(md, buf.image, wp, b, kept, buf.inner, buf.outputs);
  scatter(d.o, d.g.out_h, d.g.out_w, maps.out_rows, maps.out_cols, buf.outputs, y);  // seams dropped
}

void weight_grad(const ConvKernel& inner, const ConvDims& d, const float* x, const float* kept,
                 const float* g, float* scratch, float* acc) {
  const ConvDims md = mosaic_dims(d);
  const Maps maps(d);
  const Buffers buf(md, scratch);
  gather_input(d, maps, x, buf.image);
  gather_output(d, maps, g, buf.outputs);
  inner.weight_grad(md, buf.image, kept, buf.outputs, buf.inner, acc);
}

void weight_grad_finish(const ConvKernel& inner, const ConvDims& d, const float* acc, float* dw) {
  inner.weight_grad_finish(mosaic_dims(d), acc, dw);
}

void input_grad(const ConvKernel& inner, const ConvDims& d, const float* g, const float* w, const float* wp,
                float* scratch, float* dx) {
  const ConvDims md = mosaic_dims(d);
  const Maps maps(d);
  const Buffers buf(md, scratch);
  gather_output(d, maps, g, buf.outputs);
  inner.input_grad(md, buf.outputs, w, wp, buf.inner, buf.image);
  std::fill(dx, dx + d.c * d.h * d.w, 0.0f);  // cells no phase reads
  scatter(d.c, d.h, d.w, maps.in_rows, maps.in_cols, buf.image,
          dx);  // each cell is at most one of the mosaic
}

void both_grads(const ConvKernel& inner, const ConvDims& d, const float* x, const float* kept, const float* g,
                const float* wp, float* scratch, float* dx_scratch, float* acc, float* dx) {
  const ConvDims md = mosaic_dims(d);
  const Maps maps(d);
  const Buffers buf(md, scratch), dx_buf(md, dx_scratch);
  gather_input(d, maps, x, buf.image);
  gather_output(d, maps, g, buf.outputs);
  inner.both_grads(md, buf.image, kept, buf.outputs, wp, buf.inner, dx_buf.inner, acc, dx_buf.image);
  std::fill(dx, dx + d.c * d.h * d.w, 0.0f);
  scatter(d.c, d.h, d.w, maps.in_rows, maps.in_cols, dx_buf.image, dx);
}

}  // namespace mosaic
}  // namespace xgrad
