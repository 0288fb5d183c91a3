#ifdef XGRAD_WITH_ONNX
// Add, Sub, Mul, Div and Erf. Between two computed values: xgrad's broadcasting ops. With a scalar
// constant: scale / add_scalar. With a tensor constant: a param named after it (a MatMul + Add bias
// folds into the matmul). Erf only appears inside GELU, 0.5 x (1 + erf(x / sqrt 2)), whose stages are
// tracked until the expression is complete and becomes one gelu node.
#include <cmath>

#include "core/error.h"
#include "graph/onnx_import_detail.h"

namespace xgrad::onnx_import {
namespace {

bool near(double v, double want) { return std::fabs(v - want) <= 1e-6 * std::fabs(want); }

// `id` is scale{factor ~ f}(x): returns x, else -1.
int scaled_input(const Importer& im, int id, double f) {
  const Node& node = im.graph.node(id);
  if (!node.op || node.op->type() != "scale" || !near(node.op->attrs().at("factor").get<double>(), f))
    return -1;
  return node.inputs[0];
}

float scalar_of(const Const& c) { return float(c.values.at(0)); }

// a (op) b with one side constant; `swapped` says the constant was the first operand.
Value with_constant(Importer& im, const onnx::NodeProto& n, int x, const Const& c, bool swapped) {
  const std::string& type = n.op_type();
  const std::string& y = n.output(0);
  if (c.scalar()) {  // a fixed factor or offset, even when stored as an initializer
    const float v = scalar_of(c);
    if (type == "Add") return computed(im.op(y, "add_scalar", {x}, {{"value", v}}));
    if (type == "Mul") return computed(im.op(y, "scale", {x}, {{"factor", v}}));
    if (type == "Sub" && !swapped) return computed(im.op(y, "add_scalar", {x}, {{"value", -v}}));
    if (type == "Sub")
      return computed(im.op(y, "add_scalar", {im.op(y + "/neg", "neg", {x})}, {{"value", v}}));
    if (type == "Div" && !swapped) return computed(im.op(y, "scale", {x}, {{"factor", 1.0f / v}}));
  }
  const int p = im.param(c, to_tensor(c), y + ".c");  // adds a node: take references into the graph after it
  const Node& xn = im.graph.node(x);
  // MatMul then Add of a bias [M]: one matmul with a bias, as Gemm would have been.
  if (type == "Add" && xn.op && xn.op->type() == "matmul" && xn.inputs.size() == 2 && c.dims.size() == 1 &&
      c.dims[0] == im.shape(x).back())
    return computed(im.op(y, "matmul", {xn.inputs[0], xn.inputs[1], p}));
  static const std::map<std::string, std::string> ops{
      {"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"}, {"Div", "div"}};
  return computed(im.op(y, ops.at(type), swapped ? std::vector<int>{p, x} : std::vector<int>{x, p}));
}

// The next GELU stage from a stage and the other operand, or none (an error).
Value gelu_step(Importer& im, const onnx::NodeProto& n, const Value& stage, const Value& other) {
  const std::string& type = n.op_type();
  const int x = stage.x;
  if (stage.stage == GeluStage::Erf && type == "Add" && other.constant() && other.c.scalar() &&
      scalar_of(other.c) == 1.0f)
    return gelu_stage(GeluStage::OnePlusErf, x);
  if (stage.stage == GeluStage::OnePlusErf && type == "Mul" && other.id == x)
    return gelu_stage(GeluStage::XOnePlusErf, x);
  if (stage.stage == GeluStage::OnePlusErf && type == "Mul" && other.id >= 0 &&
      scaled_input(im, other.id, 0.5) == x)
    return computed(im.op(n.output(0), "gelu", {x}, {{"approximate", "none"}}));
  if (stage.stage == GeluStage::XOnePlusErf && type == "Mul" && other.constant() && other.c.scalar() &&
      scalar_of(other.c) == 0.5f)
    return computed(im.op(n.output(0), "gelu", {x}, {{"approximate", "none"}}));
  throw Error("Erf is only supported as part of GELU, 0.5 x (1 + erf(x / sqrt(2)))");
}

void binary(Importer& im, const onnx::NodeProto& n) {
  const Value a = im.in(n, 0), b = im.in(n, 1);
  if (a.stage != GeluStage::None) return im.set(n, gelu_step(im, n, a, b));
  if (b.stage != GeluStage::None) return im.set(n, gelu_step(im, n, b, a));
  if (a.constant() && b.constant()) throw Error("arithmetic on two constants is not folded by xgrad");
  if (a.constant()) return im.set(n, with_constant(im, n, b.id, a.c, true));
  if (b.constant()) return im.set(n, with_constant(im, n, a.id, b.c, false));
  static const std::map<std::string, std::string> ops{
      {"Add", "add"}, {"Sub", "sub"}, {"Mul", "mul"}, {"Div", "div"}};
  im.set(n, im.op(n.output(0), ops.at(n.op_type()), {a.id, b.id}));
}

// erf(x / sqrt 2): the input is scale{1/sqrt 2}(x), made from Div(x, sqrt 2) or Mul(x, 1/sqrt 2).
void erf(Importer& im, const onnx::NodeProto& n) {
  const int x = scaled_input(im, im.node_in(n, 0), M_SQRT1_2);
  if (x < 0) throw Error("Erf is only supported as part of GELU, 0.5 x (1 + erf(x / sqrt(2)))");
  im.set(n, gelu_stage(GeluStage::Erf, x));
}

}  // namespace

void add_elementwise_converters(std::map<std::string, Converter>& t) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) t[op] = binary;
  t["Erf"] = erf;
}

}  // namespace xgrad::onnx_import
#endif
