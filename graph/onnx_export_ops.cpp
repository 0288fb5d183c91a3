#ifdef XGRAD_WITH_ONNX
// xgrad op -> ONNX nodes, each with xgrad's exact semantics: explicit pads (Keras/TF "same" puts the
// odd cell after), pools never count padding, reshape keeps the batch, dropout disappears.
#include <cmath>

#include "core/error.h"
#include "graph/onnx_export_detail.h"
#include "ops/window.h"

namespace xgrad::onnx_export {

using onnx_proto::set_attr;

std::string Context::constant(const Node& n, const std::string& what, const Tensor& values) {
  const std::string name = n.name + "/" + what;
  *out.add_initializer() = onnx_proto::float_tensor(name, values);
  return name;
}

std::string Context::int_constant(const Node& n, const std::string& what,
                                  const std::vector<int64_t>& values) {
  const std::string name = n.name + "/" + what;
  *out.add_initializer() = onnx_proto::int64_tensor(name, values, {int64_t(values.size())});
  return name;
}

onnx::NodeProto& Context::emit(const Node& n, const std::string& op_type,
                               const std::vector<std::string>& inputs, const std::string& output) {
  const std::string& o = output.empty() ? n.name : output;
  return *onnx_proto::add_node(out, op_type, inputs, {o}, o);
}

namespace {

Tensor scalar(float v) { return make_tensor({}, v); }

// [top, left, bottom, right] as xgrad computes them for input x [N, C, H, W].
std::vector<int64_t> pads(const Shape& x, Pair kernel, Pair stride, Pair dilation, const Padding& p) {
  std::vector<int64_t> begin(2), end(2);
  for (int a = 0; a < 2; ++a) {
    const int64_t in = x[size_t(2 + a)], k = kernel[size_t(a)], s = stride[size_t(a)],
                  d = dilation[size_t(a)];
    const int64_t out = window_out(in, k, s, d, p, a, begin[size_t(a)]);
    end[size_t(a)] = p.mode == Padding::Mode::Same
                         ? std::max<int64_t>((out - 1) * s + (k - 1) * d + 1 - in, 0) - begin[size_t(a)]
                         : begin[size_t(a)];
  }
  return {begin[0], begin[1], end[0], end[1]};
}

std::vector<int64_t> ints(Pair p) { return {p[0], p[1]}; }

void conv2d(Context& c, int id, const Node& n, const json& attrs) {
  AttrReader r(attrs);
  const Pair stride = r.pair("stride", {1, 1}, 1), dilation = r.pair("dilation", {1, 1}, 1);
  const Padding padding = r.padding("padding");
  const int64_t groups = r.integer("groups", 1, 1, int64_t(1) << 20);
  const std::string act = r.choice("activation", "none", {"none", "relu", "sigmoid", "tanh"});
  const Shape& w = c.in_shape(n, 1);
  std::vector<std::string> inputs{c.in(n, 0), c.in(n, 1)};
  if (n.inputs.size() == 3) inputs.push_back(c.in(n, 2));
  // A fused activation is ONNX's Conv then Relu, Sigmoid or Tanh, whose output has the node's name.
  auto& node = c.emit(n, "Conv", inputs, act != "none" ? n.name + ".conv" : "");
  set_attr(node, "kernel_shape", std::vector<int64_t>{w[2], w[3]});
  set_attr(node, "strides", ints(stride));
  set_attr(node, "dilations", ints(dilation));
  set_attr(node, "pads", pads(c.in_shape(n, 0), {w[2], w[3]}, stride, dilation, padding));
  set_attr(node, "group", groups);
  if (act != "none")
    c.emit(n, act == "relu" ? "Relu" : act == "sigmoid" ? "Sigmoid" : "Tanh", {n.name + ".conv"});
  c.tensor[id] = n.name;
}

void pool(Context& c, int id, const Node& n, const json& attrs, const std::string& op_type) {
  AttrReader r(attrs);
  const Pair kernel = r.required_pair("kernel", 1), stride = r.pair("stride", kernel, 1);
  const Padding padding = r.padding("padding");
  auto& node = c.emit(n, op_type, {c.in(n, 0)});
  set_attr(node, "kernel_shape", ints(kernel));
  set_attr(node, "strides", ints(stride));
  set_attr(node, "pads", pads(c.in_shape(n, 0), kernel, stride, {1, 1}, padding));
  if (op_type == "AveragePool") set_attr(node, "count_include_pad", int64_t(0));
  c.tensor[id] = n.name;
}

// GlobalAveragePool gives [N, C, 1, 1]; xgrad's global pools may give [N, C].
void global_pool(Context& c, int id, const Node& n, const std::string& op_type) {
  if (n.info.shape.size() == 4) {
    c.emit(n, op_type, {c.in(n, 0)});
  } else {
    c.emit(n, op_type, {c.in(n, 0)}, n.name + "/pool");
    set_attr(c.emit(n, "Flatten", {n.name + "/pool"}), "axis", int64_t(1));
  }
  c.tensor[id] = n.name;
}

void matmul(Context& c, int id, const Node& n, const json&) {
  std::vector<std::string> inputs{c.in(n, 0), c.in(n, 1)};
  if (c.in_shape(n, 0).size() == 2) {
    if (n.inputs.size() == 3) inputs.push_back(c.in(n, 2));
    c.emit(n, "Gemm", inputs);
  } else if (n.inputs.size() == 3) {
    c.emit(n, "MatMul", inputs, n.name + "/matmul");
    c.emit(n, "Add", {n.name + "/matmul", c.in(n, 2)});
  } else {
    c.emit(n, "MatMul", inputs);
  }
  c.tensor[id] = n.name;
}

// One ONNX op with the same inputs and no attributes.
Emitter same(const std::string& op_type) {
  return [op_type](Context& c, int id, const Node& n, const json&) {
    std::vector<std::string> inputs;
    for (size_t i = 0; i < n.inputs.size(); ++i) inputs.push_back(c.in(n, i));
    c.emit(n, op_type, inputs);
    c.tensor[id] = n.name;
  };
}

// One ONNX op with one float attribute read from the xgrad attribute `attr`.
Emitter with_float(const std::string& op_type, const std::string& attr, const std::string& onnx_attr,
                   float fallback) {
  return [=](Context& c, int id, const Node& n, const json& attrs) {
    const float v = attrs.contains(attr) ? attrs[attr].get<float>() : fallback;
    set_attr(c.emit(n, op_type, {c.in(n, 0)}), onnx_attr, v);
    c.tensor[id] = n.name;
  };
}

// x (op) constant: scale -> Mul, add_scalar -> Add.
Emitter with_scalar(const std::string& op_type, const std::string& attr) {
  return [=](Context& c, int id, const Node& n, const json& attrs) {
    c.emit(n, op_type, {c.in(n, 0), c.constant(n, attr, scalar(attrs.at(attr).get<float>()))});
    c.tensor[id] = n.name;
  };
}

// softmax/log_softmax over one axis; before opset 13 ONNX flattens to 2-D from the axis, which is
// the same only for the last axis.
Emitter softmax(const std::string& op_type) {
  return [op_type](Context& c, int id, const Node& n, const json& attrs) {
    const int64_t rank = int64_t(c.in_shape(n, 0).size());
    int64_t axis = attrs.contains("axis") ? attrs["axis"].get<int64_t>() : -1;
    if (axis < 0) axis += rank;
    if (c.opset < 13 && axis != rank - 1)
      throw Error("softmax over axis " + std::to_string(axis) + " of " + std::to_string(rank) +
                  " has no exact form before opset 13 (use --opset 13 or newer)");
    set_attr(c.emit(n, op_type, {c.in(n, 0)}), "axis", axis);
    c.tensor[id] = n.name;
  };
}

// 0.5 x (1 + erf(x / sqrt 2)), or with approximate "tanh": 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
// ONNX has Gelu only from opset 20.
void gelu(Context& c, int id, const Node& n, const json& attrs) {
  const std::string x = c.in(n, 0), p = n.name + "/";
  const bool tanh_form = attrs.contains("approximate") && attrs["approximate"] == "tanh";
  if (tanh_form) {
    c.emit(n, "Mul", {x, x}, p + "x2");
    c.emit(n, "Mul", {p + "x2", x}, p + "x3");
    c.emit(n, "Mul", {p + "x3", c.constant(n, "c", scalar(0.044715f))}, p + "cx3");
    c.emit(n, "Add", {x, p + "cx3"}, p + "inner");
    c.emit(n, "Mul", {p + "inner", c.constant(n, "k", scalar(float(std::sqrt(2.0 / M_PI))))}, p + "scaled");
    c.emit(n, "Tanh", {p + "scaled"}, p + "t");
  } else {
    c.emit(n, "Mul", {x, c.constant(n, "inv_sqrt2", scalar(float(M_SQRT1_2)))}, p + "scaled");
    c.emit(n, "Erf", {p + "scaled"}, p + "t");
  }
  c.emit(n, "Add", {p + "t", c.constant(n, "one", scalar(1.0f))}, p + "one_plus");
  c.emit(n, "Mul", {x, p + "one_plus"}, p + "x_one_plus");
  c.emit(n, "Mul", {p + "x_one_plus", c.constant(n, "half", scalar(0.5f))});
  c.tensor[id] = n.name;
}

void silu(Context& c, int id, const Node& n, const json&) {
  c.emit(n, "Sigmoid", {c.in(n, 0)}, n.name + "/sigmoid");
  c.emit(n, "Mul", {c.in(n, 0), n.name + "/sigmoid"});
  c.tensor[id] = n.name;
}

void square(Context& c, int id, const Node& n, const json&) {
  c.emit(n, "Mul", {c.in(n, 0), c.in(n, 0)});
  c.tensor[id] = n.name;
}

void clip(Context& c, int id, const Node& n, const json& attrs) {
  c.emit(n, "Clip",
         {c.in(n, 0), c.constant(n, "min", scalar(attrs.at("min").get<float>())),
          c.constant(n, "max", scalar(attrs.at("max").get<float>()))});
  c.tensor[id] = n.name;
}

void reduce(Context& c, int id, const Node& n, const std::string& op_type) {
  set_attr(c.emit(n, op_type, {c.in(n, 0)}), "keepdims", int64_t(0));
  c.tensor[id] = n.name;
}

void flatten(Context& c, int id, const Node& n, const json&) {
  set_attr(c.emit(n, "Flatten", {c.in(n, 0)}), "axis", int64_t(1));
  c.tensor[id] = n.name;
}

// xgrad's per-sample shape; ONNX's 0 copies the batch dimension.
void reshape(Context& c, int id, const Node& n, const json& attrs) {
  std::vector<int64_t> shape{0};
  for (const auto& d : attrs.at("shape")) shape.push_back(d.get<int64_t>());
  c.emit(n, "Reshape", {c.in(n, 0), c.int_constant(n, "shape", shape)});
  c.tensor[id] = n.name;
}

// Inference form: (x - mean) / sqrt(var + eps) * gamma + beta. ONNX's momentum weighs the old
// running value, xgrad's (PyTorch's) the new batch statistic.
void batch_norm(Context& c, int id, const Node& n, const json& attrs) {
  std::vector<std::string> inputs;
  for (size_t i = 0; i < 5; ++i) inputs.push_back(c.in(n, i));
  const bool relu = attrs.value("activation", "none") == "relu";  // then BatchNormalization, Relu
  auto& node = c.emit(n, "BatchNormalization", inputs, relu ? n.name + ".bn" : "");
  set_attr(node, "epsilon", attrs.contains("epsilon") ? attrs["epsilon"].get<float>() : 1e-5f);
  set_attr(node, "momentum", 1.0f - (attrs.contains("momentum") ? attrs["momentum"].get<float>() : 0.1f));
  if (relu) c.emit(n, "Relu", {n.name + ".bn"});
  c.tensor[id] = n.name;
}

// A fused relu (a residual block's add then relu) is ONNX's Add then Relu.
void add(Context& c, int id, const Node& n, const json& attrs) {
  const bool relu = attrs.value("activation", "none") == "relu";
  c.emit(n, "Add", {c.in(n, 0), c.in(n, 1)}, relu ? n.name + ".add" : "");
  if (relu) c.emit(n, "Relu", {n.name + ".add"});
  c.tensor[id] = n.name;
}

void concat(Context& c, int id, const Node& n, const json& attrs) {
  std::vector<std::string> inputs;
  for (size_t i = 0; i < n.inputs.size(); ++i) inputs.push_back(c.in(n, i));
  set_attr(c.emit(n, "Concat", inputs), "axis", attrs.contains("axis") ? attrs["axis"].get<int64_t>() : 1);
  c.tensor[id] = n.name;
}

}  // namespace

const std::map<std::string, Emitter>& emitters() {
  static const std::map<std::string, Emitter> table = {
      {"conv2d", conv2d},
      {"max_pool2d", [](Context& c, int id, const Node& n, const json& a) { pool(c, id, n, a, "MaxPool"); }},
      {"avg_pool2d",
       [](Context& c, int id, const Node& n, const json& a) { pool(c, id, n, a, "AveragePool"); }},
      {"global_avg_pool2d",
       [](Context& c, int id, const Node& n, const json&) { global_pool(c, id, n, "GlobalAveragePool"); }},
      {"global_max_pool2d",
       [](Context& c, int id, const Node& n, const json&) { global_pool(c, id, n, "GlobalMaxPool"); }},
      {"matmul", matmul},
      {"add", add},
      {"sub", same("Sub")},
      {"mul", same("Mul")},
      {"div", same("Div")},
      {"neg", same("Neg")},
      {"exp", same("Exp")},
      {"log", same("Log")},
      {"sqrt", same("Sqrt")},
      {"abs", same("Abs")},
      {"sigmoid", same("Sigmoid")},
      {"relu", same("Relu")},
      {"tanh", same("Tanh")},
      {"softplus", same("Softplus")},
      {"square", square},
      {"silu", silu},
      {"gelu", gelu},
      {"leaky_relu", with_float("LeakyRelu", "alpha", "alpha", 0.01f)},
      {"elu", with_float("Elu", "alpha", "alpha", 1.0f)},
      {"clip", clip},
      {"scale", with_scalar("Mul", "factor")},
      {"add_scalar", with_scalar("Add", "value")},
      {"sum", [](Context& c, int id, const Node& n, const json&) { reduce(c, id, n, "ReduceSum"); }},
      {"mean", [](Context& c, int id, const Node& n, const json&) { reduce(c, id, n, "ReduceMean"); }},
      {"flatten", flatten},
      {"reshape", reshape},
      {"softmax", softmax("Softmax")},
      {"log_softmax", softmax("LogSoftmax")},
      {"batch_norm", batch_norm},
      {"dropout", [](Context& c, int id, const Node& n, const json&) { c.tensor[id] = c.in(n, 0); }},
      {"concat", concat},
  };
  return table;
}

}  // namespace xgrad::onnx_export
#endif
