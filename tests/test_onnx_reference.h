#pragma once
// A small ONNX evaluator written for the tests from the ONNX operator specs, with plain loops and
// no xgrad op code: it checks that xgrad's exports mean what xgrad computes, and gives the expected
// values for imported files. Also a builder for the ONNX files the tests write.
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "graph/onnx.h"
#include "graph/onnx_proto.h"

namespace xgrad::test {

using Values = std::map<std::string, Tensor>;

// Every value of the graph (inputs, initializers, node outputs) for the given inputs.
Values onnx_evaluate(const onnx::ModelProto& m, const Values& feeds);

// REQUIREs equal shapes and every element within tol * (1 + |want|).
void check_close(const Tensor& got, const Tensor& want, float tol = 1e-4f);

Tensor random_tensor(const Shape& s, Rng& rng);  // uniform in [-1, 1)

// False, with a message saying the case is skipped, when the registry lacks one of the ops.
bool has_ops(std::initializer_list<const char*> ops);

class OnnxFile;
// The file's "y" for input "x": by the reference evaluator, by xgrad after import, and after
// export back; returns the imported model.
Model check_import(OnnxFile& f, const Tensor& x, const OnnxImportOptions& options = {"", false, "label"});

// Writes ONNX files node by node; attributes through onnx_proto::set_attr.
class OnnxFile {
 public:
  explicit OnnxFile(int opset = 13);
  // -1 in `shape` is the symbolic batch "N".
  void input(const std::string& name, const Shape& shape);
  void initializer(const std::string& name, const Tensor& t);
  void ints(const std::string& name, const std::vector<int64_t>& values);
  // A Constant node whose output is `name`.
  void constant(const std::string& name, const Tensor& t);
  void constant_ints(const std::string& name, const std::vector<int64_t>& values, const Shape& dims);
  onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs,
                        const std::string& output);
  void output(const std::string& name, const Shape& shape);
  onnx::ModelProto& model() { return m_; }
  std::string bytes() const { return m_.SerializeAsString(); }

 private:
  onnx::ModelProto m_;
};

}  // namespace xgrad::test
