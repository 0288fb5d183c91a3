// Shape ops: flatten [N, ...] -> [N, prod(...)]; reshape keeps the batch dim and reshapes each
// sample to attrs.shape (Keras' Reshape; one entry may be -1); concat joins any number of inputs
// along one axis. All copy data unchanged.
#include <limits>

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

// concat(x1, x2, ...) along `axis` (negative counts from the end): the inputs agree on every other
// dimension; a -1 (batch) on the axis makes the output's -1 too.
class Concat final : public Op {
 public:
  explicit Concat(int64_t axis) : axis_(axis) {}
  std::string_view type() const override { return "concat"; }
  Arity arity() const override { return {1, std::numeric_limits<int>::max()}; }
  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    Shape out = in[0].shape;
    const size_t a = axis_of(out);
    for (size_t i = 0; i < in.size(); ++i) {
      const Shape& s = in[i].shape;
      if (in[i].dtype != DType::Float32) throw Error("input " + std::to_string(i) + " is not float32");
      bool same = s.size() == out.size();
      for (size_t d = 0; same && d < s.size(); ++d) same = d == a || s[d] == out[d];
      if (!same)
        throw Error("input " + std::to_string(i) + " has shape " + to_string(s) + ", input 0 has " +
                    to_string(in[0].shape) + ": they must agree on every axis but " + std::to_string(a));
      if (i > 0) out[a] = out[a] == -1 || s[a] == -1 ? -1 : out[a] + s[a];
    }
    return out;
  }
  // out viewed as [outer, Σ k_i·inner]: each input fills its own k_i·inner columns of every row.
  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const auto [outer, row] = rows(out);
    size_t column = 0;
    for (const Tensor* x : in) {
      const size_t width = x->size() / std::max<size_t>(outer, 1);
      for (size_t o = 0; o < outer; ++o)
        std::copy(x->data() + o * width, x->data() + (o + 1) * width, out.data() + o * row + column);
      column += width;
    }
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    const auto [outer, row] = rows(out);
    size_t column = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const size_t width = in[i]->size() / std::max<size_t>(outer, 1);
      if (gx[i]) {
        ensure_shape(*gx[i], shape_of(*in[i]));
        for (size_t o = 0; o < outer; ++o)
          std::copy(g.data() + o * row + column, g.data() + o * row + column + width,
                    gx[i]->data() + o * width);
      }
      column += width;
    }
  }
  json attrs() const override { return {{"axis", axis_}}; }

 private:
  size_t axis_of(const Shape& s) const { return axis_index(axis_, s); }
  // [outer, row]: the dimensions before the axis, and the elements of out per outer index.
  std::pair<size_t, size_t> rows(const Tensor& out) const {
    const Shape s = shape_of(out);
    size_t outer = 1;
    for (size_t d = 0; d < axis_of(s); ++d) outer *= size_t(s[d]);
    return {outer, out.size() / std::max<size_t>(outer, 1)};
  }
  int64_t axis_;
};

}  // namespace

void register_shape_ops(Registry& r) {
  add_without_attrs<Reshape>(r, "flatten", std::vector<int64_t>{}, true);
  r.add("reshape", make_reshape);
  r.add("concat", [](const json& a) {
    AttrReader reader(a);
    const int64_t axis = reader.integer("axis", 1, -32, 31);  // a shape has at most 32 dimensions
    reader.finish();
    return std::make_unique<Concat>(axis);
  });
}

}  // namespace xgrad
