// ONNX export: every registered op (from the conformance sample cases) and whole models are written,
// pass ONNX's checker with full shape inference, and compute what xgrad computes according to the
// tests' own reference evaluator; losses and bad requests are clear errors.
#ifdef XGRAD_WITH_ONNX
#include <doctest/doctest.h>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "core/error.h"
#include "graph/engine.h"
#include "graph/onnx.h"
#include "models/lenet.h"
#include "ops/registry.h"
#include "tests/fixtures.h"
#include "tests/op_cases.h"
#include "tests/test_onnx_reference.h"

using namespace xgrad;
using test::OpCase;

namespace {

bool is_loss(const std::string& op) {
  return op == "softmax_cross_entropy" || op == "mse" || op == "sigmoid_cross_entropy";
}

// x (the case's first input, batch dimension made dynamic) -> op -> "logits"; the other inputs
// are params holding the sampled values.
struct CaseModel {
  Graph graph;
  Params weights;
  Feeds feeds;
};

CaseModel case_model(const std::string& op, const json& attrs, const std::vector<Tensor>& values,
                     const std::vector<DType>& dtypes, bool dynamic_batch) {
  CaseModel m{Graph(op), {}, {{"x", values[0]}}};
  const std::unique_ptr<Op> probe = registry().make(op, attrs);
  Shape x_shape = shape_of(values[0]);
  if (dynamic_batch) x_shape[0] = -1;
  std::vector<int> inputs{m.graph.add_input("x", x_shape)};
  for (size_t i = 1; i < values.size(); ++i) {
    const std::string name = "p" + std::to_string(i);
    if (dtypes[i] == DType::Int32) {
      inputs.push_back(m.graph.add_input(name, shape_of(values[i]), DType::Int32));
      m.feeds[name] = values[i];
    } else {
      inputs.push_back(probe->reads_state(i) ? m.graph.add_state(name, shape_of(values[i]), Init{"zeros"})
                                             : m.graph.add_param(name, shape_of(values[i]), Init{"zeros"}));
      m.weights[name] = values[i];
    }
  }
  m.graph.set_output("logits", m.graph.add_op("y", registry().make(op, attrs), inputs));
  return m;
}

// With a dynamic batch where the op allows it (not when a param has the same leading dimension).
CaseModel case_model(const OpCase& c, Rng& rng) {
  std::vector<DType> dtypes;
  const std::vector<Tensor> values = test::make_inputs(c, rng, dtypes);
  try {
    if (values[0].dimension() >= 2) return case_model(c.op, c.attrs, values, dtypes, true);
  } catch (const Error&) {
  }
  return case_model(c.op, c.attrs, values, dtypes, false);
}

onnx::ModelProto parsed(const std::string& bytes) {
  onnx::ModelProto m;
  REQUIRE(m.ParseFromString(bytes));
  return m;
}

// The library's own checker, then shape inference that must know every value's full shape.
void check_fully_inferred(onnx::ModelProto m) {
  onnx::checker::check_model(m);
  onnx::shape_inference::InferShapes(m, onnx::OpSchemaRegistry::Instance(), {true, 1, true});
  for (const auto& v : m.graph().value_info()) {
    INFO("value ", v.name());
    CHECK(v.type().tensor_type().has_shape());
  }
  for (const auto& n : m.graph().node()) {
    INFO("node ", n.name());
    bool found = false;
    for (const auto& v : m.graph().value_info()) found = found || v.name() == n.output(0);
    for (const auto& v : m.graph().output()) found = found || v.name() == n.output(0);
    CHECK(found);
  }
}

// Exports at `opset`, checks the file, evaluates it by the reference and compares with xgrad.
void check_export(const Graph& g, const Params& w, const Feeds& feeds, int opset, const std::string& role) {
  const onnx::ModelProto m = parsed(onnx_export_bytes(g, w, json::object(), {opset, role}));
  check_fully_inferred(m);
  Engine e(g);
  e.forward(feeds, w, false);
  const std::string out = g.node(g.output(role)).name;
  REQUIRE(m.graph().output_size() == 1);
  CHECK(m.graph().output(0).name() == out);
  test::check_close(test::onnx_evaluate(m, feeds).at(out), e.value(out));
}

}  // namespace

