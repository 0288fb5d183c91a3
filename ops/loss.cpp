// Losses, each a scalar mean:
// - softmax_cross_entropy(logits [N,K], labels) = mean_i(lse_i - logit_i[y_i]), labels as int class
//   ids [N] or float targets [N,K]; log-sum-exp keeps ±1e4 logits finite;
// - mse(pred, target) = mean((pred - target)²) over all elements;
// - sigmoid_cross_entropy(logits, targets) = mean(-t·log σ(x) - (1-t)·log(1 - σ(x))) over all
//   elements, binary and multi-label, targets in [0, 1].
#include <cmath>

#include "core/error.h"
#include "ops/attrs.h"
#include "ops/registry.h"
#include "ops/softmax.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

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

// mse and sigmoid_cross_entropy: a per-element loss of (x, t) of the same shape, averaged.
class ElementwiseLoss final : public Op {
 public:
  explicit ElementwiseLoss(bool sigmoid) : sigmoid_(sigmoid) {}
  std::string_view type() const override { return sigmoid_ ? "sigmoid_cross_entropy" : "mse"; }
  Arity arity() const override { return {2, 2}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const char* x_name = sigmoid_ ? "logits" : "predictions";
    if (in[0].dtype != DType::Float32) throw Error(std::string("expected float32 ") + x_name);
    if (!sigmoid_ && in[1].dtype != DType::Float32) throw Error("expected float32 targets");
    if (in[1].shape != in[0].shape)
      throw Error(std::string("targets must have the ") + x_name + "' shape " + to_string(in[0].shape) +
                  ", found " + to_string(in[1].shape));
    return {};
  }
  // Summed in double: a mean over a whole batch of images loses no precision.
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const float *x = in[0]->data(), *t = in[1]->data();
    const size_t n = in[0]->size();
    double total = 0;
    if (sigmoid_) {
      for (size_t i = 0; i < n; ++i) {
        if (!(t[i] >= 0 && t[i] <= 1))
          throw Error("target " + std::to_string(t[i]) + " at element " + std::to_string(i) +
                      " is outside [0, 1]");
        // -t·log σ(x) - (1-t)·log(1-σ(x)) = max(x, 0) - x·t + log(1 + e^-|x|): finite for any x
        total += std::max(x[i], 0.0f) - double(x[i]) * t[i] + std::log1p(std::exp(-std::fabs(double(x[i]))));
      }
    } else {
      for (size_t i = 0; i < n; ++i) total += (double(x[i]) - t[i]) * (double(x[i]) - t[i]);
    }
    out() = float(n ? total / double(n) : 0.0);
  }
  // mse: dx = 2g/n·(x - t), dt = -dx; sigmoid_cross_entropy: dx = g/n·(σ(x) - t), dt = -g/n·x.
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    const float *x = in[0]->data(), *t = in[1]->data();
    const size_t n = in[0]->size();
    const float scale = g() / float(std::max<size_t>(n, 1));
    for (size_t i = 0; i < 2; ++i)
      if (gx[i]) ensure_shape(*gx[i], shape_of(*in[i]));
    float* dx = gx[0] ? gx[0]->data() : nullptr;
    float* dt = gx[1] ? gx[1]->data() : nullptr;
    if (sigmoid_) {
      if (dx)
        for (size_t i = 0; i < n; ++i) dx[i] = scale * (sigmoid_approx(x[i]) - t[i]);
      if (dt)
        for (size_t i = 0; i < n; ++i) dt[i] = -scale * x[i];
    } else {
      if (dx)
        for (size_t i = 0; i < n; ++i) dx[i] = 2 * scale * (x[i] - t[i]);
      if (dt)
        for (size_t i = 0; i < n; ++i) dt[i] = -2 * scale * (x[i] - t[i]);
    }
  }

 private:
  bool sigmoid_;
};

}  // namespace

void register_loss_ops(Registry& r) {
  add_without_attrs<SoftmaxCrossEntropy>(r, "softmax_cross_entropy");
  add_without_attrs<ElementwiseLoss>(r, "mse", false);
  add_without_attrs<ElementwiseLoss>(r, "sigmoid_cross_entropy", true);
}

}  // namespace xgrad
