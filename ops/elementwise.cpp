// Elementwise ops: sigmoid, relu, tanh (unary); add, sub, mul, div (numpy broadcasting); sum, mean
// (to scalar).
#include <cmath>

#include "ops/activation.h"
#include "ops/broadcast.h"
#include "ops/unary.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

struct SigmoidDef : NoAttrs<SigmoidDef> {
  static constexpr const char* kName = "sigmoid";
  static float f(float x) { return sigmoid_approx(x); }
  static float df(float, float y) { return y * (1.0f - y); }
};
struct ReluDef : NoAttrs<ReluDef> {
  static constexpr const char* kName = "relu";
  static float f(float x) { return relu(x); }
  static float df(float x, float) { return x > 0 ? 1.0f : 0.0f; }
};
struct TanhDef : NoAttrs<TanhDef> {
  static constexpr const char* kName = "tanh";
  static float f(float x) { return tanh_approx(x); }
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

enum class BinaryKind { Add, Sub, Mul, Div };

// add may run a relu on its output ("activation": "relu", a residual block's add then relu; graph/fold.h
// makes such nodes): relu(a + b) in the same loop, and backward reads g through the mask y > 0.
class Binary final : public Op {
 public:
  explicit Binary(BinaryKind kind, bool relu = false) : kind_(kind), relu_(relu) {}
  std::string_view type() const override {
    constexpr const char* names[] = {"add", "sub", "mul", "div"};
    return names[int(kind_)];
  }
  Arity arity() const override { return {2, 2}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32 || in[1].dtype != DType::Float32)
      throw Error("expected float32 inputs");
    return broadcast_shapes(in[0].shape, in[1].shape);
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const BroadcastPlan p(shape_of(*in[0]), shape_of(*in[1]), shape_of(out));
    const float *a = in[0]->data(), *b = in[1]->data();
    float* y = out.data();
    // Each output element is its own: the pool's parts are ranges of the output.
    over_elements(out.size(), [&](size_t begin, size_t end) {
      const auto apply = [&](auto f) { broadcast_apply(p, a, b, y, f, int64_t(begin), int64_t(end)); };
      switch (kind_) {
        case BinaryKind::Add:
          if (relu_) return apply([](float u, float v) { return relu(u + v); });
          return apply([](float u, float v) { return u + v; });
        case BinaryKind::Sub:
          return apply([](float u, float v) { return u - v; });
        case BinaryKind::Mul:
          return apply([](float u, float v) { return u * v; });
        case BinaryKind::Div:
          return apply([](float u, float v) { return u / v; });
      }
    });
  }
  // add: da = g, db = g; sub: da = g, db = -g; mul: da = g·b, db = g·a; div: da = g / b,
  // db = -g·a / b² = -g·y / b. Each is summed back over the axes broadcasting expanded.
  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    const BroadcastPlan p(shape_of(*in[0]), shape_of(*in[1]), shape_of(out));
    const float *a = in[0]->data(), *b = in[1]->data(), *g = gy.data(), *y = out.data();
    for (size_t k = 0; k < 2; ++k) {
      if (!gx[k]) continue;
      ensure_shape(*gx[k], shape_of(*in[k]));
      const bool whole = shape_of(*in[k]) == shape_of(out);  // one term per element: written, not summed
      if (!whole) gx[k]->fill(0.0f);
      float* d = gx[k]->data();
      const bool to_a = k == 0;
      const auto reduce = [&](size_t begin, size_t end, auto f) {
        broadcast_reduce(p, to_a, g, a, b, y, d, f, whole, int64_t(begin), int64_t(end));
      };
      const auto part = [&](size_t begin, size_t end) {
        switch (kind_) {
          case BinaryKind::Add:
            if (relu_)
              return reduce(begin, end, [](float dy, float, float, float q) { return relu_gradient(dy, q); });
            return reduce(begin, end, [](float dy, float, float, float) { return dy; });
          case BinaryKind::Sub:
            return reduce(begin, end, [to_a](float dy, float, float, float) { return to_a ? dy : -dy; });
          case BinaryKind::Mul:
            return reduce(begin, end,
                          [to_a](float dy, float u, float v, float) { return dy * (to_a ? v : u); });
          case BinaryKind::Div:
            return reduce(begin, end,
                          [to_a](float dy, float, float v, float q) { return to_a ? dy / v : -dy * q / v; });
        }
      };
      // A sum over broadcast axes runs in one part, so its order never depends on the thread count.
      if (whole)
        over_elements(out.size(), part);
      else
        part(0, out.size());
    }
  }

  json attrs() const override {
    return relu_ ? json{{"activation", "relu"}} : json::object();  // written only when fused
  }

 private:
  BinaryKind kind_;
  bool relu_;
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

