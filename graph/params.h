#pragma once
// Weights live outside the graph, keyed by param name (optimizer state is keyed the same way). The
// values of state nodes (running statistics) live in the same map, keyed by state name, so model
// files and checkpoints carry them with no special code; the optimizer only sees the params.
#include <map>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace xgrad {

using Params = std::map<std::string, Tensor>;
// Values fed to graph inputs, by input name.
using Feeds = std::map<std::string, Tensor>;

// The nodes whose values a Params map holds: every param in graph order, then every state.
std::vector<int> weight_nodes(const Graph& g);
bool is_weight(const Graph& g, const std::string& name);  // a param or a state of `g`

// Every param, then every state, of `g` from its init spec in graph order, so one seed gives one
// set of weights (and a graph without states draws exactly as before states existed).
Params init_params(const Graph& g, Rng& rng);

// Every param's and state's values: those in `given`, the rest from their init spec. Draws with
// Rng(seed) in init_params' order (discarding the draws of given ones), so a missing one gets the
// same values as init_params(g, Rng(seed)) would give it. Throws Error for a given name that is not
// a param or state, or a shape that does not match.
Params complete_weights(const Graph& g, const Params& given, uint64_t seed);

// Throws Error unless `p` holds exactly the graph's params and states with their shapes.
void check_params(const Graph& g, const Params& p);

}  // namespace xgrad
