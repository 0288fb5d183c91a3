// ONNX import: files written here through ONNX's own classes, one per supported op and exporter
// plumbing pattern, import to graphs computing what the tests' reference evaluator computes, and
// export back to files that compute it too.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "core/error.h"
#include "graph/onnx.h"
#include "ops/registry.h"
#include "tests/test_onnx_reference.h"

using namespace xgrad;
using onnx_proto::set_attr;
using test::OnnxFile;

using test::has_ops;

namespace {

// x [N, 3, 6, 6] -> one node with a weight "w" -> y.
OnnxFile conv_file(Rng& rng, const Shape& w, const Shape& y,
                   const std::function<void(onnx::NodeProto&)>& attrs, int opset = 13) {
  OnnxFile f(opset);
  f.input("x", {-1, 3, 6, 6});
  f.initializer("w", test::random_tensor(w, rng));
  f.initializer("b", test::random_tensor({w[0]}, rng));
  attrs(f.node("Conv", {"x", "w", "b"}, "y"));
  f.output("y", y);
  return f;
}

}  // namespace

TEST_CASE("onnx import: Conv with strides, dilations, pads and auto_pad") {
  Rng rng(1);
  const Tensor x = test::random_tensor({2, 3, 6, 6}, rng);
  OnnxFile plain = conv_file(rng, {4, 3, 3, 3}, {-1, 4, 4, 4}, [](onnx::NodeProto&) {});
  const Model m = test::check_import(plain, x);
  CHECK(m.graph.find("w") >= 0);  // params keep the initializers' names
  CHECK(m.weights.count("b"));
  OnnxFile strided = conv_file(rng, {2, 3, 3, 3}, {-1, 2, 3, 2}, [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{2, 3});
    set_attr(n, "pads", std::vector<int64_t>{1, 0, 1, 0});
  });
  test::check_import(strided, x);
  OnnxFile dilated = conv_file(rng, {2, 3, 2, 2}, {-1, 2, 4, 4}, [](onnx::NodeProto& n) {
    set_attr(n, "dilations", std::vector<int64_t>{2, 2});
  });
  test::check_import(dilated, x);
  OnnxFile same = conv_file(rng, {2, 3, 3, 3}, {-1, 2, 3, 3}, [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{2, 2});
    set_attr(n, "auto_pad", std::string("SAME_UPPER"));
  });
  test::check_import(same, x);
  // TensorFlow's asymmetric "same" written as explicit pads (tf2onnx does this).
  OnnxFile tf_same = conv_file(rng, {2, 3, 3, 3}, {-1, 2, 3, 3}, [](onnx::NodeProto& n) {
    set_attr(n, "strides", std::vector<int64_t>{2, 2});
    set_attr(n, "pads", std::vector<int64_t>{0, 0, 1, 1});
  });
  test::check_import(tf_same, x);
  if (registry().make("conv2d")->attrs().contains("groups")) {
    OnnxFile f(13);
    f.input("x", {-1, 4, 5, 5});
    f.initializer("w", test::random_tensor({6, 2, 3, 3}, rng));
    set_attr(f.node("Conv", {"x", "w"}, "y"), "group", int64_t(2));
    f.output("y", {-1, 6, 3, 3});
    test::check_import(f, test::random_tensor({2, 4, 5, 5}, rng));
  }
}

TEST_CASE("onnx import: pools, global pools and ReduceMean over H, W") {
  Rng rng(2);
  const Tensor x = test::random_tensor({2, 3, 6, 6}, rng);
  auto pool = [&](const std::string& op, const std::function<void(onnx::NodeProto&)>& attrs, const Shape& y) {
    OnnxFile f(13);
    f.input("x", {-1, 3, 6, 6});
    auto& n = f.node(op, {"x"}, "y");
    set_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    attrs(n);
    f.output("y", y);
    test::check_import(f, x);
  };
  pool("MaxPool",
       [](onnx::NodeProto& n) {
         set_attr(n, "strides", std::vector<int64_t>{2, 2});
       },
       {-1, 3, 2, 2});
  pool("MaxPool",
       [](onnx::NodeProto& n) {
         set_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
       },
       {-1, 3, 6, 6});
  pool("AveragePool",
       [](onnx::NodeProto& n) {
         set_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
       },
       {-1, 3, 6, 6});
  pool("AveragePool",
       [](onnx::NodeProto& n) {
         set_attr(n, "strides", std::vector<int64_t>{2, 2});
         set_attr(n, "auto_pad", std::string("SAME_UPPER"));
       },
       {-1, 3, 3, 3});
  if (!has_ops({"global_avg_pool2d", "global_max_pool2d"})) return;
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    OnnxFile f(13);
    f.input("x", {-1, 3, 6, 6});
    f.node(op, {"x"}, "y");
    f.output("y", {-1, 3, 1, 1});
    test::check_import(f, x);
  }
  for (int64_t keep : {0, 1}) {
    OnnxFile f(13);
    f.input("x", {-1, 3, 6, 6});
    auto& n = f.node("ReduceMean", {"x"}, "y");
    set_attr(n, "axes", std::vector<int64_t>{-1, 2});
    set_attr(n, "keepdims", keep);
    f.output("y", keep ? Shape{-1, 3, 1, 1} : Shape{-1, 3});
    test::check_import(f, x);
  }
}

