#include "graph/keras_graph.h"

#include <map>

#include "core/error.h"
#include "graph/keras_builder.h"
#include "graph/keras_loss.h"

namespace xgrad {
namespace {

using nlohmann::json;
using Calls = std::map<std::string, std::vector<KTensor>>;  // layer -> output of each call so far

// InputLayer: Keras 3 "batch_shape", Keras 2 "batch_input_shape" (with the batch dimension).
KTensor map_input(KerasBuilder& kb, const KerasFields& f, const std::string& name) {
  const json* shape = f.get("batch_shape") ? f.get("batch_shape") : f.get("batch_input_shape");
  if (!shape || !shape->is_array() || shape->size() < 2)
    f.fail("batch_shape", "expected the input shape [null, ...] with at least one feature dimension");
  Shape keras;
  for (size_t i = 1; i < shape->size(); ++i) {
    const json& d = (*shape)[i];
    if (!d.is_number_integer() || d.get<int64_t>() < 1)
      f.fail("batch_shape",
             "expected fixed positive sizes after the batch dimension, found " + shape->dump());
    keras.push_back(d.get<int64_t>());
  }
  const std::string dtype = keras_dtype(f.get("dtype") ? *f.get("dtype") : json());
  if (dtype != "float32")
    f.fail("dtype", "only float32 inputs are supported, found " + f.get("dtype")->dump());
  for (const char* key : {"sparse", "ragged"})
    if (f.boolean(key, false)) f.fail(key, "sparse and ragged inputs are not supported");
  Shape xgrad = {-1};
  if (keras.size() == 3)
    xgrad.insert(xgrad.end(), {keras[2], keras[0], keras[1]});
  else
    xgrad.insert(xgrad.end(), keras.begin(), keras.end());
  return {kb.b.input(name, xgrad), keras, {}, "", {}};
}

const KTensor& lookup(const Calls& done, const KerasRef& r) {
  auto it = done.find(r.layer);
  if (it == done.end() || size_t(r.node) >= it->second.size() || r.tensor != 0) {
    static const KTensor missing;
    return missing;
  }
  return it->second[size_t(r.node)];
}

bool ready(const Calls& done, const std::vector<KerasRef>& inputs) {
  for (const KerasRef& r : inputs)
    if (lookup(done, r).v.id < 0) return false;
  return true;
}

// One call of one layer; errors get the file and the layer as context.
void map_call(KerasBuilder& kb, const KerasModel& m, const KerasLayer& layer, size_t call, Calls& done) {
  KerasFields f(layer, m.source);
  try {
    if (layer.class_name == "InputLayer") {
      const std::string name = m.inputs.size() == 1 ? "image" : layer.name;
      done[layer.name].push_back(map_input(kb, f, name));
      return;
    }
    KerasLayerMapper mapper = keras_layer_mapper(layer.class_name);
    if (!mapper)
      throw Error("class_name: unsupported layer class \"" + layer.class_name +
                  "\" (supported: " + keras_supported_layers() + ")");
    KerasCall c{f, {}, call == 0 ? layer.name : layer.name + "_call" + std::to_string(call), call == 0};
    for (const KerasRef& r : layer.calls[call]) c.in.push_back(lookup(done, r));
    done[layer.name].push_back(mapper(kb, c));
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.rfind(f.where(), 0) == 0) throw;
    throw Error(f.where() + ": " + what);
  } catch (const nlohmann::json::exception& e) {  // a field of an unexpected JSON type
    throw Error(f.where() + ": " + e.what());
  }
}

// Layers in any order: each call is mapped once all its inputs exist (shared layers may be called
// at different depths), as Keras' own functional_from_config does.
Calls map_layers(KerasBuilder& kb, const KerasModel& m) {
  Calls done;
  std::vector<size_t> next_call(m.layers.size(), 0);
  for (const KerasLayer& layer : m.layers) kb.begin_layer(layer);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const KerasLayer& layer = m.layers[i];
      const size_t calls = layer.class_name == "InputLayer" ? 1 : layer.calls.size();
      while (next_call[i] < calls &&
             (layer.class_name == "InputLayer" || ready(done, layer.calls[next_call[i]]))) {
        kb.set_layer(i);
        map_call(kb, m, layer, next_call[i]++, done);
        progress = true;
      }
    }
  }
  for (size_t i = 0; i < m.layers.size(); ++i)
    if (m.layers[i].class_name != "InputLayer" && next_call[i] < m.layers[i].calls.size())
      throw Error(m.source + ": " + m.layers[i].where + ": inbound_nodes[" + std::to_string(next_call[i]) +
                  "]: its inputs never become available (an unknown layer, a bad node index or a cycle)");
  return done;
}

}  // namespace

KerasGraph keras_to_graph(const KerasModel& m) {
  KerasGraph out;
  KerasBuilder kb(m.name, out);
  Calls done = map_layers(kb, m);
  if (m.outputs.size() != 1)
    throw Error(m.source + ": output_layers: models with " + std::to_string(m.outputs.size()) +
                " outputs are not supported (one output)");
  for (const KerasRef& r : m.inputs)
    if (lookup(done, r).v.id < 0) throw Error(m.source + ": input_layers: unknown layer \"" + r.layer + "\"");
  const KTensor& result = lookup(done, m.outputs[0]);
  if (result.v.id < 0)
    throw Error(m.source + ": output_layers: unknown layer \"" + m.outputs[0].layer + "\"");
  add_keras_loss(kb, result, m.loss, m.source);
  out.graph = kb.b.finish();
  return out;
}

}  // namespace xgrad
