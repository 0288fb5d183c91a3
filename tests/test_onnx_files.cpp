#ifdef XGRAD_WITH_ONNX
// The ONNX tests' file builder and checks (declared in test_onnx_reference.h).
#include <doctest/doctest.h>

#include <cmath>

#include "graph/engine.h"
#include "ops/registry.h"
#include "tests/test_onnx_reference.h"

namespace xgrad::test {

Tensor random_tensor(const Shape& s, Rng& rng) {
  Tensor t = make_tensor(s);
  for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
  return t;
}

bool has_ops(std::initializer_list<const char*> ops) {
  for (const char* op : ops)
    if (!registry().has(op)) {
      MESSAGE("skipped: this build has no op ", std::string(op));
      return false;
    }
  return true;
}

Model check_import(OnnxFile& f, const Tensor& x, const OnnxImportOptions& options) {
  const Tensor want = onnx_evaluate(f.model(), {{"x", x}}).at("y");
  Model m = onnx_import_bytes(f.bytes(), "t.onnx", options);
  Engine e(m.graph);
  const std::string input = m.graph.node(m.graph.inputs()[0]).name;
  e.forward({{input, x}}, m.weights, false);
  const int out_id = m.graph.has_output("logits") ? m.graph.output("logits") : m.graph.output("probs");
  check_close(e.value(out_id), want);
  onnx::ModelProto back;
  REQUIRE(back.ParseFromString(onnx_export_bytes(m.graph, m.weights, m.meta)));
  const std::string out = back.graph().output(0).name();
  check_close(onnx_evaluate(back, {{input, x}}).at(out), want);
  return m;
}

void check_close(const Tensor& got, const Tensor& want, float tol) {
  INFO("shapes ", to_string(shape_of(got)), " and ", to_string(shape_of(want)));
  REQUIRE(shape_of(got) == shape_of(want));
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element ", i, ": ", got.data()[i], " vs ", want.data()[i]);
    REQUIRE(std::fabs(got.data()[i] - want.data()[i]) <= tol * (1 + std::fabs(want.data()[i])));
  }
}

OnnxFile::OnnxFile(int opset) {
  m_.set_ir_version(opset <= 11 ? 6 : 7);
  auto* o = m_.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m_.set_producer_name("xgrad-tests");
  m_.mutable_graph()->set_name("test");
}

void OnnxFile::input(const std::string& name, const Shape& shape) {
  *m_.mutable_graph()->add_input() = onnx_proto::value_info(name, shape);
}

void OnnxFile::initializer(const std::string& name, const Tensor& t) {
  *m_.mutable_graph()->add_initializer() = onnx_proto::float_tensor(name, t);
}

void OnnxFile::ints(const std::string& name, const std::vector<int64_t>& values) {
  *m_.mutable_graph()->add_initializer() = onnx_proto::int64_tensor(name, values, {int64_t(values.size())});
}

void OnnxFile::constant(const std::string& name, const Tensor& t) {
  auto* a = node("Constant", {}, name).add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = onnx_proto::float_tensor("", t);
}

void OnnxFile::constant_ints(const std::string& name, const std::vector<int64_t>& values, const Shape& dims) {
  auto* a = node("Constant", {}, name).add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = onnx_proto::int64_tensor("", values, dims);
}

onnx::NodeProto& OnnxFile::node(const std::string& op_type, const std::vector<std::string>& inputs,
                                const std::string& output) {
  return *onnx_proto::add_node(*m_.mutable_graph(), op_type, inputs, {output}, output + "_node");
}

void OnnxFile::output(const std::string& name, const Shape& shape) {
  *m_.mutable_graph()->add_output() = onnx_proto::value_info(name, shape);
}

}  // namespace xgrad::test
#endif
