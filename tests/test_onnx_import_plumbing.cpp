// ONNX import of what exporters write around the compute ops: PyTorch's x.view(x.size(0), -1)
// shape chain, constants, identities, zero pads, fixed batch sizes, the Erf-based GELU, concat,
// softmax before and after opset 13, batch norm and dropout in inference form.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "graph/onnx.h"
#include "tests/test_onnx_reference.h"

using namespace xgrad;
using onnx_proto::set_attr;
using test::OnnxFile;

namespace {

// x [N, 2, 3, 3] -> Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) -> Gemm -> y [N, 4].
OnnxFile view_chain_file(Rng& rng, int opset) {
  OnnxFile f(opset);
  f.input("x", {-1, 2, 3, 3});
  f.node("Shape", {"x"}, "shape");
  f.constant_ints("zero", {0}, {});
  set_attr(f.node("Gather", {"shape", "zero"}, "batch"), "axis", int64_t(0));
  if (opset < 13) {
    set_attr(f.node("Unsqueeze", {"batch"}, "batch1"), "axes", std::vector<int64_t>{0});
  } else {
    f.constant_ints("axes", {0}, {1});
    f.node("Unsqueeze", {"batch", "axes"}, "batch1");
  }
  f.constant_ints("minus_one", {-1}, {1});
  set_attr(f.node("Concat", {"batch1", "minus_one"}, "target"), "axis", int64_t(0));
  f.node("Reshape", {"x", "target"}, "flat");
  f.initializer("fc.weight", test::random_tensor({4, 18}, rng));
  set_attr(f.node("Gemm", {"flat", "fc.weight"}, "y"), "transB", int64_t(1));
  f.output("y", {-1, 4});
  return f;
}

}  // namespace

TEST_CASE(
    "onnx import: the Shape/Gather/Unsqueeze/Concat chain of x.view(x.size(0), -1) folds into a reshape") {
  Rng rng(5);
  for (int opset : {11, 13, 17}) {
    INFO("opset ", opset);
    OnnxFile f = view_chain_file(rng, opset);
    const Model m = test::check_import(f, test::random_tensor({3, 2, 3, 3}, rng));
    CHECK(m.graph.find("shape") < 0);  // the plumbing is folded away
    CHECK(m.graph.node(m.graph.id("flat")).op->type() == "reshape");
  }
}

TEST_CASE("onnx import: Constant, Identity, Cast, zero Pad and Dropout pass values through") {
  Rng rng(6);
  OnnxFile f(13);
  f.input("x", {-1, 2, 4, 4});
  f.node("Identity", {"x"}, "a");
  set_attr(f.node("Cast", {"a"}, "b"), "to", int64_t(onnx::TensorProto::FLOAT));
  f.constant_ints("pads", {0, 0, 0, 0, 0, 0, 0, 0}, {8});
  f.node("Pad", {"b", "pads"}, "c");
  f.node("Dropout", {"c"}, "d");
  f.constant("w", test::random_tensor({3, 2, 3, 3}, rng));  // weights given as a Constant node
  f.node("Conv", {"d", "w"}, "y");
  f.output("y", {-1, 3, 2, 2});
  const Model m = test::check_import(f, test::random_tensor({2, 2, 4, 4}, rng));
  CHECK(m.graph.size() == 3);  // x, w, y
}

TEST_CASE("onnx import: a fixed batch size (PyTorch's default export) becomes a dynamic batch") {
  Rng rng(7);
  OnnxFile f(13);
  f.input("x", {2, 3, 2, 2});
  f.ints("target", {2, -1});
  f.node("Reshape", {"x", "target"}, "flat");
  f.initializer("w", test::random_tensor({12, 5}, rng));
  f.node("MatMul", {"flat", "w"}, "y");
  f.output("y", {2, 5});
  const Model m = test::check_import(f, test::random_tensor({2, 3, 2, 2}, rng));
  CHECK(m.graph.node(m.graph.inputs()[0]).info.shape == Shape{-1, 3, 2, 2});
}

