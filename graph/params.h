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

// Throws Error unless `p` holds exactly the graph's params with their shapes.
void check_params(const Graph& g, const Params& p);

}  // namespace xgrad
