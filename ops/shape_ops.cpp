// Shape ops: flatten [N, ...] -> [N, prod(...)]; reshape keeps the batch dim and reshapes each
// sample to attrs.shape (Keras' Reshape; one entry may be -1). Both copy data unchanged.
#include "core/error.h"
#include "ops/attrs.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

void copy_data(const Tensor& from, Tensor& to) {
  std::copy(from.data(), from.data() + from.size(), to.data());
}

class Reshape final : public Op {
 public:
  // An empty target means flatten.
  explicit Reshape(std::vector<int64_t> target, bool flatten)
      : target_(std::move(target)), flatten_(flatten) {}
  std::string_view type() const override { return flatten_ ? "flatten" : "reshape"; }
  Arity arity() const override { return {1, 1}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& s = in[0].shape;
    if (s.empty()) throw Error("expected an input with a batch dimension, found a scalar");
    int64_t per_sample = 1;
    for (size_t i = 1; i < s.size(); ++i) per_sample *= s[i];
    if (flatten_) return {s[0], per_sample};
    Shape out{s[0]};
    int64_t known = 1;
    int free_axis = -1;
    for (size_t i = 0; i < target_.size(); ++i) {
      if (target_[i] == -1)
        free_axis = int(i + 1);
      else
        known *= target_[i];
      out.push_back(target_[i]);
    }
    if (free_axis >= 0) {
      if (per_sample % known)
        throw Error("cannot reshape " + to_string(s) + " to [N, " + to_string(target_).substr(1));
      out[size_t(free_axis)] = per_sample / known;
    } else if (known != per_sample) {
      throw Error("cannot reshape " + to_string(s) + " (" + std::to_string(per_sample) + " per sample) to " +
                  to_string(target_) + " per sample");
    }
    return out;
  }
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override { copy_data(*in[0], out); }
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    ensure_shape(*gx[0], shape_of(*in[0]));
    copy_data(g, *gx[0]);
  }
  json attrs() const override { return flatten_ ? json::object() : json{{"shape", target_}}; }

 private:
  std::vector<int64_t> target_;
  bool flatten_;
};

std::unique_ptr<Op> make_reshape(const json& a) {
  AttrReader r(a);
  std::vector<int64_t> target = r.integers("shape");
  r.finish();
  int free_axes = 0;
  for (int64_t d : target) {
    if (d == -1)
      ++free_axes;
    else if (d <= 0 || d > (int64_t(1) << 31))
      throw Error("attrs.shape: dimensions must be positive (or one -1), found " + to_string(target));
  }
  if (free_axes > 1) throw Error("attrs.shape: at most one -1, found " + to_string(target));
  return std::make_unique<Reshape>(std::move(target), false);
}

}  // namespace

void register_shape_ops(Registry& r) {
  r.add("flatten", [](const json& a) {
    AttrReader(a).finish();
    return std::make_unique<Reshape>(std::vector<int64_t>{}, true);
  });
  r.add("reshape", make_reshape);
}

}  // namespace xgrad
