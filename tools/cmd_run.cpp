// `xgrad run --model M.json --inputs I.json [--mode train|eval] [--grads] [--out R.json] [--seed N]`:
// evaluates a model on given inputs and writes every value (with --grads the loss gradient of every
// param and float input; in train mode the updated states) as JSON. The numbers are the engine's
// own: this is the cross-checking tool.
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/engine.h"
#include "graph/feeds.h"
#include "graph/serialize.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

using json = nlohmann::json;

struct RunOptions {
  std::string model, inputs, out;
  std::string mode = "train";
  bool grads = false;
  uint64_t seed = 0;
};

void put(json& section, const std::string& section_name, const std::string& name, const Tensor& t) {
  try {
    section[name] = tensor_to_json(t);
  } catch (const std::exception& e) {
    throw Error(section_name + "." + name + ": " + e.what());
  }
}

json evaluate(const Model& m, const Feeds& feeds, const RunOptions& opts) {
  const Graph& g = m.graph;
  if (opts.grads && !g.has_output("loss"))
    throw Error(opts.model + ": --grads needs a \"loss\" output in graph.outputs, the model has none");
  const Params weights = complete_weights(g, m.weights, opts.seed);
  Engine engine(g);
  ForwardOptions options;
  options.mode = opts.mode == "eval" ? Mode::Eval : Mode::Train;
  options.backward = opts.grads;
  options.seed = opts.seed;  // dropout masks of step 0
  engine.forward(feeds, weights, options);
  json values = json::object(), grads = json::object(), states = json::object();
  for (int id = 0; id < g.size(); ++id)
    if (!is_weight(g, g.node(id).name)) put(values, "values", g.node(id).name, engine.value(id));
  if (opts.grads) {
    engine.backward(g.output("loss"));
    for (int id = 0; id < g.size(); ++id) {
      const Node& n = g.node(id);
      if (n.kind == NodeKind::Op || n.kind == NodeKind::State || n.info.dtype != DType::Float32) continue;
      // No gradient means the loss does not depend on it: the gradient is zero.
      const Tensor* grad = engine.grad(id);
      put(grads, "grads", n.name, grad ? *grad : make_tensor(shape_of(engine.value(id))));
    }
  }
  json out = {{"values", values}, {"grads", grads}};
  if (options.mode == Mode::Train && !g.states().empty()) {
    Params updated = weights;  // states no op updated keep their values
    engine.store_states(updated);
    for (int id : g.states()) put(states, "states", g.node(id).name, updated.at(g.node(id).name));
    out["states"] = states;
  }
  return out;
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto opts = std::make_shared<RunOptions>();
  auto* cmd =
      app.add_subcommand("run", "Evaluate a model on inputs from a JSON file; print values (and grads)");
  cmd->add_option("--model", opts->model, "Model file (xgrad-model JSON, optionally .gz)")->required();
  cmd->add_option("--inputs", opts->inputs, "JSON file: {input name: {\"shape\": [...], \"data\": [...]}}")
      ->required();
  cmd->add_option("--mode", opts->mode,
                  "train (batch statistics, dropout; the states' updates are written) or eval")
      ->check(CLI::IsMember({"train", "eval"}))
      ->capture_default_str();
  cmd->add_flag("--grads", opts->grads,
                "Also write the gradient of the \"loss\" output w.r.t. params and inputs");
  cmd->add_option("--out", opts->out, "Output file (default: stdout)");
  cmd->add_option("--seed", opts->seed, "Seed for params without weights in the file (default 0)");
  cmd->callback([opts] {
    const Model model = load_model(opts->model);
    const Feeds feeds = load_feeds(opts->inputs, model.graph);
    const std::string text = dump_json(evaluate(model, feeds, *opts));
    if (opts->out.empty() || opts->out == "-")
      std::cout << text << std::flush;
    else
      write_file_atomic(opts->out, text);
  });
}

}  // namespace xgrad::cli
