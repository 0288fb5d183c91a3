#include "graph/graph.h"

#include "core/error.h"
#include "graph/limits.h"

namespace xgrad {
namespace {

void check_dims(const std::string& what, const Shape& shape, bool batch_allowed) {
  for (size_t i = 0; i < shape.size(); ++i) {
    const bool batch = batch_allowed && i == 0 && shape[i] == -1;
    if (!batch && shape[i] <= 0)
      throw Error(what + ": dimension " + std::to_string(i) + " of shape " + to_string(shape) +
                  " must be positive" + (batch_allowed && i == 0 ? " or -1 (batch)" : ""));
  }
  Shape concrete = shape;
  if (batch_allowed && !concrete.empty() && concrete[0] == -1) concrete[0] = 1;
  if (checked_numel(concrete) > (int64_t(1) << 31))
    throw Error(what + ": shape " + to_string(shape) + " has more than 2^31 elements");
}

}  // namespace

const char* kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::Input:
      return "input";
    case NodeKind::Param:
      return "param";
    case NodeKind::Op:
      return "op";
    case NodeKind::State:
      return "state";
  }
  return "?";
}

int Graph::add_node(Node n) {
  if (n.name.empty()) throw Error("a node needs a non-empty name");
  if (index_.count(n.name)) throw Error("duplicate name \"" + n.name + "\"");
  if (nodes_.size() >= kMaxGraphNodes)
    throw Error("more than " + std::to_string(kMaxGraphNodes) + " nodes (kMaxGraphNodes)");
  const int id = int(nodes_.size());
  index_.emplace(n.name, id);
  nodes_.push_back(std::move(n));
  return id;
}

int Graph::add_input(const std::string& name, const Shape& shape, DType dtype) {
  check_dims("input \"" + name + "\"", shape, true);
  Node n;
  n.name = name;
  n.kind = NodeKind::Input;
  n.info = {shape, dtype};
  return add_node(std::move(n));
}

int Graph::add_param(const std::string& name, const Shape& shape, const Init& init) {
  return add_declared(NodeKind::Param, name, shape, init);
}

int Graph::add_state(const std::string& name, const Shape& shape, const Init& init) {
  return add_declared(NodeKind::State, name, shape, init);
}

int Graph::add_declared(NodeKind kind, const std::string& name, const Shape& shape, const Init& init) {
  check_dims(std::string(kind_name(kind)) + " \"" + name + "\"", shape, false);
  Node n;
  n.name = name;
  n.kind = kind;
  n.info = {shape, DType::Float32};
  n.init = init;
  return add_node(std::move(n));
}

int Graph::add_op(const std::string& name, std::unique_ptr<Op> op, const std::vector<int>& inputs) {
  const std::string where = "node \"" + name + "\" (" + std::string(op->type()) + ")";
  const Arity a = op->arity();
  if (int(inputs.size()) < a.min || int(inputs.size()) > a.max)
    throw Error(
        where + ": expected " +
        (a.min == a.max ? std::to_string(a.min) : std::to_string(a.min) + " to " + std::to_string(a.max)) +
        " inputs, found " + std::to_string(inputs.size()));
  std::vector<ValueInfo> infos;
  std::string shapes;
  for (int in : inputs) {
    if (in < 0 || in >= size()) throw Error(where + ": input id " + std::to_string(in) + " does not exist");
    infos.push_back(nodes_[size_t(in)].info);
    shapes += (shapes.empty() ? "" : ", ") + nodes_[size_t(in)].name + " " + to_string(infos.back().shape);
  }
  Node n;
  try {
    n.info.shape = op->infer_shape(infos);
  } catch (const std::exception& e) {
    throw Error(where + ": " + e.what() + " (inputs: " + shapes + ")");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Node& src = nodes_[size_t(inputs[i])];
    if (op->reads_state(i) && src.kind != NodeKind::State)
      throw Error(where + ": input " + std::to_string(i) + " \"" + src.name + "\" must be a state (" +
                  std::string(op->type()) + " updates it itself; declare it in graph.states), found " +
                  (src.kind == NodeKind::Input ? "an " : "a ") + kind_name(src.kind));
  }
  n.name = name;
  n.kind = NodeKind::Op;
  n.op = std::move(op);
  n.inputs = inputs;
  return add_node(std::move(n));
}

void Graph::set_output(const std::string& role, int node) {
  if (node < 0 || node >= size()) throw Error("output \"" + role + "\": no such node");
  outputs_[role] = node;
}

int Graph::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

int Graph::id(const std::string& name) const {
  const int i = find(name);
  if (i < 0) throw Error("graph \"" + name_ + "\" has no node named \"" + name + "\"");
  return i;
}

int Graph::output(const std::string& role) const {
  auto it = outputs_.find(role);
  if (it == outputs_.end()) throw Error("graph \"" + name_ + "\" has no \"" + role + "\" output");
  return it->second;
}

std::vector<int> Graph::of_kind(NodeKind k) const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (nodes_[size_t(i)].kind == k) out.push_back(i);
  return out;
}

std::vector<int> Graph::params() const { return of_kind(NodeKind::Param); }
std::vector<int> Graph::states() const { return of_kind(NodeKind::State); }
std::vector<int> Graph::inputs() const { return of_kind(NodeKind::Input); }

int64_t Graph::param_count() const {
  int64_t n = 0;
  for (int id : params()) n += numel(nodes_[size_t(id)].info.shape);
  return n;
}

std::vector<int> first_readers(const Graph& g) {
  std::vector<int> reader(size_t(g.size()), -1);
  for (int id = 0; id < g.size(); ++id)
    for (int in : g.node(id).inputs)
      if (reader[size_t(in)] == -1) reader[size_t(in)] = id;
  return reader;
}

}  // namespace xgrad
