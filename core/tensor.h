#pragma once
// Tensors are float32 N-d arrays on xtensor, row-major. Integer class labels travel in the same
// float tensors (exact below 2^24); the graph records their dtype so they are checked and never
// differentiated.
#include <cstdint>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace xgrad {

using Tensor = xt::xarray<float>;
using Shape = std::vector<int64_t>;

enum class DType { Float32, Int32 };

const char* dtype_name(DType t);
DType dtype_from_name(const std::string& name);  // throws Error for anything but float32/int32

// "[2, 3, 4]"
std::string to_string(const Shape& s);

// Number of elements; throws Error on negative dims or if the product overflows int64 (any order).
int64_t checked_numel(const Shape& s);

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape shape_of(const Tensor& t);

// Resizes `t` to `s` unless it already has that shape, so reused buffers are not reallocated.
void ensure_shape(Tensor& t, const Shape& s);

Tensor make_tensor(const Shape& s, float fill = 0.0f);

// Batch-aware shape match: a -1 in `pattern` matches any size.
bool shape_matches(const Shape& pattern, const Shape& actual);

}  // namespace xgrad
