// max_pool2d and avg_pool2d over [N,C,H,W]. Padded cells never count: max ignores them, avg divides
// by the number of real cells in the window (Keras' "same"). Max keeps its argmax for backward.
// The arithmetic is in the kernel table (ops/pool_kernels.h); planes are split over the thread pool.
#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/pool_kernels.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

class Pool2d final : public Op {
 public:
  Pool2d(Window w, bool is_max) : win_(w), is_max_(is_max) {}
  std::string_view type() const override { return is_max_ ? "max_pool2d" : "avg_pool2d"; }
  Arity arity() const override { return {1, 1}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& x = in[0].shape;
    if (in[0].dtype != DType::Float32 || x.size() != 4)
      throw Error("expected float32 x as [N, C, H, W], found " + to_string(x));
    const Geometry g = geometry(x[2], x[3], win_);
    return {x[0], x[1], g.out_h, g.out_w};
  }

  std::string kernel_name(const std::vector<ValueInfo>& in) const override {
    const Shape& x = in[0].shape;
    return choose_pool_kernel({x[1], x[2], x[3], win_, geometry(x[2], x[3], win_)}, is_max_).name;
  }

  // argmax is kept for inference too (a scratch buffer then): one loop, no branch in it.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    const PoolKernel& k = choose_pool_kernel(d, is_max_);
    if (is_max_) ws.indices.resize(out.size());
    int32_t* argmax = is_max_ ? ws.indices.data() : nullptr;
    const float* x = in[0]->data();
    float* y = out.data();
    parallel_for(d.planes, [&](int64_t p0, int64_t p1) { k.forward(d, p0, p1, x, y, argmax); });
  }

  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    ensure_shape(*gx[0], shape_of(*in[0]));
    if (is_max_ && ws.indices.size() != out.size())
      throw Error("backward needs a training forward of the same batch first");
    const PoolKernel& k = choose_pool_kernel(d, is_max_);
    const int32_t* argmax = is_max_ ? ws.indices.data() : nullptr;
    const float* g = gy.data();
    float* dx = gx[0]->data();
    parallel_for(d.planes, [&](int64_t p0, int64_t p1) { k.backward(d, p0, p1, g, argmax, dx); });
  }

  json attrs() const override { return window_attrs(win_, true, false); }

 private:
  Window win_;
  bool is_max_;
};

std::unique_ptr<Op> make_pool(const json& a, bool is_max) {
  AttrReader reader(a);
  Window w;
  w.kernel = reader.required_pair("kernel", 1);
  w.stride = reader.pair("stride", w.kernel, 1);
  w.padding = reader.padding("padding");
  reader.finish();
  // A window made only of padding would have no cell to pool.
  if (w.padding.mode == Padding::Mode::Explicit &&
      (w.padding.pad[0] >= w.kernel[0] || w.padding.pad[1] >= w.kernel[1]))
    throw Error("attrs.padding: must be smaller than the kernel, found " + w.padding.to_json().dump());
  return std::make_unique<Pool2d>(w, is_max);
}

}  // namespace

void register_pool_ops(Registry& r) {
  r.add("max_pool2d", [](const json& a) { return make_pool(a, true); });
  r.add("avg_pool2d", [](const json& a) { return make_pool(a, false); });
}

}  // namespace xgrad
