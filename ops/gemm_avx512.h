#pragma once
// A small GEMM on AVX-512 for the conv kernels whose products are small and per image: the Winograd
// lanes' cells and 1x1 convs. sgemm packs its operands first, which costs more than it saves on such
// sizes, and OpenBLAS may not use the widest vectors (it runs its AVX2 kernels on AMD's AVX-512
// CPUs). Call only where cpu_isa() is Avx512. The kernels' tests check every user against plain loops.
#include <cstdint>

namespace xgrad {

// C [m, n] = A · B, or C += A · B when `accumulate`: A(i, k) = a[i*ars + k*aks], B [k, n] with rows
// ldb apart, C rows ldc apart. Any n (the last vector of a row is masked). Each C element is summed
// over k in order, whatever m and n, so results do not depend on how a product is cut into calls.
void gemm_avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks, const float* b,
                 int64_t ldb, float* c, int64_t ldc, bool accumulate);
// The same with C's rows split over the thread pool in fixed blocks: one product as deep as a batch
// (a weight gradient over every image). The same sums as one call, whatever the thread count.
void gemm_avx512_pooled(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks,
                        const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace xgrad
