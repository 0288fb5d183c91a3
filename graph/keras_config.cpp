#include "graph/keras_config.h"

#include <cctype>

#include "core/error.h"
#include "graph/json_fields.h"
#include "graph/limits.h"

namespace xgrad {
namespace {

using nlohmann::json;

bool is_ref_leaf(const json& j) {
  return j.is_array() && j.size() >= 3 && j[0].is_string() && j[1].is_number_integer() &&
         j[2].is_number_integer();
}

bool is_keras_tensor(const json& j) {
  return j.is_object() && j.contains("class_name") && j["class_name"] == "__keras_tensor__";
}

KerasRef ref_from(const json& j) { return {j[0].get<std::string>(), j[1].get<int>(), j[2].get<int>()}; }

// input_layers / output_layers: one [name, node, tensor], or lists/dicts of them (in order).
void collect_refs(const json& j, const std::string& where, std::vector<KerasRef>& out) {
  if (is_ref_leaf(j)) return out.push_back(ref_from(j));
  if (!j.is_array() && !j.is_object())
    throw Error(where + ": expected [layer name, node index, tensor index], found " + json_found(j));
  size_t i = 0;
  for (const auto& item : j.items()) collect_refs(item.value(), json_path(where, i++), out);
}

// Keras 3 call arguments: every serialized KerasTensor, depth first, in order.
void collect_tensors(const json& j, const std::string& where, std::vector<KerasRef>& out) {
  if (is_keras_tensor(j)) {
    const json* history = j.contains("config") ? &j["config"] : nullptr;
    if (!history || !history->is_object() || !is_ref_leaf(history->value("keras_history", json())))
      throw Error(where + ".config.keras_history: expected [layer name, node index, tensor index]");
    return out.push_back(ref_from((*history)["keras_history"]));
  }
  if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) collect_tensors(j[i], json_path(where, i), out);
}

std::vector<KerasRef> parse_call(const json& node, const std::string& where) {
  std::vector<KerasRef> inputs;
  if (node.is_array()) {  // Keras 2: [["dense", 0, 0, {kwargs}], ...]
    for (size_t i = 0; i < node.size(); ++i) {
      if (!is_ref_leaf(node[i]))
        throw Error(json_path(where, i) + ": expected [layer name, node index, tensor index, kwargs]");
      inputs.push_back(ref_from(node[i]));
    }
  } else if (node.is_object() && node.contains("args")) {  // Keras 3: {"args": [...], "kwargs": {...}}
    collect_tensors(node["args"], where + ".args", inputs);
    // Non-tensor keyword arguments (training=..., mask=None) do not change inference.
    const json kwargs = node.value("kwargs", json::object());
    for (const auto& kv : kwargs.items())
      if (is_keras_tensor(kv.value()))
        throw Error(where + ".kwargs." + kv.key() + ": tensors passed by keyword are not supported");
  } else {
    throw Error(where + ": expected a list of inbound tensors or {\"args\", \"kwargs\"}, found " +
                json_found(node));
  }
  return inputs;
}

KerasLayer parse_layer(const json& j, const std::string& path, bool functional) {
  Fields f(j, path);
  KerasLayer layer;
  layer.class_name = keras_class_name(j, path);
  const json& config = f.required("config");
  if (!config.is_object()) throw Error(f.at("config") + ": expected an object, found " + json_found(config));
  layer.config = config;
  const json* name = j.contains("name") ? &j["name"] : config.contains("name") ? &config["name"] : nullptr;
  if (!name || !name->is_string() || name->get<std::string>().empty())
    throw Error(f.at("config") + ".name: expected the layer's name (a non-empty string)");
  layer.name = name->get<std::string>();
  layer.where = "layer \"" + layer.name + "\" (" + layer.class_name + ") at " + path;
  if (!functional) return layer;
  const json& nodes = f.array("inbound_nodes");
  for (size_t i = 0; i < nodes.size(); ++i)
    layer.calls.push_back(parse_call(nodes[i], json_path(f.at("inbound_nodes"), i)));
  return layer;
}

// The per-sample input shape of a Sequential model without an InputLayer.
json sequential_input_shape(const json& model, const json& config, const KerasLayer& first) {
  for (const char* key : {"batch_input_shape", "batch_shape"})
    if (first.config.contains(key)) return first.config[key];
  if (config.is_object() && config.contains("build_input_shape")) return config["build_input_shape"];
  if (model.is_object() && model.contains("build_config") && model["build_config"].contains("input_shape"))
    return model["build_config"]["input_shape"];
  throw Error(first.where +
              ": the model's input shape is unknown (expected an InputLayer, \"batch_input_shape\" "
              "on the first layer, or the model's \"build_input_shape\")");
}

void finish_sequential(KerasModel& m, const json& model, const json& config) {
  if (m.layers.empty()) throw Error(m.source + ": the model has no layers");
  if (m.layers[0].class_name != "InputLayer") {
    KerasLayer input;
    input.class_name = "InputLayer";
    input.name = m.layers[0].name + "_input";
    input.config = {{"batch_input_shape", sequential_input_shape(model, config, m.layers[0])},
                    {"name", input.name}};
    input.where = "layer \"" + input.name + "\" (InputLayer, made from " + m.layers[0].where + ")";
    m.layers.insert(m.layers.begin(), std::move(input));
  }
  for (size_t i = 1; i < m.layers.size(); ++i) {
    if (m.layers[i].class_name == "InputLayer")
      throw Error(m.source + ": " + m.layers[i].where +
                  ": an InputLayer can only come first in a Sequential model");
    m.layers[i].calls = {{KerasRef{m.layers[i - 1].name, 0, 0}}};
  }
  m.inputs = {{m.layers.front().name, 0, 0}};
  m.outputs = {{m.layers.back().name, 0, 0}};
}

void parse_layers(KerasModel& m, const json& layers, const std::string& path, bool functional) {
  if (!layers.is_array())
    throw Error(m.source + ": " + path + ": expected a list of layers, found " + json_found(layers));
  if (layers.size() > kMaxGraphNodes)  // each layer becomes at least one node
    throw Error(m.source + ": " + path + ": " + std::to_string(layers.size()) +
                " layers, more than the limit of " + std::to_string(kMaxGraphNodes) + " nodes");
  for (size_t i = 0; i < layers.size(); ++i)
    m.layers.push_back(parse_layer(layers[i], json_path(path, i), functional));
}

void parse_body(KerasModel& m, const json& j) {
  if (j.is_array()) {  // a bare list of layers: a Sequential model
    m.sequential = true;
    parse_layers(m, j, "", false);
    return finish_sequential(m, j, json());
  }
  Fields f(j, "");
  const std::string cls = keras_class_name(j, "");
  const json& config = f.required("config");
  if (cls == "Sequential") {
    m.sequential = true;
    const bool bare = config.is_array();
    if (!bare && config.is_object() && config.contains("name") && config["name"].is_string())
      m.name = config["name"].get<std::string>();
    parse_layers(m, bare ? config : Fields(config, "config").array("layers"),
                 bare ? "config" : "config.layers", false);
    return finish_sequential(m, j, config);
  }
  if (cls != "Functional" && cls != "Model")
    throw Error("class_name: expected a model (Sequential, Functional or Model), found \"" + cls + "\"");
  Fields c(config, "config");
  m.name = c.string("name");
  parse_layers(m, c.array("layers"), "config.layers", true);
  collect_refs(c.required("input_layers"), "config.input_layers", m.inputs);
  collect_refs(c.required("output_layers"), "config.output_layers", m.outputs);
}

}  // namespace

