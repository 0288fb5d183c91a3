#pragma once
// Winograd F(m x m, r x r) for convs at stride 1 without dilation: F(2, 3) and F(4, 3) for 3x3
// (VGG-style layers), F(4, 5), F(3, 5) and F(2, 5) for 5x5 and F(2, 7) for 7x7 (lanes only); at stride 2
// F(2, 3) and F(2, 5) on the input's even and odd phases (lanes only, ops/winograd_maps_strided.h). Each
// m x m block of outputs of a channel pair comes from (m+r-1)² products of an input tile and the
// transformed weights instead of r²m² multiplies: 2.25x fewer MACs for F(2, 3), 4x for F(4, 3), 2.8x for
// F(2, 5), 4.6x for F(3, 5), 6.25x for F(4, 5), 3.1x for F(2, 7) (stride 2: 1.44x for 3x3, 2.04x for 5x5).
//   Y = Aᵀ [ Σ_c (G w Gᵀ) ⊙ (Bᵀ d B) ] A    (Lavin & Gray 2015)
// The sum over channels is one sgemm per tile cell: M_ξ [O, T] = U_ξ [O, C] · V_ξ [C, T] over the
// T tiles of a band of an image. Backward is the adjoint of the same linear map:
//   dM = A dY Aᵀ;  dU_ξ += dM_ξ · V_ξᵀ, dw = Gᵀ dU G;  dV_ξ = U_ξᵀ · dM_ξ, dx += B dV Bᵀ.
// Two implementations: plain C++ over rows of tiles (any CPU; conv_winograd.cpp), and channels in the
// vector lanes (AVX-512 and AVX2; conv_winograd_lanes.cpp), both over OpenBLAS.
#include <cstdint>

#include "ops/conv_kernels.h"
#include "ops/window.h"

namespace xgrad {

// r x r kernels at stride 1 without dilation.
bool winograd_applies(const ConvDims& d, int r = 3);

// The plain kernel F(2x2, 3x3) (any CPU; its code is generic over the variant, and the lanes' variants
// use it for their weight transform) as a conv table entry without name and applies: weights prepared
// as U [16, O, C], the weight-gradient sums dU the same.
ConvKernel plain_winograd_conv_kernel();

// K [A², r²]: the weight transform of F(m x m, r x r) at `stride` (every variant of winograd_maps.h and
// winograd_maps_strided.h) as a matrix, U_ξ = Σ_t K[ξ][t] w_t for each channel pair, from the plain maps,
// built once. Its transpose maps dU back to dw.
const float* winograd_weight_matrix(int m, int r, int stride = 1);

// The lane kernels F(m, 3), F(m, 5) and F(2, 7) (16 channels in the lanes at isa Avx512, 8 at Avx2) as a conv
// table entry without name and applies: forward and the weight gradient each copy the input
// channel-last into scratch (nothing kept); weights prepared as [A², C, O] for forward and [A², O, C]
// for input_grad (A = m + r − 1; C and O rounded up to whole vectors), so every GEMM reads its
// operands untransposed; dU is [A², O, C] likewise, finished once per batch (finish_once). `dilated`:
// the same kernel on the mosaic of a dilated conv's phases (ops/conv_dilated.h), its entry points taking
// the dilated conv's dims.
ConvKernel winograd_lanes_conv_kernel(int m, int r, Isa isa, bool dilated = false, int stride = 1);

// The kernel-table entries (conv_kernels.cpp lists them, conv_winograd_entry.cpp builds them): at
// isa Avx512 and Avx2 the lane kernels by F(m, r), at isa Generic the plain ones by F(2, 3).
ConvKernel winograd_conv_kernel(const char* name, int m, Isa isa, int r = 3);
// The lane kernels on r x r convs at stride 2 (ops/winograd_maps_strided.h: F(2x2, 3x3) and F(2x2, 5x5));
// isa Avx512 or Avx2.
ConvKernel strided_winograd_conv_kernel(const char* name, int r, Isa isa);
// The same lane kernels on dilated convs at stride 1, over the mosaic of their phases
// (ops/conv_dilated.h); isa Avx512 or Avx2.
ConvKernel dilated_winograd_conv_kernel(const char* name, int m, Isa isa, int r = 3);

}  // namespace xgrad
