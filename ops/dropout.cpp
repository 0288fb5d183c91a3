// dropout(x){rate}: inverted dropout. Training zeroes each element with probability `rate` and
// scales the rest by 1/(1 − rate); evaluation is the identity. The mask is a counter-based hash of
// (run seed, step, node, element), so it needs no RNG state: the same seed gives the same run, a
// resumed run draws exactly the masks of an uninterrupted one, and the thread count plays no part.
#include <cmath>

#include "core/error.h"
#include "core/hash.h"
#include "core/parallel.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

class Dropout final : public ModeDependentOp {
 public:
  explicit Dropout(double rate) : rate_(rate) {}
  std::string_view type() const override { return "dropout"; }
  Arity arity() const override { return {1, 1}; }
  json attrs() const override { return {{"rate", rate_}}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    if (in[0].dtype != DType::Float32) throw Error("expected a float32 input");
    return in[0].shape;
  }

  // Workspace: the mask as the factor each element was multiplied by (0 or 1/(1 − rate)).
  void run_forward(const RunContext& ctx, const Inputs& in, Tensor& out, Workspace& ws) const override {
    const float* x = in[0]->data();
    float* y = out.data();
    const size_t n = out.size();
    if (ctx.mode == Mode::Eval) {
      std::copy(x, x + n, y);
      return;
    }
    ws.tensors.resize(1);
    ensure_shape(ws.tensors[0], shape_of(out));
    float* mask = ws.tensors[0].data();
    const uint64_t base = mix64(mix64(mix64(ctx.seed) ^ ctx.step) ^ ctx.node);
    // Element i of a shard is element first + i of the whole batch.
    const uint64_t first =
        out.dimension() && out.shape()[0] > 0 ? ctx.sample_offset * (n / size_t(out.shape()[0])) : 0;
    // An element is kept when its 24-bit uniform u (in [0, 1)) is >= rate.
    const uint64_t threshold = uint64_t(std::ceil(rate_ * double(1 << 24)));
    const float keep = float(1.0 / (1.0 - rate_));
    parallel_for(int64_t(n), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const uint64_t u = mix64(base + (first + uint64_t(i)) * 0x9E3779B97F4A7C15ull) >> 40;
        mask[i] = u >= threshold ? keep : 0.0f;
        y[i] = x[i] * mask[i];
      }
    });
  }

  void run_backward(const RunContext& ctx, const Inputs& in, const Tensor&, const Tensor& gy, Workspace& ws,
                    const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    const float* g = gy.data();
    float* d = gx[0]->data();
    const size_t n = gy.size();
    if (ctx.mode == Mode::Eval) {
      std::copy(g, g + n, d);
      return;
    }
    if (ws.tensors.size() != 1 || ws.tensors[0].size() != n)
      throw Error("backward needs a training forward of the same batch first");
    const float* mask = ws.tensors[0].data();
    for (size_t i = 0; i < n; ++i) d[i] = g[i] * mask[i];
  }

 private:
  double rate_;
};

}  // namespace

void register_dropout_ops(Registry& r) {
  r.add("dropout", [](const json& attrs) -> std::unique_ptr<Op> {
    for (const auto& [key, value] : attrs.items())
      if (key != "rate") throw Error("attrs." + key + ": unknown attribute (valid: rate)");
    if (!attrs.contains("rate")) throw Error("attrs.rate: required attribute is missing");
    const json& v = attrs.at("rate");
    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() < 1))
      throw Error("attrs.rate: expected a number in [0, 1), found " + v.dump());
    return std::make_unique<Dropout>(v.get<double>());
  });
}

}  // namespace xgrad
