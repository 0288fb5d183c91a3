#include "graph/feeds.h"

#include "core/error.h"
#include "core/json_io.h"
#include "graph/tensor_json.h"

namespace xgrad {
namespace {

std::string input_list(const Graph& g) {
  std::string out;
  for (int id : g.inputs())
    out += (out.empty() ? "" : ", ") + g.node(id).name + " " + to_string(g.node(id).info.shape);
  return out;
}

}  // namespace

Feeds feeds_from_json(const nlohmann::json& j, const Graph& g) {
  if (!j.is_object()) throw Error("expected an object {input name: {\"shape\": [...], \"data\": [...]}}");
  Feeds feeds;
  for (const auto& [name, value] : j.items()) {
    const int id = g.find(name);
    if (id < 0 || g.node(id).kind != NodeKind::Input)
      throw Error(name + ": the model has no input named \"" + name + "\" (its inputs: " + input_list(g) +
                  ")");
    Tensor t = tensor_from_json(value, name);
    const Shape& expected = g.node(id).info.shape;
    if (!shape_matches(expected, shape_of(t)))
      throw Error(name + ".shape: " + to_string(shape_of(t)) + " does not fit the input's shape " +
                  to_string(expected) + " (-1: any batch size)");
    feeds.emplace(name, std::move(t));
  }
  for (int id : g.inputs())
    if (!feeds.count(g.node(id).name))
      throw Error("no value for input \"" + g.node(id).name + "\" " + to_string(g.node(id).info.shape));
  return feeds;
}

Feeds load_feeds(const std::string& path, const Graph& g) {
  const nlohmann::json j = read_json_file(path, kMaxFeedsBytes);
  try {
    return feeds_from_json(j, g);
  } catch (const std::exception& e) {
    rethrow_with_context(path, e);
  }
}

}  // namespace xgrad
