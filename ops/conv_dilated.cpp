// The mosaic of a dilated conv's phases and its cell maps; see ops/conv_dilated.h.
#include "ops/conv_dilated.h"

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

// map on a grid of `size` cells (−1 beyond the map's own).
std::vector<int64_t> grown(std::vector<int64_t> map, int64_t size) {
  map.resize(size_t(size), -1);
  return map;
}
// The other direction of a one-to-one map onto [0, size): inverse[map[m]] = m (−1 where none).
std::vector<int64_t> inverse(const std::vector<int64_t>& map, int64_t size) {
  std::vector<int64_t> inv(size_t(size), -1);
  for (size_t m = 0; m < map.size(); ++m)
    if (map[m] >= 0) inv[size_t(map[m])] = int64_t(m);
  return inv;
}
// The runs of a map of destination cells to source cells (−1: none).
std::vector<CellRun> runs_of(const std::vector<int64_t>& map) {
  std::vector<CellRun> runs;
  for (int64_t s = 0; s < int64_t(map.size()); ++s) {
    const int64_t from = map[size_t(s)];
    if (from < 0) continue;
    if (!runs.empty()) {
      CellRun& r = runs.back();
      if (r.at + r.count == s && (r.count == 1 || from == r.from + r.count * r.step)) {
        if (r.count == 1) r.step = from - r.from;
        ++r.count;
        continue;
      }
    }
    runs.push_back({s, 1, from, 1});
  }
  return runs;
}
CellMap cell_map(std::vector<int64_t> rows, const std::vector<int64_t>& cols) {
  CellMap m;
  m.row_of = std::move(rows);
  m.runs = runs_of(cols);
  m.width = int64_t(cols.size());
  return m;
}

}  // namespace

ConvDims mosaic_dims(const ConvDims& d) {
  ConvDims m = d;
  m.h = rows_of(d).total(), m.w = cols_of(d).total();
  m.dilation = {1, 1};
  m.g = {m.h - d.kh + 1, m.w - d.kw + 1, 0, 0};
  return m;
}

CellMap mosaic_of_x(const ConvDims& d, int64_t rows, int64_t cols) {
  return cell_map(grown(rows_of(d).input_map(), rows), grown(cols_of(d).input_map(), cols));
}
CellMap mosaic_outputs_of_g(const ConvDims& d, int64_t rows, int64_t cols) {
  return cell_map(grown(rows_of(d).output_map(), rows), grown(cols_of(d).output_map(), cols));
}
CellMap y_of_mosaic_outputs(const ConvDims& d) {
  return cell_map(inverse(rows_of(d).output_map(), d.g.out_h), inverse(cols_of(d).output_map(), d.g.out_w));
}
CellMap dx_of_mosaic(const ConvDims& d) {
  return cell_map(inverse(rows_of(d).input_map(), d.h), inverse(cols_of(d).input_map(), d.w));
}

}  // namespace xgrad
