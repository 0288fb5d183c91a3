#include "graph/data.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>

#include "core/error.h"

namespace xgrad {
namespace {

// Rows order[start .. start+count) of t into out, reusing out's storage when its shape fits.
void gather_rows(const Tensor& t, const std::vector<uint32_t>& order, size_t start, size_t count,
                 Tensor& out) {
  Shape shape = shape_of(t);
  shape[0] = int64_t(count);
  ensure_shape(out, shape);
  const size_t row = t.size() / t.shape()[0];
  for (size_t i = 0; i < count; ++i)
    std::memcpy(out.data() + i * row, t.data() + size_t(order[start + i]) * row, row * sizeof(float));
}

}  // namespace

BatchSource tensor_batches(Tensor x, Tensor y) {
  if (x.dimension() == 0 || y.dimension() == 0 || x.shape()[0] != y.shape()[0])
    throw Error("tensor_batches: inputs " + to_string(shape_of(x)) + " and labels " + to_string(shape_of(y)) +
                " must have the same number of samples (first dimension)");
  if (x.shape()[0] == 0) throw Error("tensor_batches: no samples");
  auto data = std::make_shared<const std::pair<Tensor, Tensor>>(std::move(x), std::move(y));
  return {data->first.shape()[0], [data](const std::vector<uint32_t>& order, size_t start, size_t count,
                                         Tensor& images, Tensor& labels) {
            gather_rows(data->first, order, start, count, images);
            gather_rows(data->second, order, start, count, labels);
          }};
}

BatchSource subset(BatchSource source, std::vector<uint32_t> indices) {
  for (uint32_t i : indices)
    if (i >= source.size)
      throw Error("subset: sample " + std::to_string(i) + " is out of range for " +
                  std::to_string(source.size) + " samples");
  auto picked = std::make_shared<const std::vector<uint32_t>>(std::move(indices));
  const size_t size = picked->size();
  return {size, [source = std::move(source), picked](const std::vector<uint32_t>& order, size_t start,
                                                     size_t count, Tensor& images, Tensor& labels) {
            std::vector<uint32_t> mapped(count);
            for (size_t i = 0; i < count; ++i) mapped[i] = (*picked)[order[start + i]];
            source.batch(mapped, 0, count, images, labels);
          }};
}

BatchSource take(BatchSource source, size_t n) {
  std::vector<uint32_t> first(std::min(n, source.size));
  std::iota(first.begin(), first.end(), 0u);
  return subset(std::move(source), std::move(first));
}

Split split(const BatchSource& source, double fraction, uint64_t seed) {
  if (!(fraction >= 0 && fraction <= 1))
    throw Error("split: the fraction must be in [0, 1], got " + std::to_string(fraction));
  std::vector<uint32_t> order(source.size);
  std::iota(order.begin(), order.end(), 0u);
  Rng rng(seed);
  rng.shuffle(order);
  const auto cut = order.begin() + std::ptrdiff_t(fraction * double(source.size));
  std::vector<uint32_t> first(order.begin(), cut), second(cut, order.end());
  std::sort(first.begin(), first.end());
  std::sort(second.begin(), second.end());
  return {subset(source, std::move(first)), subset(source, std::move(second))};
}

std::pair<Tensor, Tensor> materialize(const BatchSource& source) {
  std::vector<uint32_t> order(source.size);
  std::iota(order.begin(), order.end(), 0u);
  std::pair<Tensor, Tensor> out;
  source.batch(order, 0, source.size, out.first, out.second);
  return out;
}

}  // namespace xgrad
