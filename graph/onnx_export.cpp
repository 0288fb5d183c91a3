#ifdef XGRAD_WITH_ONNX
// Graph -> ModelProto: the nodes the exported output depends on, in graph order (already
// topological), inputs with a symbolic batch "N", params and states as initializers.
#include <set>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/onnx.h"
#include "graph/onnx_export_detail.h"

namespace xgrad {
namespace {

using onnx_export::Context;

// The IR version each opset came with, so older runtimes accept the file.
int64_t ir_version(int opset) { return opset <= 11 ? 6 : opset <= 14 ? 7 : 8; }

std::string export_role(const Graph& g, const std::string& asked) {
  if (!asked.empty()) {
    if (asked != "logits" && asked != "probs")
      throw Error("output: expected \"logits\" or \"probs\", found \"" + asked + "\"");
    if (!g.has_output(asked)) throw Error("output: the model has no \"" + asked + "\" output");
    return asked;
  }
  if (g.has_output("logits")) return "logits";
  if (g.has_output("probs")) return "probs";
  throw Error("the model has neither a \"logits\" nor a \"probs\" output to export");
}

// Ids of the nodes `out` depends on (itself included).
std::set<int> needed_by(const Graph& g, int out) {
  std::set<int> needed{out};
  for (int id = out; id >= 0; --id)
    if (needed.count(id))
      for (int i : g.node(id).inputs) needed.insert(i);
  return needed;
}

void export_leaf(Context& c, int id, const Node& n, const Params& weights) {
  if (n.kind == NodeKind::Input) {
    if (n.info.dtype != DType::Float32)
      throw Error("input \"" + n.name + "\" holds " + dtype_name(n.info.dtype) +
                  " labels; only the inference path (float inputs) is exported");
    *c.out.add_input() = onnx_proto::value_info(n.name, n.info.shape);
  } else {
    const auto w = weights.find(n.name);
    if (w == weights.end())
      throw Error("\"" + n.name + "\" has no weights (export a trained model, or one with weights)");
    if (shape_of(w->second) != n.info.shape)
      throw Error("\"" + n.name + "\": weights of shape " + to_string(shape_of(w->second)) + ", expected " +
                  to_string(n.info.shape));
    *c.out.add_initializer() = onnx_proto::float_tensor(n.name, w->second);
  }
  c.tensor[id] = n.name;
}

[[noreturn]] void node_error(const Node& n, const std::string& what) {
  throw Error("node \"" + n.name + "\" (op " + std::string(n.op->type()) + "): " + what);
}

// Before anything is written, so a loss on the path is reported as such (not as its label input).
void check_exportable(const Graph& g, const std::set<int>& ids) {
  for (int id : ids)
    if (g.node(id).kind == NodeKind::Op && !onnx_export::emitters().count(std::string(g.node(id).op->type())))
      node_error(g.node(id), "no ONNX form for this op (only the inference path can be exported)");
}

void export_op(Context& c, int id, const Node& n) {
  try {
    onnx_export::emitters().at(std::string(n.op->type()))(c, id, n, n.op->attrs());
  } catch (const std::exception& e) {
    node_error(n, e.what());
  }
}

void set_header(onnx::ModelProto& m, const Graph& g, const json& meta, const std::string& role, int opset) {
  m.set_ir_version(ir_version(opset));
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.set_producer_name("xgrad");
  m.set_producer_version(XGRAD_VERSION);
  m.mutable_graph()->set_name(g.name());
  auto* p = m.add_metadata_props();
  p->set_key("xgrad.meta");
  p->set_value(dump_json(meta));
  p = m.add_metadata_props();
  p->set_key("xgrad.output");
  p->set_value(role);
}

}  // namespace

bool onnx_available() { return true; }

std::string onnx_export_bytes(const Graph& g, const Params& weights, const json& meta,
                              const OnnxExportOptions& options) {
  if (options.opset < kOnnxMinOpset || options.opset > kOnnxMaxOpset)
    throw Error("opset: expected " + std::to_string(kOnnxMinOpset) + " to " + std::to_string(kOnnxMaxOpset) +
                ", found " + std::to_string(options.opset));
  const std::string role = export_role(g, options.output);
  const int out = g.output(role);
  onnx::ModelProto m;
  set_header(m, g, meta, role, options.opset);
  Context c{*m.mutable_graph(), g, options.opset, {}};
  const std::set<int> needed = needed_by(g, out);
  check_exportable(g, needed);
  for (int id : needed) {
    const Node& n = g.node(id);
    if (n.kind == NodeKind::Op)
      export_op(c, id, n);
    else
      export_leaf(c, id, n, weights);
  }
  const Node& last = g.node(out);
  if (c.tensor.at(out) != last.name)
    onnx_proto::add_node(c.out, "Identity", {c.tensor.at(out)}, {last.name}, last.name);
  *c.out.add_output() = onnx_proto::value_info(last.name, last.info.shape);
  onnx_proto::check_and_infer(m);
  return m.SerializeAsString();
}

void export_onnx(const std::string& path, const Graph& g, const Params& weights, const json& meta,
                 const OnnxExportOptions& options) {
  std::string bytes;
  try {
    bytes = onnx_export_bytes(g, weights, meta, options);
  } catch (const std::exception& e) {
    rethrow_with_context(path, e);
  }
  write_file_atomic(path, bytes);
}

}  // namespace xgrad
#endif