TEST_CASE("onnx import: Erf-based GELU as PyTorch and tf2onnx write it becomes one gelu node") {
  if (!test::has_ops({"gelu", "scale"})) return;
  Rng rng(8);
  OnnxFile torch(13);  // x * (1 + erf(x / sqrt 2)) * 0.5
  torch.input("x", {-1, 5});
  torch.constant("sqrt2", make_tensor({}, 1.4142135f));
  torch.node("Div", {"x", "sqrt2"}, "scaled");
  torch.node("Erf", {"scaled"}, "erf");
  torch.constant("one", make_tensor({}, 1.0f));
  torch.node("Add", {"erf", "one"}, "one_plus");
  torch.node("Mul", {"x", "one_plus"}, "x_one_plus");
  torch.constant("half", make_tensor({}, 0.5f));
  torch.node("Mul", {"x_one_plus", "half"}, "y");
  torch.output("y", {-1, 5});
  const Tensor x = test::random_tensor({3, 5}, rng) * 3.0f;
  Model m = test::check_import(torch, x);
  CHECK(m.graph.size() == 2);
  CHECK(m.graph.node(1).op->type() == "gelu");
  OnnxFile tf(13);  // (0.5 x) * (1 + erf(x * (1 / sqrt 2))), constants as initializers
  tf.input("x", {-1, 5});
  tf.initializer("half", make_tensor({}, 0.5f));
  tf.node("Mul", {"half", "x"}, "half_x");
  tf.initializer("inv_sqrt2", make_tensor({}, 0.70710677f));
  tf.node("Mul", {"x", "inv_sqrt2"}, "scaled");
  tf.node("Erf", {"scaled"}, "erf");
  tf.initializer("one", make_tensor({}, 1.0f));
  tf.node("Add", {"one", "erf"}, "one_plus");
  tf.node("Mul", {"half_x", "one_plus"}, "y");
  tf.output("y", {-1, 5});
  m = test::check_import(tf, x);
  CHECK(m.graph.size() == 2);
}

TEST_CASE("onnx import: Concat of two branches, softmax at opset 11 and 13") {
  if (!test::has_ops({"concat"})) return;
  Rng rng(9);
  OnnxFile f(11);
  f.input("x", {-1, 2, 4, 4});
  f.initializer("w1", test::random_tensor({3, 2, 1, 1}, rng));
  f.initializer("w2", test::random_tensor({1, 2, 3, 3}, rng));
  f.node("Conv", {"x", "w1"}, "a");
  set_attr(f.node("Conv", {"x", "w2"}, "b"), "pads", std::vector<int64_t>{1, 1, 1, 1});
  set_attr(f.node("Concat", {"a", "b"}, "cat"), "axis", int64_t(1));
  f.node("Flatten", {"cat"}, "flat");
  set_attr(f.node("Softmax", {"flat"}, "y"), "axis", int64_t(1));
  f.output("y", {-1, 64});
  const Model m = test::check_import(f, test::random_tensor({2, 2, 4, 4}, rng));
  CHECK(m.graph.has_output("probs"));
  CHECK(!m.graph.has_output("loss"));
}

TEST_CASE("onnx import: BatchNormalization in inference form, running statistics not trained") {
  if (!test::has_ops({"batch_norm"})) return;
  Rng rng(10);
  OnnxFile f(13);
  f.input("x", {-1, 3, 2, 2});
  f.initializer("bn.weight", test::random_tensor({3}, rng));
  f.initializer("bn.bias", test::random_tensor({3}, rng));
  f.initializer("bn.running_mean", test::random_tensor({3}, rng));
  f.initializer("bn.running_var", test::random_tensor({3}, rng) + 1.5f);
  auto& n =
      f.node("BatchNormalization", {"x", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}, "y");
  set_attr(n, "epsilon", 1e-3f);
  f.output("y", {-1, 3, 2, 2});
  const Model m = test::check_import(f, test::random_tensor({2, 3, 2, 2}, rng));
  CHECK(m.weights.count("bn.running_mean"));
  for (int id : m.graph.params()) CHECK(m.graph.node(id).name.find("running") == std::string::npos);
}
#endif
