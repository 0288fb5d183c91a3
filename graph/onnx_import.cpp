#ifdef XGRAD_WITH_ONNX
// ModelProto -> Graph: graph inputs with a dynamic batch, then each node through its converter in
// file order (ONNX files are topologically sorted), then the outputs; nodes nothing uses (folded
// plumbing, GELU parts) are dropped by rebuilding the graph from its outputs.
#include <onnx/checker.h>

#include <set>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/limits.h"
#include "graph/onnx_import_detail.h"
#include "ops/registry.h"

namespace xgrad {
namespace onnx_import {

const Value& Importer::value(const std::string& name) const {
  const auto v = values.find(name);
  if (v == values.end()) throw Error("unknown tensor \"" + name + "\"");
  return v->second;
}

const Value& Importer::in(const onnx::NodeProto& n, int i) const {
  if (!has_in(n, i)) throw Error("input " + std::to_string(i) + " is missing");
  return value(n.input(i));
}

int Importer::node_in(const onnx::NodeProto& n, int i) const {
  const Value& v = in(n, i);
  if (v.id < 0)
    throw Error("input " + std::to_string(i) + " (\"" + n.input(i) +
                "\") must be computed from the model's " + "inputs here, found " +
                (v.constant() ? "a constant" : "part of an Erf expression"));
  return v.id;
}

const Const& Importer::const_in(const onnx::NodeProto& n, int i) const {
  const Value& v = in(n, i);
  if (!v.constant())
    throw Error("input " + std::to_string(i) + " (\"" + n.input(i) +
                "\") must be a constant (an initializer or folded plumbing)");
  return v.c;
}

// A constant the graph keeps as a named leaf: a Param (trained) or a State (running statistics: saved,
// never trained), its value beside the weights. One initializer may feed several nodes the same way.
int Importer::leaf(NodeKind kind, const Const& c, const Tensor& data, const std::string& fallback_name) {
  const std::string name = c.initializer.empty() ? fallback_name : c.initializer;
  const int found = graph.find(name);
  if (found >= 0) {
    if (graph.node(found).kind != kind || weights.at(name) != data)
      throw Error("initializer \"" + name + "\" is used in two ways that need different weights");
    return found;
  }
  weights[name] = data;
  return kind == NodeKind::State ? graph.add_state(name, shape_of(data), Init{"zeros"})
                                 : graph.add_param(name, shape_of(data), Init{"zeros"});
}

int Importer::param(const Const& c, const Tensor& data, const std::string& fallback_name) {
  return leaf(NodeKind::Param, c, data, fallback_name);
}

int Importer::state(const Const& c, const std::string& fallback_name) {
  return leaf(NodeKind::State, c, to_tensor(c), fallback_name);
}

int Importer::op(const std::string& name, const std::string& type, const std::vector<int>& inputs,
                 const json& attrs) {
  if (!registry().has(type)) throw Error("needs xgrad op " + type + ", which this build does not have");
  return graph.add_op(name, registry().make(type, attrs), inputs);
}

int Importer::per_sample_shape(int id, const Shape& per_sample, const std::string& name) {
  const Shape& s = shape(id);
  if (Shape(s.begin() + 1, s.end()) == per_sample) return id;
  return op(name, "reshape", {id}, {{"shape", per_sample}});
}

Tensor to_tensor(const Const& c) {
  Tensor t = make_tensor(c.dims);
  std::copy(c.values.begin(), c.values.end(), t.begin());
  return t;
}

Const from_proto(const onnx::TensorProto& t) {
  const Tensor v = onnx_proto::is_float_type(t.data_type()) ? onnx_proto::to_tensor(t) : Tensor();
  Const c{onnx_proto::dims_of(t), {}, {}};
  if (onnx_proto::is_float_type(t.data_type())) {
    c.values.assign(v.begin(), v.end());
  } else {
    const std::vector<int64_t> ints = onnx_proto::to_ints(t);
    c.values.assign(ints.begin(), ints.end());
  }
  return c;
}

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t fallback) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : fallback;
}

