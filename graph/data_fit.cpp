#include "graph/data_fit.h"

#include "core/error.h"

namespace xgrad {

void check_data_fits(const Graph& g, const Dataset& d, const std::string& source, const std::string& what,
                     const std::string& image_input, const std::string& label_input) {
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
    throw Error("model \"" + g.name() + "\" has no input \"" + label_input + "\" to feed the labels to");
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
