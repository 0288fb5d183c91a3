// Reading the "graph" section: inputs, params, states (version 2), nodes (in any order: sorted here with
// Kahn's algorithm, no recursion) and outputs, built through Graph so shapes are inferred and checked.
#include <functional>
#include <limits>
#include <map>
#include <queue>

#include "graph/json_fields.h"
#include "graph/limits.h"
#include "graph/serialize.h"
#include "graph/serialize_detail.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

enum class RefKind { Input, Param, State, Node };
struct Ref {
  RefKind kind;
  size_t index;
  std::string path;  // where the name was declared
};

struct NodeSpec {
  std::string name, op, path;
  std::vector<std::string> inputs;
  json attrs = json::object();
};

// Names are unique across inputs, params and nodes.
std::string declared_name(Fields& f, std::map<std::string, Ref>& names, RefKind kind, size_t index,
                          const std::string& path) {
  std::string name = f.string("name");
  if (name.empty()) throw Error(f.at("name") + ": a name must not be empty");
  auto [it, added] = names.emplace(name, Ref{kind, index, path});
  if (!added)
    throw Error(f.at("name") + ": duplicate name \"" + name + "\" (already declared at " + it->second.path +
                ")");
  return name;
}

NodeSpec read_node(const json& j, const std::string& path, size_t index, std::map<std::string, Ref>& names) {
  Fields f(j, path);
  NodeSpec n;
  n.path = path;
  n.name = declared_name(f, names, RefKind::Node, index, path);
  n.op = f.string("op");
  const json& inputs = f.array("inputs");
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].is_string())
      throw Error(json_path(f.at("inputs"), i) + ": expected a name, found " + json_found(inputs[i]));
    n.inputs.push_back(inputs[i].get<std::string>());
  }
  if (const json* a = f.optional("attrs")) {
    if (!a->is_object()) throw Error(f.at("attrs") + ": expected an object, found " + json_found(*a));
    n.attrs = *a;
  }
  f.finish("\"name\", \"op\", \"inputs\", \"attrs\"");
  if (!registry().has(n.op)) {
    std::string known;
    for (const auto& name : registry().names()) known += (known.empty() ? "" : ", ") + name;
    throw Error(f.at("op") + ": unknown op \"" + n.op + "\" (known: " + known + ")");
  }
  return n;
}

// The cycle through `start` (every remaining node reads another remaining node): "a -> b -> a".
std::string describe_cycle(size_t start, const std::vector<std::vector<size_t>>& reads,
                           const std::vector<size_t>& pending, const std::vector<NodeSpec>& nodes) {
  std::map<size_t, size_t> step_of;
  std::vector<size_t> walk;
  size_t cur = start;
  while (!step_of.count(cur)) {
    step_of[cur] = walk.size();
    walk.push_back(cur);
    for (size_t src : reads[cur])
      if (pending[src]) {
        cur = src;
        break;
      }
  }
  std::string text;
  for (size_t i = step_of[cur]; i < walk.size(); ++i) text += "\"" + nodes[walk[i]].name + "\" -> ";
  return text + "\"" + nodes[cur].name + "\"";
}

// Node indices in an order where every node comes after the nodes it reads; file order is kept
// where the file already is in order.
std::vector<size_t> topological_order(const std::vector<NodeSpec>& nodes,
                                      const std::map<std::string, Ref>& names) {
  std::vector<std::vector<size_t>> reads(nodes.size()), readers(nodes.size());
  std::vector<size_t> pending(nodes.size(), 0);  // inputs of a node not yet placed
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t k = 0; k < nodes[i].inputs.size(); ++k) {
      const std::string where = json_path(json_path(nodes[i].path, "inputs"), k);
      auto it = names.find(nodes[i].inputs[k]);
      if (it == names.end()) throw Error(where + ": unknown name \"" + nodes[i].inputs[k] + "\"");
      if (it->second.kind != RefKind::Node) continue;
      if (it->second.index == i)
        throw Error(where + ": node \"" + nodes[i].name + "\" reads itself (a self-loop)");
      reads[i].push_back(it->second.index);
      readers[it->second.index].push_back(i);
      ++pending[i];
    }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (!pending[i]) ready.push(i);
  std::vector<size_t> order;
  while (!ready.empty()) {
    const size_t i = ready.top();
    ready.pop();
    order.push_back(i);
    for (size_t r : readers[i])
      if (--pending[r] == 0) ready.push(r);
  }
  for (size_t i = 0; i < nodes.size() && order.size() < nodes.size(); ++i)
    if (pending[i])
      throw Error(nodes[i].path + ": the nodes " + describe_cycle(i, reads, pending, nodes) +
                  " form a cycle (each reads the next)");
  return order;
}

// Registry and Graph errors get the node's JSON path; attribute errors ("attrs.stride: ...") are
// joined into the path itself.
[[noreturn]] void rethrow_at(const std::string& path, const std::exception& e) {
  const std::string what = e.what();
  throw Error(what.rfind("attrs.", 0) == 0 ? path + "." + what : path + ": " + what);
}

