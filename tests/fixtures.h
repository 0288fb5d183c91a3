#pragma once
// Small tensors and batches shared by the tests.
#include <vector>

#include "core/rng.h"
#include "graph/params.h"

namespace xgrad::test {

inline Tensor filled(const Shape& shape, const std::vector<float>& values) {
  Tensor t = make_tensor(shape);
  std::copy(values.begin(), values.end(), t.begin());
  return t;
}

inline Tensor vec(const std::vector<float>& values) { return filled({int64_t(values.size())}, values); }

// n random 28x28 images in [0, 1) with labels 0..9, fed as "image" and "label".
inline Feeds random_image_batch(Rng& rng, int64_t n) {
  Tensor images = make_tensor({n, 1, 28, 28});
  for (float& v : images) v = rng.uniform01();
  Tensor labels = make_tensor({n});
  for (float& v : labels) v = float(rng.below(10));
  return {{"image", images}, {"label", labels}};
}

}  // namespace xgrad::test
