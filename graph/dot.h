#pragma once
// A graph as Graphviz DOT: one box per op node (name, op, output shape, the weights it reads), an
// ellipse per input, weights folded into the op that first reads them, outputs marked by role.
#include <string>

#include "graph/graph.h"

namespace xgrad {

std::string graph_to_dot(const Graph& g);

// Runs Graphviz's `dot -Tsvg` on `dot_text` and returns the SVG. Throws Error when `dot` is not
// installed ("install graphviz") or fails (with its message).
std::string dot_to_svg(const std::string& dot_text);

}  // namespace xgrad
