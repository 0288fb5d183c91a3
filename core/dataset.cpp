#include "core/dataset.h"

#include <numeric>

#include "core/error.h"

namespace xgrad {
namespace {

// byte -> byte / 255, exact and branch-free in the batch loop.
const std::array<float, 256>& byte_to_unit() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[size_t(i)] = float(i) / 255.0f;
    return t;
  }();
  return table;
}

Shape batch_shape(size_t count, const Shape& per_sample) {
  Shape s{int64_t(count)};
  s.insert(s.end(), per_sample.begin(), per_sample.end());
  return s;
}

}  // namespace

Dataset::Dataset(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t rows, int64_t cols,
                 int64_t classes, const std::string& where) {
  if (rows <= 0 || cols <= 0 || classes <= 0 || classes > 256)
    throw Error(where + ": expected rows, cols > 0 and 1..256 classes, found rows " + std::to_string(rows) +
                ", cols " + std::to_string(cols) + ", classes " + std::to_string(classes));
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(uint64_t(rows), uint64_t(cols), &bytes) ||
      __builtin_mul_overflow(bytes, uint64_t(labels.size()), &bytes) || images.size() != bytes)
    throw Error(where + ": " + std::to_string(images.size()) + " image bytes, expected " +
                std::to_string(labels.size()) + " images of " + std::to_string(rows) + "x" +
                std::to_string(cols));
  bytes_ = std::move(images);
  set_samples(bytes_.size(), {1, rows, cols}, where);
  set_classes(std::vector<int32_t>(labels.begin(), labels.end()), classes, where);
}

void Dataset::set_samples(size_t stored, Shape sample_shape, const std::string& where) {
  const int64_t per = sample_shape.empty() ? 0 : checked_numel(sample_shape);
  if (per <= 0 || stored % size_t(per) != 0)
    throw Error(where + ": " + std::to_string(stored) + " values do not make whole samples of " +
                to_string(sample_shape));
  sample_shape_ = std::move(sample_shape);
  size_ = stored / size_t(per);
}

Dataset Dataset::from_uint8(std::vector<uint8_t> samples, Shape sample_shape, const std::string& where) {
  Dataset d;
  d.bytes_ = std::move(samples);
  d.set_samples(d.bytes_.size(), std::move(sample_shape), where);
  return d;
}

Dataset Dataset::from_float(std::vector<float> samples, Shape sample_shape, const std::string& where) {
  Dataset d;
  d.floats_ = std::move(samples);
  d.set_samples(d.floats_.size(), std::move(sample_shape), where);
  return d;
}

void Dataset::set_classes(std::vector<int32_t> ids, int64_t classes, const std::string& where) {
  if (ids.size() != size_)
    throw Error(where + ": " + std::to_string(ids.size()) + " labels for " + std::to_string(size_) +
                " samples, expected one label per sample");
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= classes)
      throw Error(where + ": label " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                  " is out of range, expected 0.." + std::to_string(classes - 1));
  class_ids_ = std::move(ids);
  classes_ = classes;
  targets_.clear();
  target_shape_.clear();
}

void Dataset::set_targets(std::vector<float> targets, Shape target_shape, const std::string& where) {
  const size_t per = size_t(numel(target_shape));
  if (per == 0 || targets.size() != size_ * per)
    throw Error(where + ": " + std::to_string(targets.size()) + " target values for " +
                std::to_string(size_) + " samples, expected " + to_string(target_shape) + " per sample");
  targets_ = std::move(targets);
  target_shape_ = std::move(target_shape);
  class_ids_.clear();
  classes_ = 0;
}

void Dataset::check_index(size_t i) const {
  if (i >= size())
    throw Error("dataset: item " + std::to_string(i) + " is out of range for " + std::to_string(size()) +
                " items");
}

int32_t Dataset::label(size_t i) const {
  check_index(i);
  if (!has_class_labels()) throw Error("dataset: label(): the labels are float targets, not class ids");
  return class_ids_[i];
}

const uint8_t* Dataset::image(size_t i) const {
  check_index(i);
  if (!is_uint8()) throw Error("dataset: image(): the samples are float32, not uint8");
  return bytes_.data() + i * size_t(numel(sample_shape_));
}

void Dataset::batch(const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& samples,
                    Tensor& labels) const {
  if (start > order.size() || count > order.size() - start)
    throw Error("dataset batch: items " + std::to_string(start) + ".." + std::to_string(start + count) +
                " exceed the order of " + std::to_string(order.size()) + " items");
  const size_t per = size_t(numel(sample_shape_)), per_label = size_t(numel(target_shape_));
  ensure_shape(samples, batch_shape(count, sample_shape_));
  ensure_shape(labels, batch_shape(count, target_shape_));
  const std::array<float, 256>& unit = byte_to_unit();
  float* dst = samples.data();  // [count, sample...]
  for (size_t k = 0; k < count; ++k, dst += per) {
    const uint32_t item = order[start + k];
    if (item >= size())
      throw Error("dataset batch: order[" + std::to_string(start + k) + "] = " + std::to_string(item) +
                  " is out of range for " + std::to_string(size()) + " items");
    if (is_uint8()) {
      const uint8_t* src = bytes_.data() + size_t(item) * per;
      for (size_t j = 0; j < per; ++j) dst[j] = unit[src[j]];
    } else {
      std::copy_n(floats_.data() + size_t(item) * per, per, dst);
    }
    if (has_class_labels())
      labels.data()[k] = float(class_ids_[item]);
    else
      std::copy_n(targets_.data() + size_t(item) * per_label, per_label, labels.data() + k * per_label);
  }
}

const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                    "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                    "Bag",         "Ankle boot"};
  return names;
}

std::vector<uint32_t> shuffled_order(size_t n, Rng& rng) {
  if (n > UINT32_MAX)
    throw Error("shuffled_order: " + std::to_string(n) + " items, at most 2^32 - 1 supported");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  rng.shuffle(order);
  return order;
}

}  // namespace xgrad
