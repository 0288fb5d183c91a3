// Element-wise math for custom losses and layers: neg, square, exp, log, sqrt, abs, and the scalar
// ops clip{min, max}, scale{factor}, add_scalar{value}. Domains follow IEEE float (as PyTorch
// does): log(0) = -inf, log(x < 0) = NaN, sqrt(x < 0) = NaN, exp overflows to +inf; the engine
// then reports the first node holding a non-finite value.
#include <cmath>

#include "ops/unary.h"

namespace xgrad {
namespace {

struct NegDef : NoAttrs<NegDef> {
  static constexpr const char* kName = "neg";
  float f(float x) const { return -x; }
  float df(float, float) const { return -1.0f; }
};

struct SquareDef : NoAttrs<SquareDef> {
  static constexpr const char* kName = "square";
  float f(float x) const { return x * x; }
  float df(float x, float) const { return 2.0f * x; }
};

struct ExpDef : NoAttrs<ExpDef> {
  static constexpr const char* kName = "exp";
  float f(float x) const { return std::exp(x); }
  float df(float, float y) const { return y; }
};

struct LogDef : NoAttrs<LogDef> {
  static constexpr const char* kName = "log";
  float f(float x) const { return std::log(x); }
  float df(float x, float) const { return 1.0f / x; }
};

// dy/dx = 1 / (2·sqrt(x)): +inf at 0, like PyTorch.
struct SqrtDef : NoAttrs<SqrtDef> {
  static constexpr const char* kName = "sqrt";
  float f(float x) const { return std::sqrt(x); }
  float df(float, float y) const { return 0.5f / y; }
};

// dy/dx = sign(x), 0 at 0 (PyTorch's choice at the kink).
struct AbsDef : NoAttrs<AbsDef> {
  static constexpr const char* kName = "abs";
  float f(float x) const { return std::fabs(x); }
  float df(float x, float) const { return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f; }
};

// min(max(x, lo), hi); the gradient passes where lo <= x <= hi and is 0 outside.
struct ClipDef {
  static constexpr const char* kName = "clip";
  double lo = 0, hi = 0;
  static ClipDef read(AttrReader& r) {
    const ClipDef d{r.number("min"), r.number("max")};
    if (d.lo > d.hi)
      throw Error("attrs.min: " + json(d.lo).dump() + " is larger than attrs.max " + json(d.hi).dump());
    return d;
  }
  json attrs() const { return {{"min", lo}, {"max", hi}}; }
  float f(float x) const { return std::min(std::max(x, float(lo)), float(hi)); }
  float df(float x, float) const { return ((x >= float(lo)) & (x <= float(hi))) ? 1.0f : 0.0f; }
};

// factor·x
struct ScaleDef {
  static constexpr const char* kName = "scale";
  double factor = 1;
  static ScaleDef read(AttrReader& r) { return {r.number("factor")}; }
  json attrs() const { return {{"factor", factor}}; }
  float f(float x) const { return float(factor) * x; }
  float df(float, float) const { return float(factor); }
};

// x + value
struct AddScalarDef {
  static constexpr const char* kName = "add_scalar";
  double value = 0;
  static AddScalarDef read(AttrReader& r) { return {r.number("value")}; }
  json attrs() const { return {{"value", value}}; }
  float f(float x) const { return x + float(value); }
  float df(float, float) const { return 1.0f; }
};

}  // namespace

void register_math_ops(Registry& r) {
  add_unary<NegDef>(r);
  add_unary<SquareDef>(r);
  add_unary<ExpDef>(r);
  add_unary<LogDef>(r);
  add_unary<SqrtDef>(r);
  add_unary<AbsDef>(r);
  add_unary<ClipDef>(r);
  add_unary<ScaleDef>(r);
  add_unary<AddScalarDef>(r);
}

}  // namespace xgrad
