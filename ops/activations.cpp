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
  float f(float x) const {
    const float negative = float(alpha) * x;  // computed first, so the choice is a vector blend
    return x > 0 ? x : negative;
  }
  float df(float x, float) const {
    const float negative = float(alpha);
    return x > 0 ? 1.0f : negative;
  }
};

// x > 0 ? x : alpha·(e^x − 1); below 0 the derivative alpha·e^x is y + alpha.
struct EluDef {
  static constexpr const char* kName = "elu";
  double alpha = 1.0;
  static EluDef read(AttrReader& r) { return {r.number("alpha", 1.0)}; }
  json attrs() const { return {{"alpha", alpha}}; }
  float f(float x) const {
    const float negative = float(alpha) * expm1_approx(x);
    return x > 0 ? x : negative;
  }
  float df(float x, float y) const {
    const float negative = y + float(alpha);
    return x > 0 ? 1.0f : negative;
  }
};

// gelu, approximate "none": x·Φ(x) with Φ(x) = erfc(−x/√2)/2; dy/dx = Φ(x) + x·φ(x).
struct GeluDef {
  static constexpr const char* kName = "gelu";
  static constexpr float kSqrtHalf = 0.70710678118654752f, kInvSqrt2Pi = 0.39894228040143268f;
  json attrs() const { return {{"approximate", "none"}}; }
  static float cdf(float x) { return 0.5f * erfc_approx(-x * kSqrtHalf); }
  float f(float x) const { return x * cdf(x); }
  float df(float x, float) const { return cdf(x) + x * kInvSqrt2Pi * exp_approx(-0.5f * x * x); }
};

// gelu, approximate "tanh": x/2·(1 + tanh(u)) = x·σ(2u) with u = √(2/π)·(x + 0.044715·x³).
struct GeluTanhDef {
  static constexpr const char* kName = "gelu";
  static constexpr float kSqrt2OverPi = 0.79788456080286536f, kCubic = 0.044715f;
  json attrs() const { return {{"approximate", "tanh"}}; }
  static float gate(float x) { return sigmoid_approx(2.0f * kSqrt2OverPi * (x + kCubic * x * x * x)); }
  float f(float x) const { return x * gate(x); }
  float df(float x, float) const {
    const float s = gate(x);
    return s + x * 2.0f * s * (1.0f - s) * kSqrt2OverPi * (1.0f + 3.0f * kCubic * x * x);
  }
};

// One Def per form, so neither loop carries a per-element choice.
std::unique_ptr<Op> make_gelu(const json& a) {
  AttrReader reader(a);
  const bool tanh_form = reader.choice("approximate", "none", {"none", "tanh"}) == "tanh";
  reader.finish();
  if (tanh_form) return std::make_unique<Unary<GeluTanhDef>>(GeluTanhDef{});
  return std::make_unique<Unary<GeluDef>>(GeluDef{});
}

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
  float f(float x) const {
    // e^−|x| is 0 below float's normal range; as a product, not a choice, so the loop vectorises
    const float keep = std::fabs(x) > 87.0f ? 0.0f : 1.0f;
    return std::max(x, 0.0f) + log1p_approx(keep * exp_approx(-std::fabs(x)));
  }
  float df(float x, float) const { return sigmoid_approx(x); }
};

}  // namespace

void register_activation_ops(Registry& r) {
  add_unary<LeakyReluDef>(r);
  add_unary<EluDef>(r);
  r.add("gelu", make_gelu);
  add_unary<SiluDef>(r);
  add_unary<SoftplusDef>(r);
}

}  // namespace xgrad