float attr_float(const onnx::NodeProto& n, const std::string& name, float fallback) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : fallback;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name,
                               const std::vector<int64_t>& fallback) {
  const auto* a = find_attr(n, name);
  return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : fallback;
}

std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& fallback) {
  const auto* a = find_attr(n, name);
  return a ? a->s() : fallback;
}

}  // namespace onnx_import

namespace {

using onnx_import::Importer;

const std::map<std::string, onnx_import::Converter>& converters() {
  static const auto table = [] {
    std::map<std::string, onnx_import::Converter> t;
    onnx_import::add_compute_converters(t);
    onnx_import::add_elementwise_converters(t);
    onnx_import::add_plumbing_converters(t);
    return t;
  }();
  return table;
}

int default_opset(const onnx::ModelProto& m) {
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") {
      if (o.version() < kOnnxMinOpset || o.version() > kOnnxMaxOpset)
        throw Error("opset " + std::to_string(o.version()) + " (xgrad reads opsets " +
                    std::to_string(kOnnxMinOpset) + " to " + std::to_string(kOnnxMaxOpset) + ")");
      return int(o.version());
    }
  throw Error("no import of the default ONNX opset");
}

// A float input [batch, ...]: the batch becomes dynamic, every other dimension must be fixed.
void add_input(Importer& im, const onnx::ValueInfoProto& v, const std::string& name) {
  const std::string where = "graph input \"" + v.name() + "\": ";
  const auto& t = v.type().tensor_type();
  if (!v.type().has_tensor_type() || t.elem_type() != onnx::TensorProto::FLOAT)
    throw Error(where + "expected a float32 tensor");
  if (t.shape().dim_size() < 2) throw Error(where + "expected a batch dimension and at least one more");
  Shape shape{-1};
  for (int i = 1; i < t.shape().dim_size(); ++i) {
    const auto& d = t.shape().dim(i);
    if (!d.has_dim_value() || d.dim_value() <= 0)
      throw Error(where + "dimension " + std::to_string(i) +
                  " is not a fixed size (only the batch may vary)");
    shape.push_back(d.dim_value());
  }
  if (t.shape().dim(0).has_dim_value()) im.fixed_batch = t.shape().dim(0).dim_value();
  im.values[v.name()].id = im.graph.add_input(name, shape);
}

void add_inputs(Importer& im, const onnx::GraphProto& g, const OnnxImportOptions& options, json& names) {
  std::set<std::string> init_names;
  for (const auto& t : g.initializer()) init_names.insert(t.name());
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const auto& v : g.input())
    if (!init_names.count(v.name())) inputs.push_back(&v);
  for (const auto* v : inputs) {
    const bool rename = inputs.size() == 1 && !options.input_name.empty();
    const std::string name = rename ? options.input_name : v->name();
    add_input(im, *v, name);
    names[name] = v->name();
  }
}

void add_initializers(Importer& im, const onnx::GraphProto& g) {
  for (const auto& t : g.initializer()) {
    try {
      onnx_import::Value v;
      v.c = onnx_import::from_proto(t);
      v.c.initializer = t.name();
      im.values[t.name()] = std::move(v);
    } catch (const std::exception& e) {
      rethrow_with_context("initializer \"" + t.name() + "\"", e);
    }
  }
}

void convert_node(Importer& im, const onnx::NodeProto& n, int index) {
  try {
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      throw Error("op domain \"" + n.domain() + "\" is not supported");
    const auto& table = converters();
    const auto c = table.find(n.op_type());
    if (c == table.end()) throw Error("op type not supported by xgrad");
    c->second(im, n);
  } catch (const std::exception& e) {
    throw Error("node " + std::to_string(index) + " \"" + n.name() + "\" (" + n.op_type() + "): " + e.what());
  }
}

