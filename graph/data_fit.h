#pragma once
// Whether a dataset fits a graph: its samples match the image input's shape, and its labels match
// the label input (class ids within the scored output's classes, or float targets of the input's
// shape). Checked before training or evaluating, so a mismatch is one clear error, not a shape
// error deep inside an op.
#include <string>

#include "core/dataset.h"
#include "graph/graph.h"

namespace xgrad {

// Throws Error "<source>: ..." naming both shapes. `what` says which split ("train", "test").
void check_data_fits(const Graph& g, const Dataset& d, const std::string& source, const std::string& what,
                     const std::string& image_input = "image", const std::string& label_input = "label");

}  // namespace xgrad
