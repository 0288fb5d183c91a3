#pragma once
// Shared by the direct conv kernels: register blocks sized at compile time.
#include <cstdint>
#include <type_traits>

namespace xgrad {

// Calls f(std::integral_constant<int, n>) for n in [1, Max] (n > Max calls it with Max), so a
// kernel's loops over the block unroll and its accumulators become named registers.
template <int Max, class F>
void with_count(int64_t n, F&& f) {
  if constexpr (Max <= 1) {
    f(std::integral_constant<int, 1>{});
  } else {
    if (n >= Max) return f(std::integral_constant<int, Max>{});
    with_count<Max - 1>(n, f);
  }
}

}  // namespace xgrad
