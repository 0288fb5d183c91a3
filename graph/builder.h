#pragma once
// Builds graphs in C++ with one method per op (named as the op) and layer helpers that read
// input sizes from inferred shapes and create named params:
//   GraphBuilder b("lenet");
//   Value x = b.input("image", {-1, 1, 28, 28});
//   Value h = b.sigmoid(layers::conv2d(b, "conv1", x, 6, 5));
#include <string>
#include <vector>

#include "graph/graph.h"

namespace xgrad {

struct Value {
  int id = -1;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(std::string name) : graph_(std::move(name)) {}

  Value input(const std::string& name, const Shape& shape, DType dtype = DType::Float32);
  Value param(const std::string& name, const Shape& shape, const Init& init);
  // Any registered op by name; `name` defaults to "<op>_<count>".
  Value op(const std::string& type, const std::vector<Value>& inputs, const json& attrs = json::object(),
           const std::string& name = "");

  Value conv2d(Value x, Value w, Value b, const json& attrs = json::object(), const std::string& name = "");
  Value max_pool2d(Value x, int64_t kernel, int64_t stride, const std::string& name = "");
  Value avg_pool2d(Value x, int64_t kernel, int64_t stride, const std::string& name = "");
  Value matmul(Value x, Value w, const std::string& name = "") { return op("matmul", {x, w}, {}, name); }
  Value add(Value a, Value b, const std::string& name = "") { return op("add", {a, b}, {}, name); }
  Value mul(Value a, Value b, const std::string& name = "") { return op("mul", {a, b}, {}, name); }
  Value sum(Value x, const std::string& name = "") { return op("sum", {x}, {}, name); }
  Value mean(Value x, const std::string& name = "") { return op("mean", {x}, {}, name); }
  Value sigmoid(Value x, const std::string& name = "") { return op("sigmoid", {x}, {}, name); }
  Value relu(Value x, const std::string& name = "") { return op("relu", {x}, {}, name); }
  Value tanh(Value x, const std::string& name = "") { return op("tanh", {x}, {}, name); }
  Value flatten(Value x, const std::string& name = "") { return op("flatten", {x}, {}, name); }
  Value reshape(Value x, const std::vector<int64_t>& shape, const std::string& name = "");
  Value softmax(Value x, const std::string& name = "") { return op("softmax", {x}, {}, name); }
  Value softmax_cross_entropy(Value logits, Value labels, const std::string& name = "") {
    return op("softmax_cross_entropy", {logits, labels}, {}, name);
  }
  // Applies an activation by op name ("sigmoid", "relu", "tanh").
  Value activation(const std::string& type, Value x, const std::string& name = "") {
    return op(type, {x}, {}, name);
  }

  // Batch norm and dropout (helper "blocks"): states, and the ops that depend on the mode.
  Value state(const std::string& name, const Shape& shape, const Init& init);
  Value batch_norm(Value x, Value gamma, Value beta, Value mean, Value var, double epsilon = 1e-5,
                   double momentum = 0.1, const std::string& name = "");
  Value dropout(Value x, double rate, const std::string& name = "");

  void output(const std::string& role, Value v) { graph_.set_output(role, v.id); }
  const Shape& shape(Value v) const { return graph_.node(v.id).info.shape; }
  const Graph& graph() const { return graph_; }
  Graph finish() { return std::move(graph_); }

 private:
  Graph graph_;
  int auto_names_ = 0;
};

namespace layers {
// x [N,C,H,W] -> conv2d with params NAME.w [filters, C, k, k] (glorot_uniform) and NAME.b (zeros).
Value conv2d(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
             const json& attrs = json::object(), const Init& w_init = Init{"glorot_uniform"});
// x [N,K] -> matmul with params NAME.w [K, units] (glorot_uniform) and NAME.b [units] (zeros).
Value dense(GraphBuilder& b, const std::string& name, Value x, int64_t units,
            const Init& w_init = Init{"glorot_uniform"});

// Batch norm over the channels (axis 1) of x: params NAME.gamma (ones), NAME.beta (zeros) and
// states NAME.mean (zeros), NAME.var (ones), each [C]; the node is named NAME.
Value batch_norm(GraphBuilder& b, const std::string& name, Value x, double epsilon = 1e-5,
                 double momentum = 0.1);
}  // namespace layers

}  // namespace xgrad
