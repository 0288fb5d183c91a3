#ifdef XGRAD_WITH_ONNX
// ONNX compute ops -> xgrad ops: convolution, pooling, dense layers, batch norm, activations,
// softmax, flatten, concat. Weights must be constants (initializers); they become params.
#include <algorithm>
#include <cfloat>

#include <xtensor/xmanipulation.hpp>

#include "core/error.h"
#include "graph/onnx_import_detail.h"
#include "ops/registry.h"
#include "ops/window.h"

namespace xgrad::onnx_import {
namespace {

int64_t normalized_axis(int64_t axis, size_t rank) {
  const int64_t r = int64_t(rank);
  if (axis < -r || axis >= r)
    throw Error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  return axis < 0 ? axis + r : axis;
}

Pair pair_attr(const onnx::NodeProto& n, const std::string& name, Pair fallback) {
  const std::vector<int64_t> v = attr_ints(n, name, {fallback[0], fallback[1]});
  if (v.size() != 2)
    throw Error(name + ": expected 2 values (a 2-D window), found " + std::to_string(v.size()));
  return {v[0], v[1]};
}

std::string str(const std::vector<int64_t>& v) { return to_string(Shape(v.begin(), v.end())); }

// ONNX pads [top, left, bottom, right] or auto_pad -> xgrad's padding for input x [N, C, H, W].
json padding(const onnx::NodeProto& n, const Shape& x, Pair k, Pair s, Pair d) {
  const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
  if (auto_pad == "VALID") return "valid";
  std::vector<int64_t> same(4);  // what xgrad's (TensorFlow's) "same" pads: the odd cell after
  for (int a = 0; a < 2; ++a) {
    Padding p;
    p.mode = Padding::Mode::Same;
    const int64_t out =
        window_out(x[size_t(2 + a)], k[size_t(a)], s[size_t(a)], d[size_t(a)], p, a, same[size_t(a)]);
    same[size_t(a + 2)] =
        std::max<int64_t>((out - 1) * s[size_t(a)] + (k[size_t(a)] - 1) * d[size_t(a)] + 1 - x[size_t(2 + a)],
                          0) -
        same[size_t(a)];
  }
  std::vector<int64_t> pads;
  if (auto_pad == "SAME_UPPER") {
    pads = same;
  } else if (auto_pad == "SAME_LOWER") {
    pads = {same[2], same[3], same[0], same[1]};
  } else if (auto_pad == "NOTSET") {
    pads = attr_ints(n, "pads", {0, 0, 0, 0});
    if (pads.size() != 4) throw Error("pads: expected 4 values, found " + str(pads));
  } else {
    throw Error("auto_pad: unknown value \"" + auto_pad + "\"");
  }
  if (pads[0] == pads[2] && pads[1] == pads[3]) return json::array({pads[0], pads[1]});
  if (pads == same) return "same";
  throw Error("pads " + str(pads) + " are asymmetric and not TensorFlow's \"same\" (" + str(same) +
              "): xgrad has no such padding");
}

void conv(Importer& im, const onnx::NodeProto& n) {
  const int x = im.node_in(n, 0);
  const Const& w = im.const_in(n, 1);
  if (w.dims.size() != 4 || im.shape(x).size() != 4)
    throw Error("expected a 2-D convolution (x [N, C, H, W], w [O, C/group, KH, KW]), found x " +
                to_string(im.shape(x)) + ", w " + to_string(w.dims));
  const Pair k{w.dims[2], w.dims[3]};
  if (pair_attr(n, "kernel_shape", k) != k)
    throw Error("kernel_shape does not match the weights " + to_string(w.dims));
  const Pair s = pair_attr(n, "strides", {1, 1}), d = pair_attr(n, "dilations", {1, 1});
  json attrs{{"stride", s}, {"dilation", d}, {"padding", padding(n, im.shape(x), k, s, d)}};
  if (const int64_t group = attr_int(n, "group", 1); group != 1) attrs["groups"] = group;
  std::vector<int> inputs{x, im.param(w, to_tensor(w), n.input(1))};
  if (im.has_in(n, 2))
    inputs.push_back(im.param(im.const_in(n, 2), to_tensor(im.const_in(n, 2)), n.input(2)));
  im.set(n, im.op(n.output(0), "conv2d", inputs, attrs));
}

void pool(Importer& im, const onnx::NodeProto& n, const std::string& type) {
  const int x = im.node_in(n, 0);
  const Shape& xs = im.shape(x);
  if (xs.size() != 4) throw Error("expected x as [N, C, H, W], found " + to_string(xs));
  const Pair k = pair_attr(n, "kernel_shape", {0, 0}), s = pair_attr(n, "strides", {1, 1});
  if (k[0] <= 0 || k[1] <= 0) throw Error("kernel_shape is missing or not positive");
  if (pair_attr(n, "dilations", {1, 1}) != Pair{1, 1}) throw Error("dilated pooling has no xgrad form");
  const json pad = padding(n, xs, k, s, {1, 1});
  if (attr_int(n, "ceil_mode", 0) != 0) {
    const Pair p = pad.is_array() ? Pair{pad[0].get<int64_t>(), pad[1].get<int64_t>()} : Pair{0, 0};
    for (int a = 0; a < 2; ++a)
      if (pad.is_string() || (xs[size_t(2 + a)] + 2 * p[size_t(a)] - k[size_t(a)]) % s[size_t(a)] != 0)
        throw Error("ceil_mode = 1 gives a larger output than xgrad's floor here");
  }
  const bool padded = pad != json::array({0, 0}) && pad != "valid";
  if (type == "avg_pool2d" && padded && attr_int(n, "count_include_pad", 0) != 0)
    throw Error("count_include_pad = 1 averages padded zeros; xgrad never counts padding");
  im.set(n, im.op(n.output(0), type, {x}, {{"kernel", k}, {"stride", s}, {"padding", pad}}));
}

Shape infer(const Importer& im, const std::string& type, const std::vector<int>& inputs) {
  std::vector<ValueInfo> infos;
  for (int i : inputs) infos.push_back(im.graph.node(i).info);
  return registry().make(type, json::object())->infer_shape(infos);
}

// A global pool giving [N, C] per keepdims: [C, 1, 1] (ONNX's global pools) or [C].
void global_pool(Importer& im, const onnx::NodeProto& n, const std::string& type, bool keepdims) {
  const int x = im.node_in(n, 0);
  const Shape& xs = im.shape(x);
  if (xs.size() != 4) throw Error("expected x as [N, C, H, W], found " + to_string(xs));
  if (!registry().has(type)) throw Error("needs xgrad op " + type + ", which this build does not have");
  const Shape want = keepdims ? Shape{xs[1], 1, 1} : Shape{xs[1]};
  const Shape got = infer(im, type, {x});
  const bool same = Shape(got.begin() + 1, got.end()) == want;
  const int pooled = im.op(same ? n.output(0) : n.output(0) + "/pool", type, {x});
  im.set(n, im.per_sample_shape(pooled, want, n.output(0)));
}

void reduce_mean(Importer& im, const onnx::NodeProto& n) {
  const size_t rank = im.shape(im.node_in(n, 0)).size();
  std::vector<int64_t> axes = attr_ints(n, "axes");
  for (auto& a : axes) a = normalized_axis(a, rank);
  std::sort(axes.begin(), axes.end());
  if (rank != 4 || axes != std::vector<int64_t>{2, 3})
    throw Error("only a mean over H and W of [N, C, H, W] (a global average pool) has an xgrad form");
  global_pool(im, n, "global_avg_pool2d", attr_int(n, "keepdims", 1) != 0);
}

// y = alpha A op(B) + beta C -> matmul(A, w = alpha op(B), b = beta C) for constant B and C.
void gemm(Importer& im, const onnx::NodeProto& n) {
  const int a = im.node_in(n, 0);
  if (attr_int(n, "transA", 0) != 0) throw Error("transA = 1 (a transposed activation) has no xgrad form");
  const Const& b = im.const_in(n, 1);
  if (b.dims.size() != 2) throw Error("expected B as a matrix, found " + to_string(b.dims));
  Tensor w = to_tensor(b);
  if (attr_int(n, "transB", 0) != 0) w = xt::transpose(w);
  w *= attr_float(n, "alpha", 1.0f);
  std::vector<int> inputs{a, im.param(b, w, n.output(0) + ".w")};
  if (im.has_in(n, 2)) {
    const Const& c = im.const_in(n, 2);
    const int64_t m = int64_t(w.shape(1));
    if (!(c.scalar() || c.dims == Shape{m} || c.dims == Shape{1, m}))
      throw Error("C of shape " + to_string(c.dims) + " is not a bias over the " + std::to_string(m) +
                  " outputs");
    Tensor bias = make_tensor({m});
    for (int64_t j = 0; j < m; ++j) bias(j) = float(c.values[c.scalar() ? 0 : size_t(j)]);
    bias *= attr_float(n, "beta", 1.0f);
    inputs.push_back(im.param(c, bias, n.output(0) + ".b"));
  }
  im.set(n, im.op(n.output(0), "matmul", inputs));
}

void matmul(Importer& im, const onnx::NodeProto& n) {
  const int a = im.node_in(n, 0);
  const Const& b = im.const_in(n, 1);
  if (im.shape(a).size() != 2 || b.dims.size() != 2)
    throw Error("only [N, K] x constant [K, M] has an xgrad form, found " + to_string(im.shape(a)) + " x " +
                to_string(b.dims));
  im.set(n, im.op(n.output(0), "matmul", {a, im.param(b, to_tensor(b), n.output(0) + ".w")}));
}

// ONNX momentum weighs the running value; xgrad's (PyTorch's) weighs the batch statistic.
void batch_norm(Importer& im, const onnx::NodeProto& n) {
  if (attr_int(n, "training_mode", 0) != 0) throw Error("training_mode = 1: export the model in eval mode");
  const int x = im.node_in(n, 0);
  const std::string& y = n.output(0);
  std::vector<int> inputs{x, im.param(im.const_in(n, 1), to_tensor(im.const_in(n, 1)), y + ".gamma"),
                          im.param(im.const_in(n, 2), to_tensor(im.const_in(n, 2)), y + ".beta"),
                          im.state(im.const_in(n, 3), y + ".mean"), im.state(im.const_in(n, 4), y + ".var")};
  const json attrs{{"epsilon", attr_float(n, "epsilon", 1e-5f)},
                   {"momentum", 1.0f - attr_float(n, "momentum", 0.9f)}};
  im.set(n, im.op(y, "batch_norm", inputs, attrs));
}

void softmax(Importer& im, const onnx::NodeProto& n, const std::string& type) {
  const int x = im.node_in(n, 0);
  const size_t rank = im.shape(x).size();
  const int64_t axis = normalized_axis(attr_int(n, "axis", im.opset < 13 ? 1 : -1), rank);
  if (im.opset < 13 && axis != int64_t(rank) - 1)
    throw Error("before opset 13 this op works on the flattened axes " + std::to_string(axis) +
                "..; xgrad's works on one axis");
  im.set(n, im.op(n.output(0), type, {x}, {{"axis", axis}}));
}

void flatten(Importer& im, const onnx::NodeProto& n) {
  const int x = im.node_in(n, 0);
  if (attr_int(n, "axis", 1) != 1) throw Error("only axis = 1 (keep the batch) has an xgrad form");
  im.set(n, im.op(n.output(0), "flatten", {x}));
}

Converter unary(const std::string& type) {
  return [type](Importer& im, const onnx::NodeProto& n) {
    im.set(n, im.op(n.output(0), type, {im.node_in(n, 0)}));
  };
}

Converter with_alpha(const std::string& type, float fallback) {
  return [=](Importer& im, const onnx::NodeProto& n) {
    im.set(n, im.op(n.output(0), type, {im.node_in(n, 0)}, {{"alpha", attr_float(n, "alpha", fallback)}}));
  };
}

// Clip(x, min, max) with optional constant bounds; Clip(x, 0) is relu.
void clip(Importer& im, const onnx::NodeProto& n) {
  const int x = im.node_in(n, 0);
  const float lo = im.has_in(n, 1) ? float(im.const_in(n, 1).values.at(0)) : -FLT_MAX;
  const float hi = im.has_in(n, 2) ? float(im.const_in(n, 2).values.at(0)) : FLT_MAX;
  if (lo == 0 && hi == FLT_MAX)
    im.set(n, im.op(n.output(0), "relu", {x}));
  else
    im.set(n, im.op(n.output(0), "clip", {x}, {{"min", lo}, {"max", hi}}));
}

}  // namespace

void add_compute_converters(std::map<std::string, Converter>& t) {
  t["Conv"] = conv;
  t["MaxPool"] = [](Importer& im, const onnx::NodeProto& n) { pool(im, n, "max_pool2d"); };
  t["AveragePool"] = [](Importer& im, const onnx::NodeProto& n) { pool(im, n, "avg_pool2d"); };
  t["GlobalAveragePool"] = [](Importer& im, const onnx::NodeProto& n) {
    global_pool(im, n, "global_avg_pool2d", true);
  };
  t["GlobalMaxPool"] = [](Importer& im, const onnx::NodeProto& n) {
    global_pool(im, n, "global_max_pool2d", true);
  };
  t["ReduceMean"] = reduce_mean;
  t["Gemm"] = gemm;
  t["MatMul"] = matmul;
  t["BatchNormalization"] = batch_norm;
  t["Softmax"] = [](Importer& im, const onnx::NodeProto& n) { softmax(im, n, "softmax"); };
  t["LogSoftmax"] = [](Importer& im, const onnx::NodeProto& n) { softmax(im, n, "log_softmax"); };
  t["Flatten"] = flatten;
  t["Relu"] = unary("relu");
  t["Sigmoid"] = unary("sigmoid");
  t["Tanh"] = unary("tanh");
  t["Softplus"] = unary("softplus");
  t["Exp"] = unary("exp");
  t["Log"] = unary("log");
  t["Sqrt"] = unary("sqrt");
  t["Abs"] = unary("abs");
  t["Neg"] = unary("neg");
  t["LeakyRelu"] = with_alpha("leaky_relu", 0.01f);
  t["Elu"] = with_alpha("elu", 1.0f);
  t["Clip"] = clip;
}

}  // namespace xgrad::onnx_import
#endif