TEST_CASE("onnx export: every registered op's sample cases compute what xgrad computes") {
  Rng rng(7);
  std::set<std::string> covered;
  for (const OpCase& c : test::op_cases()) {
    INFO("case: ", c.label);
    CaseModel m = case_model(c, rng);
    if (is_loss(c.op)) {
      const std::string want = "node \"y\" (op " + c.op + "): no ONNX form";
      CHECK_THROWS_WITH_AS(onnx_export_bytes(m.graph, m.weights, json::object()),
                           doctest::Contains(want.c_str()), Error);
      continue;
    }
    const bool last_axis_only = c.op == "softmax" || c.op == "log_softmax";
    for (int opset : {kOnnxMinOpset, 13, kOnnxMaxOpset}) {
      INFO("opset ", opset);
      const Shape& x = shape_of(m.feeds.at("x"));
      const int64_t axis = c.attrs.value("axis", int64_t(-1));
      if (last_axis_only && opset < 13 && axis != -1 && axis != int64_t(x.size()) - 1) {
        CHECK_THROWS_WITH_AS(onnx_export_bytes(m.graph, m.weights, json::object(), {opset, ""}),
                             doctest::Contains("no exact form before opset 13"), Error);
        continue;
      }
      check_export(m.graph, m.weights, m.feeds, opset, "logits");
    }
    covered.insert(c.op);
  }
  for (const std::string& op : registry().names()) {
    INFO("op ", op);
    CHECK((covered.count(op) || is_loss(op)));
  }
}

TEST_CASE("onnx export: LeNet (sigmoid and relu) logits and probs, dynamic batch, names and metadata kept") {
  for (const char* act : {"sigmoid", "relu"}) {
    const Graph g = lenet(act);
    Rng rng(3);
    const Params w = init_params(g, rng);
    const Feeds feeds = test::random_image_batch(rng, 3);
    for (const char* role : {"logits", "probs"}) check_export(g, w, feeds, 13, role);
    const onnx::ModelProto m = parsed(onnx_export_bytes(g, w, json{{"accuracy", 0.5}}));
    CHECK(m.producer_name() == "xgrad");
    CHECK(m.graph().input_size() == 1);  // the label input is left out
    CHECK(m.graph().input(0).name() == "image");
    CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param() == "N");
    CHECK(m.graph().output(0).name() == "fc3");
    CHECK(m.graph().initializer_size() == 10);
    bool has_meta = false;
    for (const auto& p : m.metadata_props())
      has_meta = has_meta || (p.key() == "xgrad.meta" && json::parse(p.value()) == json{{"accuracy", 0.5}});
    CHECK(has_meta);
    for (const auto& n : m.graph().node()) CHECK(n.op_type() != "SoftmaxCrossEntropyLoss");
  }
}

TEST_CASE("onnx export: bad requests are clear errors") {
  const Graph g = lenet("sigmoid");
  Rng rng(1);
  Params w = init_params(g, rng);
  CHECK_THROWS_WITH_AS(onnx_export_bytes(g, w, json::object(), {10, ""}),
                       doctest::Contains("opset: expected 11 to 17"), Error);
  CHECK_THROWS_WITH_AS(onnx_export_bytes(g, w, json::object(), {13, "loss"}),
                       doctest::Contains("expected \"logits\" or \"probs\""), Error);
  w.erase("conv2.w");
  CHECK_THROWS_WITH_AS(onnx_export_bytes(g, w, json::object()),
                       doctest::Contains("\"conv2.w\" has no weights"), Error);
}
#endif
