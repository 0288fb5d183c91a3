#include "graph/layout.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "core/error.h"

namespace xgrad {
namespace {

using Transform = LayoutEntry::Transform;

bool is_weight(const Node& n) { return n.kind != NodeKind::Input && n.kind != NodeKind::Op; }

// The name of slot `slot` of op `op` in a layout, or nullptr when the op has no such role.
const char* role_name(WeightLayout layout, std::string_view op, size_t slot) {
  static const std::map<std::string_view, std::vector<const char*>> torch = {
      {"conv2d", {"weight", "bias"}},
      {"matmul", {"weight", "bias"}},
      {"batch_norm", {"weight", "bias", "running_mean", "running_var"}}};
  static const std::map<std::string_view, std::vector<const char*>> keras = {
      {"conv2d", {"kernel", "bias"}},
      {"matmul", {"kernel", "bias"}},
      {"batch_norm", {"gamma", "beta", "moving_mean", "moving_variance"}}};
  const auto& table = layout == WeightLayout::Torch ? torch : keras;
  const auto it = table.find(op);
  if (it == table.end() || slot == 0 || slot > it->second.size()) return nullptr;
  return it->second[slot - 1];
}

std::string layer_of(const std::string& param, const Node& op) {
  const size_t dot = param.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? op.name : param.substr(0, dot);
}

// The [C, H, W] a dense layer's input was flattened from, or {} when it was not a Flatten of images.
Shape flattened_chw(const Graph& g, const Node& matmul) {
  const Node& x = g.node(matmul.inputs[0]);
  if (x.kind != NodeKind::Op || x.op->type() != "flatten") return {};
  const Shape& s = g.node(x.inputs[0]).info.shape;
  if (s.size() != 4 || s[2] * s[3] == 1 || s[1] == 1) return {};
  return {s[1], s[2], s[3]};
}

LayoutEntry entry_for(const Graph& g, WeightLayout layout, const Node& w, const Node& op, size_t slot) {
  LayoutEntry e{w.name, w.name, w.info.shape, Transform::Identity, {}};
  const char* role = role_name(layout, op.op->type(), slot);
  if (!role) return e;
  e.name = layer_of(w.name, op) + (layout == WeightLayout::Torch ? "." : "/") + role;
  const Shape& s = w.info.shape;
  if (slot != 1 || op.op->type() == "batch_norm") return e;
  if (op.op->type() == "conv2d" && layout == WeightLayout::Keras && s.size() == 4) {
    e.transform = Transform::OihwToHwio;
    e.shape = {s[2], s[3], s[1], s[0]};
  } else if (op.op->type() == "matmul" && layout == WeightLayout::Torch && s.size() == 2) {
    e.transform = Transform::Transpose2d;
    e.shape = {s[1], s[0]};
  } else if (op.op->type() == "matmul" && layout == WeightLayout::Keras) {
    e.chw = flattened_chw(g, op);
    if (!e.chw.empty()) e.transform = Transform::FlattenRows;
  }
  return e;
}

// out[dst(i)] = in[i] for every element, where the tensors are viewed as `rows` x `cols` blocks.
Tensor permuted(const Tensor& in, const Shape& out_shape, size_t cols,
                const std::function<size_t(size_t)>& dst) {
  Tensor out = make_tensor(out_shape);
  const size_t rows = in.size() / cols;
  for (size_t r = 0; r < rows; ++r) std::copy_n(in.data() + r * cols, cols, out.data() + dst(r) * cols);
  return out;
}

Tensor apply(const LayoutEntry& e, const Tensor& v, bool forward) {
  const Shape in_shape = shape_of(v);
  switch (e.transform) {
    case Transform::Identity:
      return v;
    case Transform::Transpose2d:  // [a, b] -> [b, a]: row r of the transpose is column r
      return Tensor(xt::transpose(v));
    case Transform::OihwToHwio:
      return forward ? Tensor(xt::transpose(v, {2, 3, 1, 0})) : Tensor(xt::transpose(v, {3, 2, 0, 1}));
    case Transform::FlattenRows: {
      const size_t C = size_t(e.chw[0]), H = size_t(e.chw[1]), W = size_t(e.chw[2]);
      const size_t cols = v.size() / (C * H * W);
      auto chw_to_hwc = [&](size_t r) { return ((r % (H * W)) * C) + r / (H * W); };  // r = c*H*W + h*W + w
      auto hwc_to_chw = [&](size_t r) { return (r % C) * H * W + r / C; };            // r = (h*W + w)*C + c
      return forward ? permuted(v, in_shape, cols, chw_to_hwc) : permuted(v, in_shape, cols, hwc_to_chw);
    }
  }
  return v;
}

}  // namespace

WeightLayout weight_layout_from_name(const std::string& name) {
  if (name == "xgrad") return WeightLayout::Xgrad;
  if (name == "torch") return WeightLayout::Torch;
  if (name == "keras") return WeightLayout::Keras;
  throw Error("unknown weight layout \"" + name + "\", expected xgrad, torch or keras");
}

const char* weight_layout_name(WeightLayout layout) {
  return layout == WeightLayout::Xgrad ? "xgrad" : layout == WeightLayout::Torch ? "torch" : "keras";
}

std::vector<LayoutEntry> weight_layout(const Graph& g, WeightLayout layout) {
  std::vector<LayoutEntry> out;
  std::set<int> done;
  if (layout != WeightLayout::Xgrad) {
    for (const Node& n : g.nodes()) {
      if (n.kind != NodeKind::Op) continue;
      for (size_t slot = 0; slot < n.inputs.size(); ++slot) {
        const Node& w = g.node(n.inputs[slot]);
        if (is_weight(w) && done.insert(n.inputs[slot]).second)
          out.push_back(entry_for(g, layout, w, n, slot));
      }
    }
  }
  for (int id = 0; id < g.size(); ++id)  // xgrad order, and weights no op uses
    if (is_weight(g.node(id)) && done.insert(id).second)
      out.push_back({g.node(id).name, g.node(id).name, g.node(id).info.shape, Transform::Identity, {}});
  return out;
}

Tensor to_layout(const LayoutEntry& e, const Tensor& value) { return apply(e, value, true); }
Tensor from_layout(const LayoutEntry& e, const Tensor& value) { return apply(e, value, false); }

NpzArrays export_weights(const Graph& g, const Params& weights, WeightLayout layout) {
  NpzArrays out;
  for (const LayoutEntry& e : weight_layout(g, layout)) {
    const auto it = weights.find(e.param);
    if (it == weights.end()) throw Error("export: no weights for \"" + e.param + "\"");
    out.emplace_back(e.name, npy_from_tensor(to_layout(e, it->second)));
  }
  return out;
}

Params import_weights(const Graph& g, const NpzArrays& arrays, WeightLayout layout,
                      const std::string& source) {
  std::map<std::string, const NpyArray*> given;
  for (const auto& [name, a] : arrays) given[name] = &a;
  std::vector<std::string> problems;
  std::set<std::string> expected;
  Params out;
  for (const LayoutEntry& e : weight_layout(g, layout)) {
    expected.insert(e.name);
    const auto it = given.find(e.name);
    if (it == given.end()) {
      problems.push_back("missing \"" + e.name + "\" " + to_string(e.shape));
    } else if (it->second->shape != e.shape) {
      problems.push_back("\"" + e.name + "\" has shape " + to_string(it->second->shape) + ", expected " +
                         to_string(e.shape));
    } else {
      const Tensor t = npy_to_tensor(*it->second);
      if (!std::all_of(t.begin(), t.end(), [](float v) { return std::isfinite(v); }))
        problems.push_back("\"" + e.name + "\" holds NaN or infinite values");
      else
        out[e.param] = from_layout(e, t);
    }
  }
  const std::string tracked = ".num_batches_tracked";  // torch's BatchNorm counter, not a weight
  for (const auto& [name, a] : given) {
    const bool counter = layout == WeightLayout::Torch && name.size() > tracked.size() &&
                         name.compare(name.size() - tracked.size(), tracked.size(), tracked) == 0 &&
                         expected.count(name.substr(0, name.size() - tracked.size()) + ".running_mean");
    if (!expected.count(name) && !counter)
      problems.push_back("unexpected \"" + name + "\" " + to_string(a->shape));
  }
  if (problems.empty()) return out;
  std::string msg = source + ": does not match the model (layout " + weight_layout_name(layout) + "): ";
  for (size_t i = 0; i < problems.size(); ++i) msg += (i ? "; " : "") + problems[i];
  throw Error(msg);
}

}  // namespace xgrad
