#include "graph/data_fit.h"

#include <vector>

#include "core/error.h"

namespace xgrad {

namespace {

int input_named(const Graph& g, const char* name) {
  const int id = g.find(name);
  return id >= 0 && g.node(id).kind == NodeKind::Input ? id : -1;
}

// The loss's target: its first input after the prediction that is a graph input other than `data`.
int loss_target(const Graph& g, int data) {
  if (!g.has_output("loss")) return -1;
  const Node& loss = g.node(g.output("loss"));
  for (size_t k = 1; k < loss.inputs.size(); ++k)
    if (loss.inputs[k] != data && g.node(loss.inputs[k]).kind == NodeKind::Input) return loss.inputs[k];
  return -1;
}

}  // namespace

DataInputs data_inputs(const Graph& g) {
  const std::vector<int> inputs = g.inputs();
  if (inputs.empty()) throw Error("graph \"" + g.name() + "\" has no input to feed data to");
  int data = input_named(g, "image"), label = input_named(g, "label");
  for (int id : inputs)
    if (label < 0 && id != data && g.node(id).info.dtype == DType::Int32) label = id;
  if (label < 0) label = loss_target(g, data);
  for (int id : inputs)
    if (data < 0 && id != label) data = id;
  for (int id : inputs)
    if (label < 0 && id != data) label = id;
  if (data < 0) throw Error("graph \"" + g.name() + "\" has no input left for the data besides its labels");
  return {g.node(data).name, label < 0 ? "" : g.node(label).name};
}

void fill_data_inputs(const Graph& g, std::string& data, std::string& label) {
  if (!data.empty() && !label.empty()) return;
  const DataInputs io = data_inputs(g);
  if (data.empty()) data = io.data;
  if (label.empty()) label = io.label;
}

void check_data_fits(const Graph& g, const Dataset& d, const std::string& source, const std::string& what,
                     std::string image_input, std::string label_input) {
  fill_data_inputs(g, image_input, label_input);
  const std::string data = source + ": the " + what + " data";
  auto batched = [](const Shape& per) {
    Shape s{-1};
    s.insert(s.end(), per.begin(), per.end());
    return s;
  };
  const int x = g.find(image_input), y = g.find(label_input);
  if (x < 0 || g.node(x).kind != NodeKind::Input)
    throw Error("model \"" + g.name() + "\" has no input \"" + image_input + "\" to feed the data to");
  const Shape& xs = g.node(x).info.shape;
  if (!shape_matches(xs, batched(d.sample_shape())))
    throw Error(data + " holds samples of " + to_string(batched(d.sample_shape())) +
                " (N = any count), the model's input \"" + image_input + "\" takes " + to_string(xs));
  if (y < 0 || g.node(y).kind != NodeKind::Input)
    throw Error("model \"" + g.name() + "\" has no input " +
                (label_input.empty() ? "left" : "\"" + label_input + "\"") + " to feed the labels to");
  const Shape& ys = g.node(y).info.shape;
  const Shape labels = batched(d.target_shape());
  if (!shape_matches(ys, labels))
    throw Error(data + " has " + (d.has_class_labels() ? "class ids " : "float targets ") +
                to_string(labels) + ", the model's input \"" + label_input + "\" takes " + to_string(ys));
  if (!d.has_class_labels()) return;
  for (const char* role : {"logits", "probs"}) {
    if (!g.has_output(role)) continue;
    const Shape& s = g.node(g.output(role)).info.shape;
    if (s.size() == 2 && s[1] < d.classes())
      throw Error(data + " has class ids up to " + std::to_string(d.classes() - 1) + ", the model's \"" +
                  role + "\" output has " + std::to_string(s[1]) + " classes");
    return;
  }
}

}  // namespace xgrad
