// max_pool2d and avg_pool2d over [N,C,H,W]. Padded cells never count: max ignores them, avg divides
// by the number of real cells in the window (Keras' "same"). Max keeps its argmax for backward.
#include <limits>

#include "core/error.h"
#include "ops/registry.h"
#include "ops/window.h"

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

  // Each (plane, i, j) window: max keeps the flat index of its first largest cell.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const override {
    const int64_t planes = int64_t(in[0]->shape(0) * in[0]->shape(1));
    const int64_t h = int64_t(in[0]->shape(2)), w = int64_t(in[0]->shape(3));
    const Geometry g = geometry(h, w, win_);
    const float* x = in[0]->data();
    float* y = out.data();
    if (is_max_ && training) ws.indices.resize(out.size());
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < g.out_h; ++i)
        for (int64_t j = 0; j < g.out_w; ++j) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_at = -1, count = 0;
          double sum = 0;
          each_cell(g, h, w, i, j, [&](int64_t r, int64_t s) {
            const int64_t at = (pl * h + r) * w + s;
            if (best_at < 0 || x[at] > best) best = x[at], best_at = at;
            sum += x[at];
            ++count;
          });
          const int64_t o = (pl * g.out_h + i) * g.out_w + j;
          y[o] = is_max_ ? best : float(sum / double(count));
          if (is_max_ && training) ws.indices[size_t(o)] = int32_t(best_at);
        }
  }

  // max: dx[argmax] += g; avg: each real cell of the window gets g / count.
  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    gx[0]->fill(0.0f);
    float* dx = gx[0]->data();
    const float* g = gy.data();
    if (is_max_) {
      for (size_t o = 0; o < out.size(); ++o) dx[ws.indices.at(o)] += g[o];
      return;
    }
    const int64_t planes = int64_t(in[0]->shape(0) * in[0]->shape(1));
    const int64_t h = int64_t(in[0]->shape(2)), w = int64_t(in[0]->shape(3));
    const Geometry geo = geometry(h, w, win_);
    for (int64_t pl = 0; pl < planes; ++pl)
      for (int64_t i = 0; i < geo.out_h; ++i)
        for (int64_t j = 0; j < geo.out_w; ++j) {
          int64_t count = 0;
          each_cell(geo, h, w, i, j, [&](int64_t, int64_t) { ++count; });
          const float share = g[(pl * geo.out_h + i) * geo.out_w + j] / float(count);
          each_cell(geo, h, w, i, j, [&](int64_t r, int64_t s) { dx[(pl * h + r) * w + s] += share; });
        }
  }

  json attrs() const override { return window_attrs(win_, true, false); }

 private:
  template <class F>
  void each_cell(const Geometry& g, int64_t h, int64_t w, int64_t i, int64_t j, F&& f) const {
    for (int64_t p = 0; p < win_.kernel[0]; ++p) {
      const int64_t r = i * win_.stride[0] - g.pad_top + p;
      if (r < 0 || r >= h) continue;
      for (int64_t q = 0; q < win_.kernel[1]; ++q) {
        const int64_t s = j * win_.stride[1] - g.pad_left + q;
        if (s >= 0 && s < w) f(r, s);
      }
    }
  }
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
