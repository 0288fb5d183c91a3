#pragma once
// The graph is plain data: named nodes in topological order (inputs, params, states and op nodes
// whose inputs are earlier nodes), plus named output roles. Shapes are inferred as nodes are added,
// so a mistake is reported at the node that makes it. Weights live outside, keyed by param name.
// A state (batch norm's running statistics) is declared like a param and its values live in the
// same map, but it is never trained: only ops update it, in training mode.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/init.h"
#include "ops/op.h"

namespace xgrad {

enum class NodeKind { Input, Param, Op, State };

struct Node {
  std::string name;
  NodeKind kind = NodeKind::Op;
  ValueInfo info;           // inferred shape; -1 = batch dimension
  std::unique_ptr<Op> op;   // Op nodes only
  std::vector<int> inputs;  // Op nodes only: ids of earlier nodes
  Init init;                // Param and State nodes only
};

class Graph {
 public:
  explicit Graph(std::string name = "model") : name_(std::move(name)) {}
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  int add_input(const std::string& name, const Shape& shape, DType dtype = DType::Float32);
  int add_param(const std::string& name, const Shape& shape, const Init& init);
  int add_state(const std::string& name, const Shape& shape, const Init& init);
  // Infers the output shape; throws Error naming the node, the op and every input shape.
  int add_op(const std::string& name, std::unique_ptr<Op> op, const std::vector<int>& inputs);
  void set_output(const std::string& role, int node);

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const Node& node(int id) const { return nodes_.at(size_t(id)); }
  int size() const { return int(nodes_.size()); }
  int find(const std::string& name) const;  // -1 if absent
  int id(const std::string& name) const;    // throws Error if absent
  const std::map<std::string, int>& outputs() const { return outputs_; }
  int output(const std::string& role) const;  // throws Error naming the missing role
  bool has_output(const std::string& role) const { return outputs_.count(role) > 0; }
  std::vector<int> params() const;  // param node ids in order: what the optimizer trains
  std::vector<int> states() const;  // state node ids in order
  std::vector<int> inputs() const;  // input node ids in order
  int64_t param_count() const;

 private:
  int add_node(Node n);
  int add_declared(NodeKind kind, const std::string& name, const Shape& shape, const Init& init);
  std::vector<int> of_kind(NodeKind k) const;
  std::string name_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, int> index_;
  std::map<std::string, int> outputs_;
};

const char* kind_name(NodeKind k);

// For each node id, the first node (in graph order) that reads it, or -1 when nothing does. Summaries
// and diagrams show each param's size at its first reader, so shared weights count once.
std::vector<int> first_readers(const Graph& g);

}  // namespace xgrad
