#pragma once
// A small synthetic classification set for training tests: class c lights up a band of rows.
#include <cstring>

#include "core/rng.h"
#include "graph/train.h"

namespace xgrad::testing {

// The same params with the same bits (NaN included), none missing or extra.
inline bool same_param_bits(const Params& a, const Params& b) {
  for (const auto& [name, t] : a)
    if (!b.count(name) || t.size() != b.at(name).size() ||
        std::memcmp(t.data(), b.at(name).data(), t.size() * sizeof(float)) != 0)
      return false;
  return a.size() == b.size();
}

struct Synthetic {
  size_t n;
  Tensor images;  // [n, 1, 28, 28]
  std::vector<float> labels;

  explicit Synthetic(size_t count, int64_t classes = 3, uint64_t seed = 1) : n(count) {
    images = make_tensor({int64_t(n), 1, 28, 28});
    Rng rng(seed);
    for (size_t i = 0; i < n; ++i) {
      const int64_t c = int64_t(i % size_t(classes));
      labels.push_back(float(c));
      float* img = images.data() + i * 784;
      for (size_t p = 0; p < 784; ++p) {
        const int64_t row = int64_t(p / 28);
        img[p] = rng.uniform(0.0f, 0.5f) + (row / (28 / classes) == c ? 0.5f : 0.0f);
      }
    }
  }

  BatchSource source() const {
    return {n, [this](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& x, Tensor& y) {
              ensure_shape(x, {int64_t(count), 1, 28, 28});
              ensure_shape(y, {int64_t(count)});
              for (size_t i = 0; i < count; ++i) {
                const uint32_t s = order[start + i];
                std::memcpy(x.data() + i * 784, images.data() + size_t(s) * 784, 784 * sizeof(float));
                y.data()[i] = labels[s];
              }
            }};
  }
};

}  // namespace xgrad::testing
