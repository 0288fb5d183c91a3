#pragma once
// A small ONNX evaluator written for the tests from the ONNX operator specs, with plain loops and
// no xgrad op code: it checks that xgrad's exports mean what xgrad computes, and gives the expected
// values for imported files. Also a builder for the ONNX files the tests write.
#include <map>
#include <string>
#include <vector>

#include "graph/onnx_proto.h"

namespace xgrad::test {

using Values = std::map<std::string, Tensor>;

// Every value of the graph (inputs, initializers, node outputs) for the given inputs.
Values onnx_evaluate(const onnx::ModelProto& m, const Values& feeds);

// REQUIREs equal shapes and every element within tol * (1 + |want|).
void check_close(const Tensor& got, const Tensor& want, float tol = 1e-4f);

// Writes ONNX files node by node; attributes through onnx_proto::set_attr.
class OnnxFile {
 public:
  explicit OnnxFile(int opset = 13);
  // -1 in `shape` is the symbolic batch "N".
  void input(const std::string& name, const Shape& shape);
  void initializer(const std::string& name, const Tensor& t);
  void ints(const std::string& name, const std::vector<int64_t>& values);
  onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::string& output);
  void output(const std::string& name, const Shape& shape);
  onnx::ModelProto& model() { return m_; }
  std::string bytes() const { return m_.SerializeAsString(); }

 private:
  onnx::ModelProto m_;
};

}  // namespace xgrad::test
