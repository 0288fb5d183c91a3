// softmax and log_softmax over one axis (attribute axis, default -1, negative from the end).
#include "ops/softmax.h"

#include <cmath>

#include "core/error.h"
#include "ops/attrs.h"
#include "ops/registry.h"

namespace xgrad {

double softmax_row(const float* x, float* p, size_t k, size_t stride) {
  float m = x[0];
  for (size_t j = 1; j < k; ++j) m = std::max(m, x[j * stride]);
  double s = 0;
  for (size_t j = 0; j < k; ++j) s += std::exp(double(x[j * stride] - m));
  const double lse = double(m) + std::log(s);
  for (size_t j = 0; j < k; ++j) p[j * stride] = float(std::exp(double(x[j * stride]) - lse));
  return lse;
}

namespace {

// softmax: y = e^x / Σ e^x; log_softmax: y = x − log Σ e^x (exact in the tails, where log of
// the softmax would be log 0).
class Softmax final : public Op {
 public:
  Softmax(int64_t axis, bool log) : axis_(axis), log_(log) {}
  std::string_view type() const override { return log_ ? "log_softmax" : "softmax"; }
  Arity arity() const override { return {1, 1}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32) throw Error("expected a float32 input");
    axis_of(in[0].shape);
    return in[0].shape;
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const auto [outer, k, inner] = split(shape_of(*in[0]));
    for (size_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < inner; ++i) {
        const size_t base = o * k * inner + i;
        const float* x = in[0]->data() + base;
        float* y = out.data() + base;
        const double lse = softmax_row(x, y, k, inner);
        if (log_)
          for (size_t j = 0; j < k; ++j) y[j * inner] = float(double(x[j * inner]) - lse);
      }
  }
  // softmax: dx = y·(g − Σ_j g_j·y_j); log_softmax: dx = g − e^y·Σ_j g_j, along the axis.
  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const auto [outer, k, inner] = split(shape_of(*in[0]));
    for (size_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < inner; ++i) {
        const size_t base = o * k * inner + i;
        const float *y = out.data() + base, *g = gy.data() + base;
        float* d = gx[0]->data() + base;
        double dot = 0;
        for (size_t j = 0; j < k; ++j) dot += double(g[j * inner]) * (log_ ? 1.0f : y[j * inner]);
        for (size_t j = 0; j < k; ++j) {
          const size_t at = j * inner;
          d[at] = log_ ? float(g[at] - std::exp(double(y[at])) * dot) : y[at] * float(double(g[at]) - dot);
        }
      }
  }
  json attrs() const override { return {{"axis", axis_}}; }

 private:
  size_t axis_of(const Shape& s) const { return axis_index(axis_, s); }
  struct Split {
    size_t outer, k, inner;
  };
  Split split(const Shape& s) const {
    const size_t a = axis_of(s);
    Split r{1, size_t(s[a]), 1};
    for (size_t i = 0; i < a; ++i) r.outer *= size_t(s[i]);
    for (size_t i = a + 1; i < s.size(); ++i) r.inner *= size_t(s[i]);
    return r;
  }
  int64_t axis_;
  bool log_;
};

constexpr int64_t kMaxRank = 32;  // the most dimensions a shape may have

void add_softmax(Registry& r, const char* name, bool log) {
  r.add(name, [log](const json& a) {
    AttrReader reader(a);
    const int64_t axis = reader.integer("axis", -1, -kMaxRank, kMaxRank - 1);
    reader.finish();
    return std::make_unique<Softmax>(axis, log);
  });
}

}  // namespace

void register_softmax_ops(Registry& r) {
  add_softmax(r, "softmax", false);
  add_softmax(r, "log_softmax", true);
}

}  // namespace xgrad
