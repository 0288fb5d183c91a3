// Activations beyond sigmoid/relu/tanh, with PyTorch's definitions: leaky_relu, elu, gelu (erf or
// tanh form), silu, softplus. Each is a Def for the shared element-wise op in unary.h.
#include <cmath>

#include "ops/unary.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// x > 0 ? x : alpha·x
struct LeakyReluDef {
  static constexpr const char* kName = "leaky_relu";
  double alpha = 0.01;
  static LeakyReluDef read(AttrReader& r) { return {r.number("alpha", 0.01)}; }
  json attrs() const { return {{"alpha", alpha}}; }
  float f(float x) const { return x > 0 ? x : float(alpha) * x; }
  float df(float x, float) const { return x > 0 ? 1.0f : float(alpha); }
};

// x > 0 ? x : alpha·(e^x − 1); below 0 the derivative alpha·e^x is y + alpha.
struct EluDef {
  static constexpr const char* kName = "elu";
  double alpha = 1.0;
  static EluDef read(AttrReader& r) { return {r.number("alpha", 1.0)}; }
  json attrs() const { return {{"alpha", alpha}}; }
  float f(float x) const { return x > 0 ? x : float(alpha) * std::expm1(x); }
  float df(float x, float y) const { return x > 0 ? 1.0f : y + float(alpha); }
};

// "none": x·Φ(x) = x/2·(1 + erf(x/√2)), dy/dx = Φ(x) + x·φ(x).
// "tanh": x/2·(1 + tanh(u)) with u = √(2/π)·(x + 0.044715·x³).
struct GeluDef {
  static constexpr const char* kName = "gelu";
  static constexpr float kSqrtHalf = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
  static constexpr float kSqrt2OverPi = 0.79788456080286536f, kCubic = 0.044715f;
  bool tanh_form = false;
  static GeluDef read(AttrReader& r) { return {r.choice("approximate", "none", {"none", "tanh"}) == "tanh"}; }
  json attrs() const { return {{"approximate", tanh_form ? "tanh" : "none"}}; }
  float f(float x) const {
    if (tanh_form) return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x)));
    return 0.5f * x * (1.0f + std::erf(x * kSqrtHalf));
  }
  float df(float x, float) const {
    if (tanh_form) {
      const float t = std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x));
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
    }
    return 0.5f * (1.0f + std::erf(x * kSqrtHalf)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x);
  }
};

// x·σ(x); dy/dx = σ(x)·(1 + x·(1 − σ(x))).
struct SiluDef : NoAttrs<SiluDef> {
  static constexpr const char* kName = "silu";
  float f(float x) const { return x * sigmoid_approx(x); }
  float df(float x, float) const {
    const float s = sigmoid_approx(x);
    return s * (1.0f + x * (1.0f - s));
  }
};

// log(1 + e^x) as max(x, 0) + log(1 + e^−|x|): no overflow for large x, no loss for very
// negative x; dy/dx = σ(x).
struct SoftplusDef : NoAttrs<SoftplusDef> {
  static constexpr const char* kName = "softplus";
  float f(float x) const { return std::max(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }
  float df(float x, float) const { return sigmoid_approx(x); }
};

}  // namespace

void register_activation_ops(Registry& r) {
  add_unary<LeakyReluDef>(r);
  add_unary<EluDef>(r);
  add_unary<GeluDef>(r);
  add_unary<SiluDef>(r);
  add_unary<SoftplusDef>(r);
}

}  // namespace xgrad
