// Owning batch sources: samples in tensors, subsets, take, seeded splits, and batches_of on a temporary.
#include <doctest/doctest.h>

#include <numeric>
#include <set>

#include "core/dataset.h"
#include "core/error.h"
#include "graph/data.h"
#include "tests/fixtures.h"

using namespace xgrad;

namespace {

// n samples x [n, 2] = (i, -i) with labels i.
BatchSource numbered(size_t n) {
  Tensor x = make_tensor({int64_t(n), 2}), y = make_tensor({int64_t(n)});
  for (size_t i = 0; i < n; ++i) x(i, 0) = float(i), x(i, 1) = -float(i), y(i) = float(i);
  return tensor_batches(x, y);
}

std::vector<float> labels_of(const BatchSource& s) {
  const Tensor y = materialize(s).second;
  return {y.begin(), y.end()};
}

}  // namespace

TEST_CASE("tensor_batches copies the rows of the samples in the order asked") {
  BatchSource s = numbered(5);
  CHECK(s.size == 5);
  Tensor x, y;
  s.batch({4, 0, 2, 1, 3}, 1, 3, x, y);
  CHECK(shape_of(x) == Shape{3, 2});
  CHECK(std::vector<float>(x.begin(), x.end()) == std::vector<float>{0, -0.0f, 2, -2, 1, -1});
  CHECK(std::vector<float>(y.begin(), y.end()) == std::vector<float>{0, 2, 1});
  CHECK_THROWS_WITH_AS(tensor_batches(make_tensor({3, 2}), make_tensor({4})),
                       doctest::Contains("same number of samples"), Error);
  CHECK_THROWS_WITH_AS(tensor_batches(make_tensor({0, 2}), make_tensor({0})), doctest::Contains("no samples"),
                       Error);
}

TEST_CASE("subset and take pick samples by index; out of range is an error") {
  CHECK(labels_of(subset(numbered(6), {5, 1, 3})) == std::vector<float>{5, 1, 3});
  CHECK(labels_of(take(numbered(6), 2)) == std::vector<float>{0, 1});
  CHECK(take(numbered(6), 100).size == 6);
  CHECK(labels_of(take(subset(numbered(6), {4, 5}), 1)) == std::vector<float>{4});
  CHECK_THROWS_WITH_AS(subset(numbered(3), {0, 3}), doctest::Contains("sample 3 is out of range for 3"),
                       Error);
}

TEST_CASE("split: disjoint parts covering the source, floor(fraction * size) in the first, seeded") {
  const Split a = split(numbered(10), 0.75, 1);
  CHECK(a.first.size == 7);
  CHECK(a.second.size == 3);
  std::vector<float> all = labels_of(a.first), second = labels_of(a.second);
  CHECK(std::is_sorted(all.begin(), all.end()));
  all.insert(all.end(), second.begin(), second.end());
  CHECK(std::set<float>(all.begin(), all.end()).size() == 10);
  CHECK(labels_of(split(numbered(10), 0.75, 1).second) == second);  // same seed, same split
  bool differs = false;
  for (uint64_t seed = 2; seed < 6; ++seed)
    differs = differs || labels_of(split(numbered(10), 0.75, seed).second) != second;
  CHECK(differs);
  CHECK(split(numbered(10), 0, 0).first.size == 0);
  CHECK_THROWS_WITH_AS(split(numbered(10), 1.5), doctest::Contains("fraction"), Error);
}

TEST_CASE("batches_of a temporary dataset owns it") {
  BatchSource s = batches_of(Dataset(std::vector<uint8_t>(3 * 4, 255), {2, 0, 1}, 2, 2, 3));
  Tensor images, labels;
  s.batch({0, 1, 2}, 0, 3, images, labels);  // the Dataset temporary is gone: this reads the source's copy
  CHECK(shape_of(images) == Shape{3, 1, 2, 2});
  CHECK(images(2, 0, 1, 1) == 1.0f);
  CHECK(std::vector<float>(labels.begin(), labels.end()) == std::vector<float>{2, 0, 1});
}
