// Winograd F(m x m, 3x3), m = 2 or 4, F(m x m, 5x5), m = 2, 3 or 4, F(2x2, 7x7), and F(2x2, 3x3) and
// F(2x2, 5x5) at stride 2 (ops/winograd_maps_strided.h), with channels in the vector lanes (16 at
// AVX-512, 8 at AVX2): the math of conv_winograd.cpp, whose plain C++ transforms run along rows of
// tiles, read every m-th cell and stay scalar. Here the input (or the output gradient) is first
// copied channel-last in blocks of L channels, [C/L, rows, cols, L] (register transposes), so each cell of a
// tile is one vector of L channels and every transform is whole-vector adds; the GEMMs run tile-major:
//   M_ξ [n, O] = V_ξ [n, C] · U_ξ [C, O]      dV_ξ [n, C] = dM_ξ [n, O] · U_ξ [C, O]ᵀ
// C and O are rounded up to whole vectors (zero weights, zero channels), so no tail needs a mask. The
// kernels themselves are ops/conv_winograd_lanes_impl.h, compiled here once per instruction set.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "core/parallel.h"
#include "ops/activation.h"
#include "ops/conv_dilated.h"
#include "ops/conv_ovec.h"
#include "ops/conv_winograd.h"
#include "ops/cpu.h"
#include "ops/gemm_avx512.h"
#include "ops/winograd_maps_strided.h"  // their transforms are inlined into each set's kernels below

namespace xgrad::winograd_lanes {
using winograd::F2;
using winograd::F2x5;
using winograd::F2x7;
using winograd::F3x5;
using winograd::F4;
using winograd::F4x5;
using winograd::S2F2x3;
using winograd::S2F2x5;
}  // namespace xgrad::winograd_lanes

XGRAD_AVX512_BEGIN
namespace xgrad::winograd_lanes::avx512 {

struct Vec {
  using V = __m512;
  static constexpr int64_t kLanes = 16;
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V zero() { return _mm512_setzero_ps(); }
  static constexpr bool kOwnGemm = true;  // gemm_avx512
  static V load_first(const float* p, int64_t n) {
    return _mm512_maskz_loadu_ps(__mmask16((1u << n) - 1), p);
  }
  static void transpose(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols,
                        bool stream = false) {
    transpose_block(src, ss, dst, ds, rows, cols, stream);
  }
};

#include "ops/conv_winograd_lanes_impl.h"

}  // namespace xgrad::winograd_lanes::avx512
XGRAD_AVX512_END

XGRAD_AVX2_BEGIN
namespace xgrad::winograd_lanes::avx2 {

struct Vec {
  using V = __m256;
  static constexpr int64_t kLanes = 8;
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V zero() { return _mm256_setzero_ps(); }
  static constexpr bool kOwnGemm = false;  // OpenBLAS's sgemm
  static V load_first(const float* p, int64_t n) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), lanes));
  }
  static void transpose(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols,
                        bool /*stream: plain stores at AVX2*/ = false) {
    transpose_block_avx2(src, ss, dst, ds, rows, cols);
  }
};

#include "ops/conv_winograd_lanes_impl.h"

}  // namespace xgrad::winograd_lanes::avx2
XGRAD_AVX2_END

namespace xgrad {

ConvKernel winograd_lanes_conv_kernel(int m, int r, Isa isa, bool dilated, int stride) {
  namespace a512 = winograd_lanes::avx512;
  namespace a2 = winograd_lanes::avx2;
  using winograd::F2;
  using winograd::F2x5;
  using winograd::F2x7;
  using winograd::F3x5;
  using winograd::F4;
  using winograd::F4x5;
  using winograd::S2F2x3;
  using winograd::S2F2x5;
  const auto of = [dilated](auto avx512, auto variant) {
    using F = decltype(variant);
    if constexpr (decltype(avx512)::value)
      return dilated ? a512::dilated_kernel_of<F>() : a512::kernel_of<F>();
    else
      return dilated ? a2::dilated_kernel_of<F>() : a2::kernel_of<F>();
  };
  const auto by_variant = [&](auto avx512) {
    if (stride == 2) return r == 5 ? of(avx512, S2F2x5{}) : of(avx512, S2F2x3{});  // m = 2
    if (r == 7) return of(avx512, F2x7{});
    if (r == 5) return m == 4 ? of(avx512, F4x5{}) : m == 3 ? of(avx512, F3x5{}) : of(avx512, F2x5{});
    return m == 4 ? of(avx512, F4{}) : of(avx512, F2{});
  };
  return isa == Isa::Avx512 ? by_variant(std::true_type{}) : by_variant(std::false_type{});
}

}  // namespace xgrad
