#pragma once
// The shape shared by every element-wise op of one input (activations, math, scalar ops): a Def
// gives the op's name, its attributes and y = f(x) with its derivative df(x, y). The loops run over
// raw contiguous buffers in fixed parts of the thread pool, so f inlines and can vectorise.
#include <algorithm>
#include <memory>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/attrs.h"
#include "ops/cpu.h"
#include "ops/registry.h"

namespace xgrad {

// The loops, compiled for AVX-512, for AVX2 + FMA and for the build's own target, and picked by
// cpu_isa(): the activations' polynomials are bound by arithmetic, and a build without
// -march=native would otherwise run them 4 floats at a time on any CPU.
#define XGRAD_UNARY_LOOPS(isa, TARGET)                                                                       \
  template <class Def>                                                                                       \
  TARGET void unary_forward_##isa(const Def& def, const float* x, float* y, size_t b, size_t e) {            \
    for (size_t i = b; i < e; ++i) y[i] = def.f(x[i]);                                                       \
  }                                                                                                          \
  template <class Def>                                                                                       \
  TARGET void unary_backward_##isa(const Def& def, const float* x, const float* y, const float* g, float* d, \
                                   size_t b, size_t e) {                                                     \
    for (size_t i = b; i < e; ++i) d[i] = g[i] * def.df(x[i], y[i]);                                         \
  }
XGRAD_UNARY_LOOPS(avx512, XGRAD_TARGET_AVX512)
XGRAD_UNARY_LOOPS(avx2, XGRAD_TARGET_AVX2)
XGRAD_UNARY_LOOPS(default, )
#undef XGRAD_UNARY_LOOPS

// Runs f(begin, end) over [0, n) in up to 4 equal parts per thread (the pool's grains; boundaries
// on whole vectors) of at least 8192 elements, else inline.
template <class F>
void over_elements(size_t n, F&& f) {
  constexpr size_t kMinPart = 8192, kVector = 16;
  const size_t parts = std::max<size_t>(1, std::min(size_t(4 * num_threads()), n / kMinPart));
  const size_t vectors = (n + kVector - 1) / kVector;
  parallel_for(int64_t(parts), [&](int64_t p0, int64_t p1) {
    f(std::min(n, vectors * size_t(p0) / parts * kVector),
      std::min(n, vectors * size_t(p1) / parts * kVector));
  });
}

// Base of a Def without attributes: `struct ReluDef : NoAttrs<ReluDef> {...}`.
template <class Def>
struct NoAttrs {
  static Def read(AttrReader&) { return Def{}; }
  json attrs() const { return json::object(); }
};

// y = f(x); dx = g * df(x, y).
template <class Def>
class Unary final : public Op {
 public:
  explicit Unary(Def def) : def_(def) {}
  std::string_view type() const override { return Def::kName; }
  Arity arity() const override { return {1, 1}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32) throw Error("expected a float32 input");
    return in[0].shape;
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const float* x = in[0]->data();
    float* y = out.data();
    const Def def = def_;  // a local copy: the compiler knows the loop does not change it
    const Isa isa = cpu_isa();
    over_elements(out.size(), [&](size_t b, size_t e) {
      if (isa == Isa::Avx512) return unary_forward_avx512(def, x, y, b, e);
      if (isa == Isa::Avx2) return unary_forward_avx2(def, x, y, b, e);
      unary_forward_default(def, x, y, b, e);
    });
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const float *x = in[0]->data(), *y = out.data(), *g = gy.data();
    float* d = gx[0]->data();
    const Def def = def_;
    const Isa isa = cpu_isa();
    over_elements(out.size(), [&](size_t b, size_t e) {
      if (isa == Isa::Avx512) return unary_backward_avx512(def, x, y, g, d, b, e);
      if (isa == Isa::Avx2) return unary_backward_avx2(def, x, y, g, d, b, e);
      unary_backward_default(def, x, y, g, d, b, e);
    });
  }
  json attrs() const override { return def_.attrs(); }

 private:
  Def def_;
};

template <class Def>
void add_unary(Registry& r) {
  r.add(Def::kName, [](const json& a) {
    AttrReader reader(a);
    const Def def = Def::read(reader);
    reader.finish();
    return std::make_unique<Unary<Def>>(def);
  });
}

}  // namespace xgrad
