#include "graph/params.h"

#include "core/error.h"

namespace xgrad {

std::vector<int> weight_nodes(const Graph& g) {
  std::vector<int> ids = g.params();
  const std::vector<int> states = g.states();
  ids.insert(ids.end(), states.begin(), states.end());
  return ids;
}

Params init_params(const Graph& g, Rng& rng) {
  Params p;
  for (int id : weight_nodes(g)) {
    const Node& n = g.node(id);
    p[n.name] = initialize(n.init, n.info.shape, rng);
  }
  return p;
}

Params complete_weights(const Graph& g, const Params& given, uint64_t seed) {
  Rng rng(seed);
  Params out;
  for (int id : weight_nodes(g)) {
    const Node& n = g.node(id);
    Tensor drawn =
        initialize(n.init, n.info.shape, rng);  // drawn even when given: later params keep their values
    auto it = given.find(n.name);
    out.emplace(n.name, it == given.end() ? std::move(drawn) : it->second);
  }
  for (const auto& [name, t] : given)
    if (!out.count(name))
      throw Error("weights given for \"" + name + "\", which is not a param or state of the graph");
  check_params(g, out);  // shapes of the given ones
  return out;
}

void check_params(const Graph& g, const Params& p) {
  const std::vector<int> ids = weight_nodes(g);
  for (int id : ids) {
    const Node& n = g.node(id);
    auto it = p.find(n.name);
    if (it == p.end())
      throw Error(
          std::string(n.kind == NodeKind::Param ? "no weights for param \"" : "no value for state \"") +
          n.name + "\"");
    if (shape_of(it->second) != n.info.shape)
      throw Error(std::string(kind_name(n.kind)) + " \"" + n.name + "\": weights have shape " +
                  to_string(shape_of(it->second)) + ", expected " + to_string(n.info.shape));
  }
  if (p.size() != ids.size())
    for (const auto& [name, t] : p)
      if (!is_weight(g, name))
        throw Error("weights given for \"" + name + "\", which is not a param or state of the graph");
}

bool is_weight(const Graph& g, const std::string& name) {
  const int id = g.find(name);
  return id >= 0 && (g.node(id).kind == NodeKind::Param || g.node(id).kind == NodeKind::State);
}

}  // namespace xgrad
