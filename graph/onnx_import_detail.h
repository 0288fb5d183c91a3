#pragma once
// The importer's state and per-op converters (onnx_import_ops.cpp, onnx_import_plumbing.cpp).
// Every ONNX tensor name stands for a graph node, a constant folded at import, or a stage of the
// Erf-based GELU expression, which becomes one gelu node when complete.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/onnx.h"
#include "graph/onnx_proto.h"

namespace xgrad::onnx_import {

// Marks the dynamic batch size inside a constant shape computed by Shape/Gather/... chains.
constexpr double kBatch = -1e15;

struct Const {
  Shape dims;
  std::vector<double> values;  // exact for float32 and for the integers of shapes
  std::string initializer;     // the initializer's name, when it is one (weights become params by it)
  bool scalar() const { return values.size() == 1; }
};

// erf(x/sqrt2) -> 1 + erf(x/sqrt2) -> x (1 + erf(x/sqrt2)); times 0.5 it is gelu(x).
enum class GeluStage { None, Erf, OnePlusErf, XOnePlusErf };

struct Value {
  int id = -1;  // graph node, or -1
  Const c;      // when id == -1 and stage == None
  GeluStage stage = GeluStage::None;
  int x = -1;  // the GELU's input node for a stage
  bool constant() const { return id < 0 && stage == GeluStage::None; }
};

inline Value computed(int id) {
  Value v;
  v.id = id;
  return v;
}

inline Value gelu_stage(GeluStage stage, int x) {
  Value v;
  v.stage = stage;
  v.x = x;
  return v;
}

struct Importer {
  int opset = 0;
  int64_t fixed_batch = 0;  // the batch size a fixed-batch file was written with (0: dynamic)
  Graph graph;
  Params weights;
  std::map<std::string, Value> values;

  const Value& value(const std::string& name) const;
  const Value& in(const onnx::NodeProto& n, int i) const;  // throws if missing
  bool has_in(const onnx::NodeProto& n, int i) const { return i < n.input_size() && !n.input(i).empty(); }
  int node_in(const onnx::NodeProto& n, int i) const;            // a graph node, else Error
  const Const& const_in(const onnx::NodeProto& n, int i) const;  // a constant, else Error
  const Shape& shape(int id) const { return graph.node(id).info.shape; }

  // The param for initializer `c` holding `values` (weights transposed or scaled keep the name).
  int param(const Const& c, const Tensor& data, const std::string& fallback_name);
  int state(const Const& c, const std::string& fallback_name);
  int leaf(NodeKind kind, const Const& c, const Tensor& data, const std::string& fallback_name);
  int op(const std::string& name, const std::string& type, const std::vector<int>& inputs,
         const json& attrs = json::object());
  // `id` reshaped to `per_sample` (a reshape node named `name` only when the shape differs).
  int per_sample_shape(int id, const Shape& per_sample, const std::string& name);
  void set(const onnx::NodeProto& n, int id) { values[n.output(0)].id = id; }
  void set(const onnx::NodeProto& n, Value v) { values[n.output(0)] = std::move(v); }
};

Tensor to_tensor(const Const& c);
Const from_proto(const onnx::TensorProto& t);

// Attribute lookups with ONNX's defaults.
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t fallback);
float attr_float(const onnx::NodeProto& n, const std::string& name, float fallback);
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name,
                               const std::vector<int64_t>& fallback = {});
std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& fallback);
const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name);

using Converter = std::function<void(Importer& im, const onnx::NodeProto& n)>;
// Converters by ONNX op type: compute ops, then constant plumbing.
void add_compute_converters(std::map<std::string, Converter>& table);
void add_plumbing_converters(std::map<std::string, Converter>& table);
void add_elementwise_converters(std::map<std::string, Converter>& table);

}  // namespace xgrad::onnx_import
