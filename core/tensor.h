#pragma once
// Tensors are float32 N-d arrays on xtensor, row-major. Integer class labels travel in the same
// float tensors (exact below 2^24); the graph records their dtype so they are checked and never
// differentiated.
#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

namespace xgrad {

// Allocates on 64-byte boundaries: a cache line, and one AVX-512 vector. With malloc's 16-byte
// alignment every 512-bit load of a kernel's weights or scratch could straddle two cache lines,
// which Intel's cores pay for (session 20, an Intel host: every conv kernel tried ran 6-12 % faster
// with all buffers aligned; see ops/KERNELS.md).
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept {
    return false;
  }
};

using Tensor = xt::xarray<float, xt::layout_type::row_major, CacheLineAllocator<float>>;
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
