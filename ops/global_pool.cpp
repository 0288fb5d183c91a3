// global_avg_pool2d and global_max_pool2d: [N, C, H, W] -> [N, C], the mean or the maximum of each
// channel's H·W plane (PyTorch's adaptive pooling to 1x1, flattened).
#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/attrs.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// Index of the first maximum of v[0..n): ties send the gradient to one element, as PyTorch does.
size_t argmax(const float* v, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

class GlobalPool final : public Op {
 public:
  explicit GlobalPool(bool max) : max_(max) {}
  std::string_view type() const override { return max_ ? "global_max_pool2d" : "global_avg_pool2d"; }
  Arity arity() const override { return {1, 1}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& s = in[0].shape;
    if (in[0].dtype != DType::Float32 || s.size() != 4)
      throw Error("expected a float32 input [N, C, H, W], found " + to_string(s));
    return {s[0], s[1]};
  }
  // One plane per output value; planes are split over the thread pool.
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const size_t plane = in[0]->shape(2) * in[0]->shape(3);
    const float* x = in[0]->data();
    float* y = out.data();
    parallel_for(int64_t(out.size()), [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        const float* v = x + size_t(p) * plane;
        y[p] = max_ ? v[argmax(v, plane)] : sum_lanes(v, int64_t(plane)) / float(plane);
      }
    });
  }
  // avg: dx = g / (H·W) over the plane; max: dx = g at the plane's (first) maximum, 0 elsewhere.
  // The maximum is found again from x, so backward needs nothing kept from forward.
  void backward(const Inputs& in, const Tensor&, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const size_t plane = in[0]->shape(2) * in[0]->shape(3);
    const float *x = in[0]->data(), *g = gy.data();
    float* d = gx[0]->data();
    parallel_for(int64_t(gy.size()), [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p) {
        float* dp = d + size_t(p) * plane;
        if (max_) {
          std::fill(dp, dp + plane, 0.0f);
          dp[argmax(x + size_t(p) * plane, plane)] = g[p];
        } else {
          std::fill(dp, dp + plane, g[p] / float(plane));
        }
      }
    });
  }

 private:
  bool max_;
};

}  // namespace

void register_global_pool_ops(Registry& r) {
  add_without_attrs<GlobalPool>(r, "global_avg_pool2d", false);
  add_without_attrs<GlobalPool>(r, "global_max_pool2d", true);
}

}  // namespace xgrad