TEST_CASE("onnx import: Gemm (transB, alpha, beta), MatMul + Add, and the Flatten/Reshape before them") {
  Rng rng(3);
  const Tensor x = test::random_tensor({2, 2, 3, 2}, rng);
  OnnxFile f(13);
  f.input("x", {-1, 2, 3, 2});
  f.node("Flatten", {"x"}, "flat");
  f.initializer("fc.weight", test::random_tensor({5, 12}, rng));
  f.initializer("fc.bias", test::random_tensor({5}, rng));
  auto& g = f.node("Gemm", {"flat", "fc.weight", "fc.bias"}, "h");
  set_attr(g, "transB", int64_t(1));
  set_attr(g, "alpha", 0.5f);
  set_attr(g, "beta", 2.0f);
  f.initializer("w2", test::random_tensor({5, 4}, rng));
  f.initializer("b2", test::random_tensor({4}, rng));
  f.node("MatMul", {"h", "w2"}, "mm");
  f.node("Add", {"mm", "b2"}, "y");
  f.output("y", {-1, 4});
  const Model m = test::check_import(f, x);
  CHECK(m.graph.node(m.graph.output("logits")).op->type() == "matmul");  // the bias folded in
  CHECK(m.graph.node(m.graph.id("fc.weight")).info.shape == Shape{12, 5});
}

TEST_CASE("onnx import: activations and elementwise ops") {
  Rng rng(4);
  const Tensor x = test::random_tensor({2, 6}, rng);
  struct Case {
    const char* op;
    const char* xgrad_op;
    std::function<void(onnx::NodeProto&)> attrs;
  };
  const auto none = [](onnx::NodeProto&) {};
  const std::vector<Case> cases = {
      {"Relu", "relu", none},
      {"Sigmoid", "sigmoid", none},
      {"Tanh", "tanh", none},
      {"Softplus", "softplus", none},
      {"Abs", "abs", none},
      {"Neg", "neg", none},
      {"Exp", "exp", none},
      {"LeakyRelu", "leaky_relu", [](onnx::NodeProto& n) { set_attr(n, "alpha", 0.2f); }},
      {"Elu", "elu", [](onnx::NodeProto& n) { set_attr(n, "alpha", 0.7f); }},
      {"Softmax", "softmax", none},
      {"LogSoftmax", "log_softmax", none},
  };
  for (const Case& c : cases) {
    INFO("op ", std::string(c.op));
    if (!has_ops({c.xgrad_op})) continue;
    OnnxFile f(13);
    f.input("x", {-1, 6});
    c.attrs(f.node(c.op, {"x"}, "y"));
    f.output("y", {-1, 6});
    test::check_import(f, x);
  }
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    INFO("op ", std::string(op));
    const char* xgrad_op = op[0] == 'A' ? "add" : op[0] == 'S' ? "sub" : op[0] == 'M' ? "mul" : "div";
    if (!has_ops({xgrad_op, "scale", "add_scalar"})) continue;
    OnnxFile f(13);
    f.input("x", {-1, 6});
    f.node("Sigmoid", {"x"}, "r");  // never 0, so Div stays finite
    f.initializer("k", test::random_tensor({6}, rng) + 2.0f);
    f.constant("half", make_tensor({}, 0.5f));
    f.node(op, {"x", "k"}, "a");     // with a tensor constant: a param
    f.node(op, {"a", "half"}, "b");  // with a scalar: scale / add_scalar
    f.node(op, {"b", "r"}, "y");     // two computed values
    f.output("y", {-1, 6});
    test::check_import(f, x);
  }
}
#endif