// nlohmann stores integers above INT64_MAX as unsigned; the attribute reader would wrap them.
void check_attr_integers(const json& attrs, const std::string& path) {
  for (const auto& [key, v] : attrs.items()) {
    const json& list = v.is_array() ? v : json::array({v});
    for (const json& e : list)
      if (e.is_number_unsigned() && e.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
        throw Error(json_path(path, key) + ": " + e.dump() + " is too large");
  }
}

// "outputs": {"role": "node name"}; the "loss" role must be a scalar.
void read_outputs(Graph& g, const json& outputs, const std::string& path) {
  if (!outputs.is_object())
    throw Error(path + ": expected an object {role: node name}, found " + json_found(outputs));
  for (const auto& [role, node] : outputs.items()) {
    const std::string at = json_path(path, role);
    if (!node.is_string()) throw Error(at + ": expected a node name, found " + json_found(node));
    const int id = g.find(node.get<std::string>());
    if (id < 0) throw Error(at + ": unknown node \"" + node.get<std::string>() + "\"");
    if (role == "loss" && !g.node(id).info.shape.empty())
      throw Error(at + ": \"" + node.get<std::string>() + "\" has shape " + to_string(g.node(id).info.shape) +
                  ", the loss must be a scalar");
    g.set_output(role, id);
  }
}

void add_input(Graph& g, const json& j, const std::string& at, size_t index,
               std::map<std::string, Ref>& names) {
  Fields in(j, at);
  const std::string name = declared_name(in, names, RefKind::Input, index, at);
  const Shape shape = shape_from_json(in.required("shape"), in.at("shape"), true);
  DType dtype = DType::Float32;
  if (const json* d = in.optional("dtype")) {
    if (!d->is_string())
      throw Error(in.at("dtype") + ": expected \"float32\" or \"int32\", found " + json_found(*d));
    try {
      dtype = dtype_from_name(d->get<std::string>());
    } catch (const std::exception& e) {
      rethrow_at(in.at("dtype"), e);
    }
  }
  in.finish("\"name\", \"shape\", \"dtype\"");
  g.add_input(name, shape, dtype);
}

// A param or a state: both are declared as {"name", "shape", "init"}.
void add_weight(Graph& g, RefKind kind, const json& j, const std::string& at, size_t index,
                std::map<std::string, Ref>& names) {
  Fields p(j, at);
  const std::string name = declared_name(p, names, kind, index, at);
  const Shape shape = shape_from_json(p.required("shape"), p.at("shape"), false);
  const json& init_json = p.required("init");
  Init init;
  try {
    init = Init::parse(init_json);
  } catch (const std::exception& e) {
    rethrow_at(p.at("init"), e);
  }
  p.finish("\"name\", \"shape\", \"init\"");
  if (kind == RefKind::State)
    g.add_state(name, shape, init);
  else
    g.add_param(name, shape, init);
}

void add_node(Graph& g, const NodeSpec& n) {
  check_attr_integers(n.attrs, json_path(n.path, "attrs"));
  try {
    std::vector<int> ids;
    for (const auto& in : n.inputs) ids.push_back(g.id(in));
    g.add_op(n.name, registry().make(n.op, n.attrs), ids);
  } catch (const std::exception& e) {
    rethrow_at(n.path, e);
  }
}

// Version 2 added "states"; a version 1 file has none.
const json& read_states(Fields& f, int version) {
  static const json none = json::array();
  if (version >= 2) return f.array("states");
  if (f.optional("states"))
    throw Error(f.at("states") + ": states need \"format_version\": 2, the file says 1");
  return none;
}

}  // namespace

Graph graph_from_json(const json& j, const std::string& path, const std::string& name, int version) {
  Fields f(j, path);
  const json& inputs = f.array("inputs");
  const json& params = f.array("params");
  const json& states = read_states(f, version);
  const json& nodes_json = f.array("nodes");
  const json& outputs = f.required("outputs");
  f.finish(version >= 2 ? "\"inputs\", \"params\", \"states\", \"nodes\", \"outputs\""
                        : "\"inputs\", \"params\", \"nodes\", \"outputs\"");

  const size_t count = inputs.size() + params.size() + states.size() + nodes_json.size();
  if (count > kMaxGraphNodes)
    throw Error(path + ": " + std::to_string(count) +
                " inputs, params, states and nodes, more than the limit of " +
                std::to_string(kMaxGraphNodes));
  Graph g(name);
  std::map<std::string, Ref> names;
  for (size_t i = 0; i < inputs.size(); ++i) add_input(g, inputs[i], json_path(f.at("inputs"), i), i, names);
  for (size_t i = 0; i < params.size(); ++i)
    add_weight(g, RefKind::Param, params[i], json_path(f.at("params"), i), i, names);
  for (size_t i = 0; i < states.size(); ++i)
    add_weight(g, RefKind::State, states[i], json_path(f.at("states"), i), i, names);
  std::vector<NodeSpec> nodes;
  for (size_t i = 0; i < nodes_json.size(); ++i)
    nodes.push_back(read_node(nodes_json[i], json_path(f.at("nodes"), i), i, names));
  for (size_t i : topological_order(nodes, names)) add_node(g, nodes[i]);
  read_outputs(g, outputs, f.at("outputs"));
  return g;
}

}  // namespace xgrad
