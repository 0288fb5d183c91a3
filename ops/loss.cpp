// softmax over one axis, and softmax_cross_entropy(logits [N,K], labels) = mean_i(lse_i - logit_i[y_i])
// with labels as int class ids [N] or float targets [N,K]; log-sum-exp keeps ±1e4 logits finite.
#include <cmath>

#include "core/error.h"
#include "ops/attrs.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

// Row-wise over a [rows, k] view: writes p = softmax(x) and returns log Σ exp(x).
double softmax_row(const float* x, float* p, size_t k, size_t stride) {
  float m = x[0];
  for (size_t j = 1; j < k; ++j) m = std::max(m, x[j * stride]);
  double s = 0;
  for (size_t j = 0; j < k; ++j) s += std::exp(double(x[j * stride] - m));
  const double lse = double(m) + std::log(s);
  for (size_t j = 0; j < k; ++j) p[j * stride] = float(std::exp(double(x[j * stride]) - lse));
  return lse;
}

class Softmax final : public Op {
 public:
  explicit Softmax(int64_t axis) : axis_(axis) {}
  std::string_view type() const override { return "softmax"; }
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
        softmax_row(in[0]->data() + base, out.data() + base, k, inner);
      }
  }
  // dx = y * (g - Σ_j g_j y_j) along the axis
  void backward(const Inputs& in, const Tensor& y, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const auto [outer, k, inner] = split(shape_of(*in[0]));
    for (size_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < inner; ++i) {
        const size_t base = o * k * inner + i;
        double dot = 0;
        for (size_t j = 0; j < k; ++j) dot += double(g.data()[base + j * inner]) * y.data()[base + j * inner];
        for (size_t j = 0; j < k; ++j) {
          const size_t at = base + j * inner;
          gx[0]->data()[at] = y.data()[at] * float(double(g.data()[at]) - dot);
        }
      }
  }
  json attrs() const override { return {{"axis", axis_}}; }

 private:
  size_t axis_of(const Shape& s) const {
    const int64_t rank = int64_t(s.size());
    const int64_t a = axis_ < 0 ? axis_ + rank : axis_;
    if (a < 0 || a >= rank)
      throw Error("axis " + std::to_string(axis_) + " is out of range for " + to_string(s));
    return size_t(a);
  }
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
};

class SoftmaxCrossEntropy final : public Op {
 public:
  std::string_view type() const override { return "softmax_cross_entropy"; }
  Arity arity() const override { return {2, 2}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape &x = in[0].shape, &y = in[1].shape;
    if (in[0].dtype != DType::Float32 || x.size() != 2)
      throw Error("expected float32 logits [N, K], found " + to_string(x));
    if (in[1].dtype == DType::Int32) {
      if (y.size() != 1 || y[0] != x[0])
        throw Error("int32 labels must have shape [N] = " + to_string({x[0]}) + ", found " + to_string(y));
    } else if (y != x) {
      throw Error("float32 labels must have the logits' shape " + to_string(x) + ", found " + to_string(y));
    }
    return {};
  }

  // Keeps the softmax in the workspace for backward; loss summed in double for accuracy.
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool) const override {
    const size_t n = in[0]->shape(0), k = in[0]->shape(1);
    const bool ids = in[1]->dimension() == 1;
    if (ws.tensors.empty()) ws.tensors.resize(2);
    Tensor& p = ws.tensors[0];
    Tensor& lse = ws.tensors[1];
    ensure_shape(p, shape_of(*in[0]));
    ensure_shape(lse, {int64_t(n)});
    double total = 0;
    for (size_t r = 0; r < n; ++r) {
      const float* x = in[0]->data() + r * k;
      const double l = softmax_row(x, p.data() + r * k, k, 1);
      lse(r) = float(l);
      if (ids) {
        const float label = in[1]->data()[r];
        if (!(label >= 0 && label < float(k)))
          throw Error("label " + std::to_string(label) + " at row " + std::to_string(r) + " is outside [0, " +
                      std::to_string(k) + ")");
        total += l - x[size_t(label)];
      } else {
        const float* y = in[1]->data() + r * k;
        for (size_t j = 0; j < k; ++j) total += double(y[j]) * (l - x[j]);
      }
    }
    out() = float(n ? total / double(n) : 0.0);
  }

  // dlogits = g/N * (p*Σy - y); dy (float labels) = g/N * (lse - x)
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace& ws,
                const Grads& gx) const override {
    const size_t n = in[0]->shape(0), k = in[0]->shape(1);
    const bool ids = in[1]->dimension() == 1;
    const float scale = g() / float(std::max<size_t>(n, 1));
    const Tensor& p = ws.tensors.at(0);
    if (gx[0]) {
      ensure_shape(*gx[0], shape_of(*in[0]));
      for (size_t r = 0; r < n; ++r) {
        float* d = gx[0]->data() + r * k;
        const float* pr = p.data() + r * k;
        if (ids) {
          for (size_t j = 0; j < k; ++j) d[j] = scale * pr[j];
          d[size_t(in[1]->data()[r])] -= scale;
        } else {
          const float* y = in[1]->data() + r * k;
          float ysum = 0;
          for (size_t j = 0; j < k; ++j) ysum += y[j];
          for (size_t j = 0; j < k; ++j) d[j] = scale * (pr[j] * ysum - y[j]);
        }
      }
    }
    if (gx[1]) {
      ensure_shape(*gx[1], shape_of(*in[1]));
      const Tensor& lse = ws.tensors.at(1);
      for (size_t r = 0; r < n; ++r)
        for (size_t j = 0; j < k; ++j) gx[1]->data()[r * k + j] = scale * (lse(r) - in[0]->data()[r * k + j]);
    }
  }
};

}  // namespace

void register_loss_ops(Registry& r) {
  r.add("softmax", [](const json& a) {
    AttrReader reader(a);
    const int64_t axis = reader.integer("axis", -1, -8, 7);
    reader.finish();
    return std::make_unique<Softmax>(axis);
  });
  r.add("softmax_cross_entropy", [](const json& a) {
    AttrReader(a).finish();
    return std::make_unique<SoftmaxCrossEntropy>();
  });
}

}  // namespace xgrad