// The loops of def's op over n values, for activate and activation_gradient.
template <class Def>
void run_forward(const Def& def, float* y, int64_t n) {
  const Isa isa = cpu_isa();
  if (isa == Isa::Avx512) return unary_forward_avx512(def, y, y, 0, size_t(n));
  if (isa == Isa::Avx2) return unary_forward_avx2(def, y, y, 0, size_t(n));
  unary_forward_default(def, y, y, 0, size_t(n));
}
// Each derivative here reads only y, or x > 0 (relu), which y > 0 says as well: y stands for x.
template <class Def>
void run_backward(const Def& def, const float* g, const float* y, float* out, int64_t n) {
  const Isa isa = cpu_isa();
  if (isa == Isa::Avx512) return unary_backward_avx512(def, y, y, g, out, 0, size_t(n));
  if (isa == Isa::Avx2) return unary_backward_avx2(def, y, y, g, out, 0, size_t(n));
  unary_backward_default(def, y, y, g, out, 0, size_t(n));
}

}  // namespace

const char* activation_name(Activation a) {
  constexpr const char* names[] = {"none", "relu", "sigmoid", "tanh"};
  return names[int(a)];
}

Activation activation_named(const std::string& name) {
  for (Activation a : {Activation::None, Activation::Relu, Activation::Sigmoid, Activation::Tanh})
    if (name == activation_name(a)) return a;
  throw Error("unknown activation \"" + name + "\" (valid: none, relu, sigmoid, tanh)");
}

void activate(Activation a, float* y, int64_t n) {
  if (a == Activation::Relu) run_forward(ReluDef{}, y, n);
  if (a == Activation::Sigmoid) run_forward(SigmoidDef{}, y, n);
  if (a == Activation::Tanh) run_forward(TanhDef{}, y, n);
}

void activation_gradient(Activation a, const float* g, const float* y, float* out, int64_t n) {
  if (a == Activation::None) std::copy(g, g + n, out);
  if (a == Activation::Relu) run_backward(ReluDef{}, g, y, out, n);
  if (a == Activation::Sigmoid) run_backward(SigmoidDef{}, g, y, out, n);
  if (a == Activation::Tanh) run_backward(TanhDef{}, g, y, out, n);
}

void register_elementwise_ops(Registry& r) {
  add_unary<SigmoidDef>(r);
  add_unary<ReluDef>(r);
  add_unary<TanhDef>(r);
  r.add("add", [](const json& a) {
    AttrReader reader(a);
    const bool relu = reader.choice("activation", "none", {"none", "relu"}) == "relu";
    reader.finish();
    return std::make_unique<Binary>(BinaryKind::Add, relu);
  });
  add_without_attrs<Binary>(r, "sub", BinaryKind::Sub);
  add_without_attrs<Binary>(r, "mul", BinaryKind::Mul);
  add_without_attrs<Binary>(r, "div", BinaryKind::Div);
  add_without_attrs<Reduce>(r, "sum", false);
  add_without_attrs<Reduce>(r, "mean", true);
}

}  // namespace xgrad