// Only what the outputs depend on, in the same order (graph ids are topological).
Graph pruned(const Graph& g) {
  std::vector<bool> used(size_t(g.size()), false);
  for (const auto& [role, id] : g.outputs()) used[size_t(id)] = true;
  for (int id = g.size() - 1; id >= 0; --id)
    if (used[size_t(id)])
      for (int i : g.node(id).inputs) used[size_t(i)] = true;
  Graph out(g.name());
  std::vector<int> new_id(size_t(g.size()), -1);
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (!used[size_t(id)] && n.kind != NodeKind::Input) continue;
    if (n.kind == NodeKind::Input) {
      new_id[size_t(id)] = out.add_input(n.name, n.info.shape, n.info.dtype);
    } else if (n.kind == NodeKind::Op) {
      std::vector<int> inputs;
      for (int i : n.inputs) inputs.push_back(new_id[size_t(i)]);
      new_id[size_t(id)] =
          out.add_op(n.name, registry().make(std::string(n.op->type()), n.op->attrs()), inputs);
    } else if (n.kind == NodeKind::State) {
      new_id[size_t(id)] = out.add_state(n.name, n.info.shape, n.init);
    } else {
      new_id[size_t(id)] = out.add_param(n.name, n.info.shape, n.init);
    }
  }
  for (const auto& [role, id] : g.outputs()) out.set_output(role, new_id[size_t(id)]);
  return out;
}

void add_outputs(Importer& im, const onnx::GraphProto& g, const OnnxImportOptions& options) {
  for (int i = 0; i < g.output_size(); ++i) {
    const std::string& name = g.output(i).name();
    const onnx_import::Value& v = im.value(name);
    if (v.id < 0) throw Error("graph output \"" + name + "\" is not computed from the inputs");
    const bool probs = im.graph.node(v.id).op && im.graph.node(v.id).op->type() == "softmax";
    const std::string role = i > 0 ? name : probs ? "probs" : "logits";
    im.graph.set_output(role, v.id);
    if (role == "logits" && options.add_loss && im.shape(v.id).size() == 2) {
      const int label = im.graph.add_input(options.label_name, {-1}, DType::Int32);
      im.graph.set_output("loss", im.op("loss", "softmax_cross_entropy", {v.id, label}));
    }
  }
}

json import_meta(const onnx::ModelProto& m, int opset, const json& input_names) {
  for (const auto& p : m.metadata_props())
    if (p.key() == "xgrad.meta") return parse_json(p.value(), "metadata_props[xgrad.meta]");
  return {{"onnx",
           {{"producer", m.producer_name() + " " + m.producer_version()},
            {"opset", opset},
            {"inputs", input_names}}}};
}

}  // namespace

Model onnx_import_bytes(const std::string& bytes, const std::string& source,
                        const OnnxImportOptions& options) {
  try {
    onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) throw Error("not an ONNX model (the protobuf is truncated or corrupt)");
    const size_t count =
        size_t(m.graph().input_size() + m.graph().initializer_size() + m.graph().node_size());
    if (count > kMaxGraphNodes)
      throw Error("graph: " + std::to_string(count) +
                  " inputs, initializers and nodes, more than the limit of " +
                  std::to_string(kMaxGraphNodes));
    try {
      onnx::checker::check_model(m);
    } catch (const std::exception& e) {
      throw Error(std::string("not a valid ONNX model: ") + e.what());
    }
    Importer im;
    im.opset = default_opset(m);
    im.graph.set_name(m.graph().name().empty() ? "model" : m.graph().name());
    json input_names = json::object();
    add_inputs(im, m.graph(), options, input_names);
    add_initializers(im, m.graph());
    for (int i = 0; i < m.graph().node_size(); ++i) convert_node(im, m.graph().node(i), i);
    add_outputs(im, m.graph(), options);
    Model model{pruned(im.graph), {}, import_meta(m, im.opset, input_names)};
    for (const std::vector<int>& ids : {model.graph.params(), model.graph.states()})
      for (int id : ids) model.weights[model.graph.node(id).name] = im.weights.at(model.graph.node(id).name);
    return model;
  } catch (const std::exception& e) {
    rethrow_with_context(source, e);
  }
}

Model import_onnx(const std::string& path, const OnnxImportOptions& options) {
  return onnx_import_bytes(read_text_file(path, kMaxModelBytes), path, options);
}

}  // namespace xgrad
#endif
