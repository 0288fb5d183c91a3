#ifdef XGRAD_WITH_ONNX
// What exporters emit around the compute ops: constants, identities, and the shape arithmetic of
// x.view(x.size(0), -1) (Shape -> Gather -> Unsqueeze -> Concat -> Reshape). Folded at import; a
// shape's dynamic batch entry is carried as kBatch so Reshape can tell it keeps the batch.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "graph/onnx_import_detail.h"

namespace xgrad::onnx_import {
namespace {

Value constant(Const c) {
  Value v;
  v.c = std::move(c);
  return v;
}

std::vector<int64_t> ints(const Const& c) { return std::vector<int64_t>(c.values.begin(), c.values.end()); }

void constant_node(Importer& im, const onnx::NodeProto& n) {
  if (const auto* a = find_attr(n, "value")) return im.set(n, constant(from_proto(a->t())));
  if (const auto* a = find_attr(n, "value_float")) return im.set(n, constant({{}, {a->f()}, {}}));
  if (const auto* a = find_attr(n, "value_int")) return im.set(n, constant({{}, {double(a->i())}, {}}));
  if (const auto* a = find_attr(n, "value_floats"))
    return im.set(n, constant({{a->floats_size()}, {a->floats().begin(), a->floats().end()}, {}}));
  if (const auto* a = find_attr(n, "value_ints"))
    return im.set(n, constant({{a->ints_size()}, {a->ints().begin(), a->ints().end()}, {}}));
  throw Error("expected a value, value_float(s) or value_int(s) attribute");
}

void identity(Importer& im, const onnx::NodeProto& n) { im.set(n, im.in(n, 0)); }

// Float to float changes nothing; constants (shapes) convert.
void cast(Importer& im, const onnx::NodeProto& n) {
  const int64_t to = attr_int(n, "to", 0);
  const Value& v = im.in(n, 0);
  if (v.constant()) {
    Const c = v.c;
    c.initializer.clear();
    if (!onnx_proto::is_float_type(int32_t(to)))
      for (double& x : c.values)
        if (x != kBatch) x = std::trunc(x);
    return im.set(n, constant(c));
  }
  if (!onnx_proto::is_float_type(int32_t(to)))
    throw Error("a cast of computed values to integers has no xgrad form");
  im.set(n, v);
}

// The shape of a computed value; its batch entry is kBatch.
void shape(Importer& im, const onnx::NodeProto& n) {
  const Value& v = im.in(n, 0);
  const Shape s = v.constant() ? v.c.dims : im.shape(im.node_in(n, 0));
  const int64_t r = int64_t(s.size());
  int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", r);
  start = std::clamp<int64_t>(start < 0 ? start + r : start, 0, r);
  end = std::clamp<int64_t>(end < 0 ? end + r : end, start, r);
  Const c{{end - start}, {}, {}};
  for (int64_t i = start; i < end; ++i) c.values.push_back(s[size_t(i)] < 0 ? kBatch : double(s[size_t(i)]));
  im.set(n, constant(c));
}

// Along axis 0 of a constant (shapes are 1-D): data[indices].
void gather(Importer& im, const onnx::NodeProto& n) {
  const Const& data = im.const_in(n, 0);
  const Const& idx = im.const_in(n, 1);
  if (data.dims.size() != 1 || attr_int(n, "axis", 0) != 0)
    throw Error("only a gather from a 1-D constant is folded");
  Const c{idx.dims, {}, {}};
  const int64_t size = data.dims[0];
  for (double i : idx.values) {
    const int64_t k = int64_t(i) < 0 ? int64_t(i) + size : int64_t(i);
    if (k < 0 || k >= size) throw Error("index " + std::to_string(int64_t(i)) + " out of range");
    c.values.push_back(data.values[size_t(k)]);
  }
  im.set(n, constant(c));
}

// Axes from the attribute (before opset 13) or the second input.
std::vector<int64_t> axes_of(const Importer& im, const onnx::NodeProto& n) {
  return im.opset < 13 || !im.has_in(n, 1) ? attr_ints(n, "axes") : ints(im.const_in(n, 1));
}

// Unsqueeze/Squeeze of a constant (same values, new dims) or of a computed value (a reshape that
// keeps the batch).
void unsqueeze(Importer& im, const onnx::NodeProto& n, bool squeeze) {
  const Value& v = im.in(n, 0);
  Shape dims = v.constant() ? v.c.dims : im.shape(im.node_in(n, 0));
  std::vector<int64_t> axes = axes_of(im, n);
  const int64_t rank = int64_t(dims.size()) + (squeeze ? 0 : int64_t(axes.size()));
  for (auto& a : axes) a = a < 0 ? a + rank : a;
  std::sort(axes.begin(), axes.end());
  if (squeeze && axes.empty())
    for (int64_t i = 0; i < rank; ++i)
      if (dims[size_t(i)] == 1) axes.push_back(i);
  for (auto a = axes.rbegin(); squeeze && a != axes.rend(); ++a) {
    if (*a < 0 || *a >= int64_t(dims.size()) || dims[size_t(*a)] != 1)
      throw Error("cannot squeeze axis " + std::to_string(*a));
    dims.erase(dims.begin() + *a);
  }
  for (int64_t a : squeeze ? std::vector<int64_t>{} : axes) {
    if (a < 0 || a > int64_t(dims.size())) throw Error("axis " + std::to_string(a) + " out of range");
    dims.insert(dims.begin() + a, 1);
  }
  if (v.constant()) return im.set(n, constant({dims, v.c.values, {}}));
  if (!axes.empty() && axes.front() == 0) throw Error("the batch axis cannot be added or removed");
  im.set(n,
         im.op(n.output(0), "reshape", {im.node_in(n, 0)}, {{"shape", Shape(dims.begin() + 1, dims.end())}}));
}

// Constant 1-D slices of shapes.
void slice(Importer& im, const onnx::NodeProto& n) {
  const Const& data = im.const_in(n, 0);
  if (data.dims.size() != 1) throw Error("only a slice of a 1-D constant is folded");
  const int64_t size = data.dims[0];
  const auto starts = ints(im.const_in(n, 1)), ends = ints(im.const_in(n, 2));
  if (im.has_in(n, 3) && ints(im.const_in(n, 3)) != std::vector<int64_t>{0})
    throw Error("only axis 0 is folded");
  if (im.has_in(n, 4) && ints(im.const_in(n, 4)) != std::vector<int64_t>{1})
    throw Error("only step 1 is folded");
  auto clampi = [size](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  const int64_t b = clampi(starts.at(0)), e = std::max(b, clampi(ends.at(0)));
  im.set(n, constant({{e - b}, {data.values.begin() + b, data.values.begin() + e}, {}}));
}

void pad(Importer& im, const onnx::NodeProto& n) {
  if (attr_string(n, "mode", "constant") != "constant")
    throw Error("only constant-mode Pad with zero pads is folded");
  for (double p : im.const_in(n, 1).values)
    if (p != 0) throw Error("non-zero pads: only a Pad that pads nothing is folded");
  im.set(n, im.in(n, 0));
}

void concat(Importer& im, const onnx::NodeProto& n) {
  bool all_const = true;
  for (int i = 0; i < n.input_size(); ++i) all_const = all_const && im.in(n, i).constant();
  if (all_const) {
    Const c{{0}, {}, {}};
    for (int i = 0; i < n.input_size(); ++i) {
      const Const& p = im.const_in(n, i);
      if (p.dims.size() != 1) throw Error("only 1-D constants are concatenated at import");
      c.values.insert(c.values.end(), p.values.begin(), p.values.end());
    }
    c.dims[0] = int64_t(c.values.size());
    return im.set(n, constant(c));
  }
  std::vector<int> inputs;
  for (int i = 0; i < n.input_size(); ++i) inputs.push_back(im.node_in(n, i));
  const int64_t rank = int64_t(im.shape(inputs[0]).size());
  int64_t axis = attr_int(n, "axis", 1);
  axis = axis < 0 ? axis + rank : axis;
  if (axis <= 0 || axis >= rank)
    throw Error("concat along axis " + std::to_string(axis) + " has no xgrad form");
  im.set(n, im.op(n.output(0), "concat", inputs, {{"axis", axis}}));
}

// The target's first entry must keep the batch (0, -1, the Shape chain's batch, or the file's fixed
// batch size); the rest is xgrad's per-sample shape, with 0 copying the input's dimension.
void reshape(Importer& im, const onnx::NodeProto& n) {
  const int x = im.node_in(n, 0);
  const Shape& xs = im.shape(x);
  const Const& target = im.const_in(n, 1);
  if (target.values.empty()) throw Error("a reshape to a scalar drops the batch");
  const double first = target.values[0];
  const bool keeps = first == 0 || first == kBatch || (im.fixed_batch > 0 && first == double(im.fixed_batch));
  const bool zero_copies = attr_int(n, "allowzero", 0) == 0;
  Shape per_sample;
  for (size_t i = 1; i < target.values.size(); ++i) {
    const double d = target.values[i];
    if (d == kBatch) throw Error("the batch size can only be the first dimension");
    if (d == 0 && zero_copies && i >= xs.size()) throw Error("0 copies a dimension the input does not have");
    per_sample.push_back(d == 0 && zero_copies ? xs[i] : int64_t(d));
  }
  int64_t per_sample_count = 1;
  for (size_t i = 1; i < xs.size(); ++i) per_sample_count *= xs[i];
  const bool free_batch = first == -1 && numel(per_sample) == per_sample_count;
  if (!keeps && !free_batch)
    throw Error("the target shape " + to_string(ints(target)) + " does not keep the batch dimension");
  im.set(n, im.op(n.output(0), "reshape", {x}, {{"shape", per_sample}}));
}

}  // namespace

void add_plumbing_converters(std::map<std::string, Converter>& t) {
  t["Constant"] = constant_node;
  t["Identity"] = identity;
  t["Dropout"] = identity;  // inference: passes its input through
  t["Cast"] = cast;
  t["Shape"] = shape;
  t["Gather"] = gather;
  t["Unsqueeze"] = [](Importer& im, const onnx::NodeProto& n) { unsqueeze(im, n, false); };
  t["Squeeze"] = [](Importer& im, const onnx::NodeProto& n) { unsqueeze(im, n, true); };
  t["Slice"] = slice;
  t["Pad"] = pad;
  t["Concat"] = concat;
  t["Reshape"] = reshape;
}

}  // namespace xgrad::onnx_import
#endif
