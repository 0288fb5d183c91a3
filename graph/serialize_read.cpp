// Reading a model file: the envelope (format, version, name, meta) and the weights; the graph
// section is in serialize_graph.cpp.
#include "core/json_io.h"
#include "graph/json_fields.h"
#include "graph/serialize.h"
#include "graph/serialize_detail.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

// The file's format_version, checked: 1 up to what this build reads.
int check_format(Fields& f) {
  const json& format = f.required("format");
  if (format != kFormatName)
    throw Error(f.at("format") + ": expected \"" + kFormatName + "\", found " + json_found(format));
  const json& version = f.required("format_version");
  if (!version.is_number_integer())
    throw Error(f.at("format_version") + ": expected an integer, found " + json_found(version));
  if (version.is_number_unsigned() ? version.get<uint64_t>() > uint64_t(kFormatVersion)
                                   : version.get<int64_t>() > kFormatVersion)
    throw Error(f.at("format_version") + ": the file was written by a newer xgrad (format_version " +
                version.dump() + "; this build reads up to " + std::to_string(kFormatVersion) + ")");
  if (version.get<int64_t>() < 1)
    throw Error(f.at("format_version") + ": expected 1 to " + std::to_string(kFormatVersion) + ", found " +
                version.dump());
  return version.get<int>();
}

// "weights": {"param or state name": T}; only params and states of the graph, with their shapes.
Params read_weights(const json& w, const Graph& g) {
  if (!w.is_object()) throw Error("weights: expected an object {param name: tensor}, found " + json_found(w));
  Params out;
  for (const auto& [name, value] : w.items()) {
    const std::string at = json_path("weights", name);
    const int id = g.find(name);
    if (id < 0) throw Error(at + ": the graph has no param or state named \"" + name + "\"");
    const Node& n = g.node(id);
    if (n.kind != NodeKind::Param && n.kind != NodeKind::State)
      throw Error(at + ": \"" + name + "\" is an " + kind_name(n.kind) +
                  " node, weights are for params and states only");
    Tensor t = tensor_from_json(value, at);
    if (shape_of(t) != n.info.shape)
      throw Error(json_path(at, "shape") + ": " + to_string(shape_of(t)) + " does not match the " +
                  kind_name(n.kind) + "'s shape " + to_string(n.info.shape));
    out.emplace(name, std::move(t));
  }
  return out;
}

Model read_model(const json& j) {
  Fields f(j, "");
  const int version = check_format(f);
  std::string name = "model";
  if (const json* n = f.optional("name")) {
    if (!n->is_string()) throw Error("name: expected a string, found " + json_found(*n));
    name = n->get<std::string>();
  }
  Model m;
  m.graph = graph_from_json(f.required("graph"), "graph", name, version);
  if (const json* w = f.optional("weights")) m.weights = read_weights(*w, m.graph);
  if (const json* meta = f.optional("meta")) {
    if (!meta->is_object()) throw Error("meta: expected an object, found " + json_found(*meta));
    m.meta = *meta;
  }
  f.finish("\"format\", \"format_version\", \"name\", \"graph\", \"weights\", \"meta\"");
  return m;
}

}  // namespace

Model model_from_json(const json& j, const std::string& source) {
  try {
    return read_model(j);
  } catch (const std::exception& e) {
    throw Error(source + ": " + e.what());
  }
}

Model load_model(const std::string& path) {
  return model_from_json(read_json_file(path, kMaxModelBytes), path);
}

}  // namespace xgrad
