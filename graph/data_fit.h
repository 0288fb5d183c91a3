#pragma once
// Whether a dataset fits a graph: its samples match the image input's shape, and its labels match
// the label input (class ids within the scored output's classes, or float targets of the input's
// shape). Checked before training or evaluating, so a mismatch is one clear error, not a shape
// error deep inside an op.
#include <string>

#include "core/dataset.h"
#include "graph/graph.h"

namespace xgrad {

// Which inputs of a graph take the data and the labels, whatever their names: "image" and "label"
// when the graph has them; otherwise the label is the int32 input, else the loss's target, else the
// input that is not the data; the data is the first other input. `label` is "" for a graph with one
// input. Throws Error for a graph without inputs. Training, evaluation, prediction and the
// benchmark all ask this one rule.
struct DataInputs {
  std::string data, label;
};
DataInputs data_inputs(const Graph& g);
// Fills whichever of `data`, `label` is empty from data_inputs.
void fill_data_inputs(const Graph& g, std::string& data, std::string& label);

// Throws Error "<source>: ..." naming both shapes. `what` says which split ("train", "test"); an
// empty input name means the one data_inputs finds.
void check_data_fits(const Graph& g, const Dataset& d, const std::string& source, const std::string& what,
                     std::string image_input = "", std::string label_input = "");

}  // namespace xgrad
