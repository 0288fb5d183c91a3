#pragma once
// The simple max/avg pooling loops: the test oracle of every pool kernel (ops/pool_kernels.h).
// Padded cells never count: max ignores them, avg divides by the number of real cells.
#include <cstdint>

#include "ops/window.h"

namespace xgrad {

// argmax (nullable) gets the flat input index of each window's first largest cell.
void max_pool_reference_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax);
void avg_pool_reference_forward(const PoolDims& d, const float* x, float* y);
// Overwrite dx: max sends g to its argmax; avg shares g among the window's real cells.
void max_pool_reference_backward(const PoolDims& d, const float* gy, const int32_t* argmax, float* dx);
void avg_pool_reference_backward(const PoolDims& d, const float* gy, float* dx);

}  // namespace xgrad
