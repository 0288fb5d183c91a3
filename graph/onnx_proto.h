#pragma once
// Small helpers over ONNX's generated protobuf classes, shared by the exporter, the importer and
// the tests: tensors to and from TensorProto, attributes on a NodeProto, value infos.
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace xgrad::onnx_proto {

// float32 data as raw little-endian bytes (what exporters write).
onnx::TensorProto float_tensor(const std::string& name, const Tensor& t);
onnx::TensorProto int64_tensor(const std::string& name, const std::vector<int64_t>& values,
                               const Shape& dims);
// A graph input/output: float32 with `shape`, where -1 becomes the symbolic dimension "N".
onnx::ValueInfoProto value_info(const std::string& name, const Shape& shape);

// Shape and values of a TensorProto of a float or integer type (raw or typed fields); throws Error
// for other types, external data or a data size that does not match the dims.
Shape dims_of(const onnx::TensorProto& t);
Tensor to_tensor(const onnx::TensorProto& t);
std::vector<int64_t> to_ints(const onnx::TensorProto& t);
bool is_float_type(int32_t data_type);

onnx::NodeProto* add_node(onnx::GraphProto& g, const std::string& op_type,
                          const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                          const std::string& name);
void set_attr(onnx::NodeProto& n, const std::string& name, int64_t v);
void set_attr(onnx::NodeProto& n, const std::string& name, float v);
void set_attr(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v);
void set_attr(onnx::NodeProto& n, const std::string& name, const std::string& v);

// Runs onnx::checker::check_model, then strict shape inference (node errors thrown); throws Error
// with the library's message.
void check_and_infer(onnx::ModelProto& m);

}  // namespace xgrad::onnx_proto
