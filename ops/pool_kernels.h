#pragma once
// The max_pool2d / avg_pool2d kernel table, like the conv one (ops/conv_kernels.h): the op takes
// the first entry that applies, in table order; force_pool_kernel / XGRAD_POOL_KERNEL force one.
// Kernels work on a range of planes [p0, p1) of [planes, h, w], so the op splits planes over the
// thread pool. Padded cells never count: max ignores them, avg divides by the real cells.
#include <string>
#include <vector>

#include "ops/cpu.h"
#include "ops/window.h"

namespace xgrad {

struct PoolKernel {
  const char* name;
  bool (*applies)(const PoolDims& d, bool is_max, Isa isa);
  // y of planes [p0, p1); max also writes each output's argmax (flat index into x, the first
  // largest cell of the window).
  void (*forward)(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax);
  // dx of planes [p0, p1), overwritten, from gy (and argmax for max).
  void (*backward)(const PoolDims& d, int64_t p0, int64_t p1, const float* gy, const int32_t* argmax,
                   float* dx);
};

const std::vector<PoolKernel>& pool_kernels();
const PoolKernel& choose_pool_kernel(const PoolDims& d, bool is_max);
void force_pool_kernel(const std::string& name);  // "" = automatic

}  // namespace xgrad
