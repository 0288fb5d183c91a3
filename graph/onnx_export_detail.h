#pragma once
// The exporter's per-op emitters (onnx_export_ops.cpp) and the context they write into.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/onnx_proto.h"

namespace xgrad::onnx_export {

struct Context {
  onnx::GraphProto& out;
  const Graph& g;
  int opset;
  std::map<int, std::string> tensor;  // xgrad node id -> the ONNX tensor holding its value

  const std::string& in(const Node& n, size_t i) const { return tensor.at(n.inputs.at(i)); }
  const Shape& in_shape(const Node& n, size_t i) const { return g.node(n.inputs.at(i)).info.shape; }
  // An initializer named "<node>/<what>" holding constant values; returns its name.
  std::string constant(const Node& n, const std::string& what, const Tensor& values);
  std::string int_constant(const Node& n, const std::string& what, const std::vector<int64_t>& values);
  // A node named like its output; `output` defaults to the xgrad node's name (its final value).
  onnx::NodeProto& emit(const Node& n, const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::string& output = "");
};

// Writes the ONNX nodes computing `n` (their last output named n.name) and sets ctx.tensor[id].
using Emitter = std::function<void(Context& ctx, int id, const Node& n, const json& attrs)>;

// Emitters by xgrad op name. Ops missing here (losses) have no inference form.
const std::map<std::string, Emitter>& emitters();

}  // namespace xgrad::onnx_export
