#include "graph/params.h"

#include "core/error.h"

namespace xgrad {

Params init_params(const Graph& g, Rng& rng) {
  Params p;
  for (int id : g.params()) {
    const Node& n = g.node(id);
    p[n.name] = initialize(n.init, n.info.shape, rng);
  }
  return p;
}

Params complete_weights(const Graph& g, const Params& given, uint64_t seed) {
  Rng rng(seed);
  Params out;
  for (int id : g.params()) {
    const Node& n = g.node(id);
    Tensor drawn =
        initialize(n.init, n.info.shape, rng);  // drawn even when given: later params keep their values
    auto it = given.find(n.name);
    out.emplace(n.name, it == given.end() ? std::move(drawn) : it->second);
  }
  for (const auto& [name, t] : given)
    if (!out.count(name))
      throw Error("weights given for \"" + name + "\", which is not a param of the graph");
  check_params(g, out);  // shapes of the given ones
  return out;
}

void check_params(const Graph& g, const Params& p) {
  size_t expected = 0;
  for (int id : g.params()) {
    const Node& n = g.node(id);
    ++expected;
    auto it = p.find(n.name);
    if (it == p.end()) throw Error("no weights for param \"" + n.name + "\"");
    if (shape_of(it->second) != n.info.shape)
      throw Error("param \"" + n.name + "\": weights have shape " + to_string(shape_of(it->second)) +
                  ", expected " + to_string(n.info.shape));
  }
  if (p.size() != expected)
    for (const auto& [name, t] : p)
      if (g.find(name) < 0 || g.node(g.id(name)).kind != NodeKind::Param)
        throw Error("weights given for \"" + name + "\", which is not a param of the graph");
}

}  // namespace xgrad
