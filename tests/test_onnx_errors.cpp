// ONNX import of bad files: corrupt or truncated protobuf, missing initializers, unsupported ops
// and attributes, wrong shapes. Each is one Error naming the file and, past parsing, the node and
// its op type.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include "core/error.h"
#include "graph/limits.h"
#include "graph/onnx.h"
#include "models/lenet.h"
#include "tests/test_onnx_reference.h"

using namespace xgrad;
using onnx_proto::set_attr;
using test::OnnxFile;

namespace {

std::string onnx_import_error(const std::string& bytes) {
  try {
    onnx_import_bytes(bytes, "bad.onnx");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// x [N, 3, 4, 4] -> `op` with the given attributes -> y.
OnnxFile one_node(
    const std::string& op, const std::vector<std::string>& inputs,
    const std::function<void(onnx::NodeProto&)>& attrs = [](onnx::NodeProto&) {}) {
  OnnxFile f(13);
  f.input("x", {-1, 3, 4, 4});
  attrs(f.node(op, inputs, "y"));
  f.output("y", {-1, 3, 4, 4});
  return f;
}

}  // namespace

TEST_CASE("onnx import errors: not protobuf, truncated, or not a valid model") {
  CHECK(onnx_import_error("this is not a protobuf") ==
        "bad.onnx: not an ONNX model (the protobuf is truncated or corrupt)");
  const Graph g = lenet("relu");
  Rng rng(0);
  const std::string bytes = onnx_export_bytes(g, init_params(g, rng), json::object());
  for (size_t cut : {size_t(1), bytes.size() / 10, bytes.size() / 2, bytes.size() - 1}) {
    INFO("cut at ", cut);
    const std::string msg = onnx_import_error(bytes.substr(0, cut));
    CHECK(msg.rfind("bad.onnx: ", 0) == 0);
    CHECK(msg != "(no error)");
  }
  CHECK(onnx_import_error("") ==
        "bad.onnx: not a valid ONNX model: The model does not have an ir_version set properly.");
}

TEST_CASE("onnx import errors: missing initializers and weights that are not constants") {
  OnnxFile missing = one_node("Conv", {"x", "w"});
  CHECK(onnx_import_error(missing.bytes())
            .find("bad.onnx: not a valid ONNX model: Nodes in a graph must be "
                  "topologically sorted, however input 'w'") == 0);
  OnnxFile computed = one_node("Conv", {"x", "x"});
  CHECK(onnx_import_error(computed.bytes()) ==
        "bad.onnx: node 0 \"y_node\" (Conv): input 1 (\"x\") must be a constant (an initializer or folded "
        "plumbing)");
}

TEST_CASE("onnx import errors: unsupported ops and attributes name the node and op type") {
  CHECK(onnx_import_error(one_node("LRN", {"x"}, [](onnx::NodeProto& n) {
                            set_attr(n, "size", int64_t(3));
                          }).bytes()) == "bad.onnx: node 0 \"y_node\" (LRN): op type not supported by xgrad");
  CHECK(onnx_import_error(one_node("Erf", {"x"}).bytes()) ==
        "bad.onnx: node 0 \"y_node\" (Erf): Erf is only supported as part of GELU, 0.5 x (1 + erf(x / "
        "sqrt(2)))");
  OnnxFile pad = one_node("Pad", {"x", "pads"});
  pad.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  CHECK(onnx_import_error(pad.bytes()).find("(Pad): non-zero pads") != std::string::npos);
  auto avg = [](onnx::NodeProto& n) {
    set_attr(n, "kernel_shape", std::vector<int64_t>{3, 3});
    set_attr(n, "pads", std::vector<int64_t>{1, 1, 1, 1});
    set_attr(n, "count_include_pad", int64_t(1));
  };
  CHECK(onnx_import_error(one_node("AveragePool", {"x"}, avg).bytes())
            .find("(AveragePool): count_include_pad = 1") != std::string::npos);
  auto lower = [](onnx::NodeProto& n) {
    set_attr(n, "kernel_shape", std::vector<int64_t>{2, 2});
    set_attr(n, "auto_pad", std::string("SAME_LOWER"));
  };
  CHECK(
      onnx_import_error(one_node("MaxPool", {"x"}, lower).bytes()) ==
      "bad.onnx: node 0 \"y_node\" (MaxPool): pads [1, 1, 0, 0] are asymmetric and not TensorFlow's \"same\" "
      "([0, 0, 1, 1]): xgrad has no such padding");
  OnnxFile old(9);
  old.input("x", {-1, 3});
  old.node("Relu", {"x"}, "y");
  old.output("y", {-1, 3});
  CHECK(onnx_import_error(old.bytes()) == "bad.onnx: opset 9 (xgrad reads opsets 11 to 17)");
}

TEST_CASE("onnx import errors: wrong shapes and inputs") {
  Rng rng(1);
  OnnxFile gemm(13);
  gemm.input("x", {-1, 4});
  gemm.initializer("w", test::random_tensor({5, 3}, rng));
  gemm.node("Gemm", {"x", "w"}, "y");
  gemm.output("y", {-1, 3});
  const std::string msg = onnx_import_error(gemm.bytes());
  CHECK(msg.find("bad.onnx: node 0 \"y_node\" (Gemm): ") == 0);
  CHECK(msg.find("[-1, 4]") != std::string::npos);
  CHECK(msg.find("[5, 3]") != std::string::npos);
  OnnxFile symbolic(13);
  *symbolic.model().mutable_graph()->add_input() = onnx_proto::value_info("x", {-1, 3});
  symbolic.model()
      .mutable_graph()
      ->mutable_input(0)
      ->mutable_type()
      ->mutable_tensor_type()
      ->mutable_shape()
      ->mutable_dim(1)
      ->set_dim_param("C");
  symbolic.node("Relu", {"x"}, "y");
  symbolic.output("y", {-1, 3});
  CHECK(onnx_import_error(symbolic.bytes()) ==
        "bad.onnx: graph input \"x\": dimension 1 is not a fixed size (only the batch may vary)");
  OnnxFile reshape(13);
  reshape.input("x", {-1, 6});
  reshape.ints("target", {3, -1});
  reshape.node("Reshape", {"x", "target"}, "y");
  reshape.output("y", {3, -1});
  CHECK(onnx_import_error(reshape.bytes()).find("does not keep the batch dimension") != std::string::npos);
  OnnxFile raw(13);
  raw.input("x", {-1, 2});
  raw.initializer("w", test::random_tensor({2, 2}, rng));
  raw.model().mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(7);
  raw.node("MatMul", {"x", "w"}, "y");
  raw.output("y", {-1, 2});
  CHECK(onnx_import_error(raw.bytes()) ==
        "bad.onnx: initializer \"w\": tensor \"w\": raw_data has 7 bytes, its dims need 16");
}
TEST_CASE("onnx import errors: more nodes than kMaxGraphNodes, refused before any is built") {
  onnx::ModelProto m;
  for (size_t i = 0; i <= kMaxGraphNodes; ++i) m.mutable_graph()->add_node()->set_op_type("Relu");
  CHECK(onnx_import_error(m.SerializeAsString()) ==
        "bad.onnx: graph: " + std::to_string(kMaxGraphNodes + 1) +
            " inputs, initializers and nodes, more than the limit of " + std::to_string(kMaxGraphNodes));
}

#endif
