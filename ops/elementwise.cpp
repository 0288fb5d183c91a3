// Elementwise ops: sigmoid, relu, tanh (unary); add, mul (numpy broadcasting); sum, mean (to scalar).
#include <cmath>

#include <xtensor/xreducer.hpp>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/attrs.h"
#include "ops/registry.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

void no_attrs(const json& attrs) { AttrReader(attrs).finish(); }

// Runs f(begin, end) over [0, n) in up to 4 equal parts per thread (the pool's grains; boundaries
// on whole vectors) of at least 8192 elements, else inline.
template <class F>
void blocks(size_t n, F&& f) {
  constexpr size_t kMinPart = 8192, kVector = 16;
  const size_t parts = std::max<size_t>(1, std::min(size_t(4 * num_threads()), n / kMinPart));
  const size_t vectors = (n + kVector - 1) / kVector;
  parallel_for(int64_t(parts), [&](int64_t p0, int64_t p1) {
    f(std::min(n, vectors * size_t(p0) / parts * kVector),
      std::min(n, vectors * size_t(p1) / parts * kVector));
  });
}

// y = f(x); dx = g * df(x, y). Def supplies name, f and df as static functions.
template <class Def>
class Unary final : public Op {
 public:
  std::string_view type() const override { return Def::kName; }
  Arity arity() const override { return {1, 1}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32) throw Error("expected a float32 input");
    return in[0].shape;
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const float* x = in[0]->data();
    float* y = out.data();
    blocks(out.size(), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) y[i] = Def::f(x[i]);
    });
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const float *x = in[0]->data(), *y = out.data(), *g = gy.data();
    float* d = gx[0]->data();
    blocks(out.size(), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) d[i] = g[i] * Def::df(x[i], y[i]);
    });
  }
};

struct SigmoidDef {
  static constexpr const char* kName = "sigmoid";
  static float f(float x) { return sigmoid_approx(x); }
  static float df(float, float y) { return y * (1.0f - y); }
};
struct ReluDef {
  static constexpr const char* kName = "relu";
  static float f(float x) { return x > 0 ? x : 0.0f; }
  static float df(float x, float) { return x > 0 ? 1.0f : 0.0f; }
};
struct TanhDef {
  static constexpr const char* kName = "tanh";
  static float f(float x) { return std::tanh(x); }
  static float df(float, float y) { return 1.0f - y * y; }
};

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    const int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error("shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Sums a gradient over the axes that broadcasting expanded, giving it the input's shape.
void reduce_to(const Tensor& g, const Shape& shape, Tensor& out) {
  const Shape gs = shape_of(g);
  if (gs == shape) {
    out = g;
    return;
  }
  const size_t lead = gs.size() - shape.size();
  std::vector<size_t> axes;
  for (size_t i = 0; i < gs.size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) axes.push_back(i);
  Tensor summed = xt::sum(g, axes, xt::evaluation_strategy::immediate);
  summed.reshape(std::vector<size_t>(shape.begin(), shape.end()));
  out = std::move(summed);
}

class Binary final : public Op {
 public:
  explicit Binary(bool is_mul) : is_mul_(is_mul) {}
  std::string_view type() const override { return is_mul_ ? "mul" : "add"; }
  Arity arity() const override { return {2, 2}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32 || in[1].dtype != DType::Float32)
      throw Error("expected float32 inputs");
    return broadcast_shapes(in[0].shape, in[1].shape);
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    if (is_mul_)
      out = *in[0] * *in[1];
    else
      out = *in[0] + *in[1];
  }
  // add: da = g, db = g; mul: da = g * b, db = g * a (each summed back over broadcast axes).
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    for (size_t i = 0; i < 2; ++i) {
      if (!gx[i]) continue;
      if (is_mul_)
        reduce_to(Tensor(g * *in[1 - i]), shape_of(*in[i]), *gx[i]);
      else
        reduce_to(g, shape_of(*in[i]), *gx[i]);
    }
  }

 private:
  bool is_mul_;
};

// sum: y = Σx; mean: y = Σx / n. Both give a scalar (shape []), e.g. to make a loss.
class Reduce final : public Op {
 public:
  explicit Reduce(bool is_mean) : is_mean_(is_mean) {}
  std::string_view type() const override { return is_mean_ ? "mean" : "sum"; }
  Arity arity() const override { return {1, 1}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32) throw Error("expected a float32 input");
    return {};
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    double s = 0;
    for (float v : *in[0]) s += v;
    out() = float(is_mean_ ? s / double(std::max<size_t>(in[0]->size(), 1)) : s);
  }
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const float scale = is_mean_ ? 1.0f / float(std::max<size_t>(in[0]->size(), 1)) : 1.0f;
    gx[0]->fill(g() * scale);
  }

 private:
  bool is_mean_;
};

template <class Def>
void add_unary(Registry& r) {
  r.add(Def::kName, [](const json& a) {
    no_attrs(a);
    return std::make_unique<Unary<Def>>();
  });
}

}  // namespace

void register_elementwise_ops(Registry& r) {
  add_unary<SigmoidDef>(r);
  add_unary<ReluDef>(r);
  add_unary<TanhDef>(r);
  r.add("add", [](const json& a) {
    no_attrs(a);
    return std::make_unique<Binary>(false);
  });
  r.add("mul", [](const json& a) {
    no_attrs(a);
    return std::make_unique<Binary>(true);
  });
  r.add("sum", [](const json& a) {
    no_attrs(a);
    return std::make_unique<Reduce>(false);
  });
  r.add("mean", [](const json& a) {
    no_attrs(a);
    return std::make_unique<Reduce>(true);
  });
}

}  // namespace xgrad
