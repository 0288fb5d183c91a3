#pragma once
// Weights live outside the graph, keyed by param name (optimizer state is keyed the same way).
#include <map>
#include <string>

#include "core/rng.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace xgrad {

using Params = std::map<std::string, Tensor>;
// Values fed to graph inputs, by input name.
using Feeds = std::map<std::string, Tensor>;

// Every param of `g` from its init spec, in graph order, so one seed gives one set of weights.
Params init_params(const Graph& g, Rng& rng);

// Every param's weights: those in `given`, the rest from their init spec. Draws with Rng(seed) for
// every param in graph order (discarding the draws of given ones), so a missing param gets the same
// values as init_params(g, Rng(seed)) would give it. Throws Error for a given name that is not a
// param or a shape that does not match.
Params complete_weights(const Graph& g, const Params& given, uint64_t seed);

// Throws Error unless `p` holds exactly the graph's params with their shapes.
void check_params(const Graph& g, const Params& p);

}  // namespace xgrad
