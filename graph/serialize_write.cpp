// Writing a model file. Every attribute is written out in full (op->attrs()), so a file says
// exactly what it computes; bytes come from dump_json, the one deterministic writer.
#include "core/error.h"
#include "core/json_io.h"
#include "graph/serialize.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

// The lowest version that holds the graph: files without states stay readable by older xgrads.
int format_version_for(const Graph& g) { return g.states().empty() ? 1 : 2; }

json graph_to_json(const Graph& g) {
  json inputs = json::array(), params = json::array(), states = json::array(), nodes = json::array();
  json outputs = json::object();
  for (const Node& n : g.nodes()) {
    if (n.kind == NodeKind::Input) {
      inputs.push_back({{"name", n.name}, {"shape", n.info.shape}, {"dtype", dtype_name(n.info.dtype)}});
    } else if (n.kind == NodeKind::Param || n.kind == NodeKind::State) {
      (n.kind == NodeKind::Param ? params : states)
          .push_back({{"name", n.name}, {"shape", n.info.shape}, {"init", n.init.to_json()}});
    } else {
      json in = json::array();
      for (int id : n.inputs) in.push_back(g.node(id).name);
      nodes.push_back(
          {{"name", n.name}, {"op", std::string(n.op->type())}, {"inputs", in}, {"attrs", n.op->attrs()}});
    }
  }
  for (const auto& [role, id] : g.outputs()) outputs[role] = g.node(id).name;
  json out = {{"inputs", inputs}, {"params", params}, {"nodes", nodes}, {"outputs", outputs}};
  if (format_version_for(g) >= 2) out["states"] = states;
  return out;
}

json weights_to_json(const Graph& g, const Params& weights) {
  json out = json::object();
  for (const auto& [name, t] : weights) {
    if (!is_weight(g, name))
      throw Error("weights given for \"" + name + "\", which is not a param or state of graph \"" + g.name() +
                  "\"");
    const Node& n = g.node(g.id(name));
    if (shape_of(t) != n.info.shape)
      throw Error("weights for \"" + name + "\" have shape " + to_string(shape_of(t)) + ", the " +
                  kind_name(n.kind) + " has " + to_string(n.info.shape));
    try {
      out[name] = tensor_to_json(t);
    } catch (const std::exception& e) {
      throw Error("weights." + name + ": " + e.what());
    }
  }
  return out;
}

}  // namespace

json model_to_json(const Graph& g, const Params* weights, const json& meta) {
  if (!meta.is_object()) throw Error("meta: expected an object, found " + std::string(meta.type_name()));
  json j = {{"format", kFormatName},
            {"format_version", format_version_for(g)},
            {"name", g.name()},
            {"graph", graph_to_json(g)},
            {"meta", meta}};
  if (weights) j["weights"] = weights_to_json(g, *weights);
  return j;
}

std::string model_to_string(const Graph& g, const Params* weights, const json& meta) {
  return dump_json(model_to_json(g, weights, meta));
}

void save_model(const std::string& path, const Graph& g, const Params* weights, const json& meta) {
  std::string text;
  try {
    text = model_to_string(g, weights, meta);
  } catch (const std::exception& e) {
    throw Error(path + ": not written: " + e.what());
  }
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  write_file_atomic(path, gz ? gzip_compress(text) : text);
}

}  // namespace xgrad