std::string keras_class_name(const json& j, const std::string& where) {
  Fields f(j, where);
  std::string cls = f.string("class_name");
  // Keras 2.13+/3 name registered custom objects "Package>Class"; built-in ones have null.
  if (const json* reg = f.optional("registered_name");
      reg && reg->is_string() && *reg != cls && *reg != "function")
    throw Error(f.at("registered_name") + ": custom class \"" + reg->get<std::string>() +
                "\" is not supported");
  return cls;
}

std::string keras_snake_case(const std::string& class_name) {
  // Keras' to_snake_case: drop non-word characters, "_" before an upper case letter followed by
  // lower case ones (not at the start), and between a lower case letter and an upper case one.
  std::string s, out;
  for (char c : class_name)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') s += c;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool up = std::isupper(static_cast<unsigned char>(s[i]));
    const bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
    const bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(s[i - 1]));
    if (i > 0 && up && (next_lower || prev_lower)) out += '_';
    out += char(std::tolower(static_cast<unsigned char>(s[i])));
  }
  return out;
}

KerasModel parse_keras_model(const json& j, const std::string& source) {
  KerasModel m;
  m.source = source;
  try {
    parse_body(m, j);
    if (j.is_object() && j.contains("compile_config") && j["compile_config"].is_object())
      m.loss = j["compile_config"].value("loss", json());
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(source + ": ", 0) == 0) throw;
    rethrow_with_context(source, e);
  } catch (const json::exception& e) {  // a field of an unexpected JSON type
    rethrow_with_context(source, e);
  }
  if (m.inputs.empty()) throw Error(source + ": the model has no inputs");
  if (m.outputs.empty()) throw Error(source + ": the model has no outputs");
  return m;
}

}  // namespace xgrad
