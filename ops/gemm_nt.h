#pragma once
// c[i][j] += Σ_p a[i*lda + p] * b[j*ldb + p]  (c += a·bᵀ) for few rows and long dot products,
// the shape of a conv's weight gradient when its output plane is large (LeNet conv1: 6x25 over
// 576 positions), where OpenBLAS's sgemm reaches only a quarter of its peak. Each dot keeps 16
// partial sums that the compiler maps to one vector register.
#include <cstdint>

namespace xgrad {

void gemm_nt_accumulate(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                        int64_t ldb, float* c, int64_t ldc);

}  // namespace xgrad
