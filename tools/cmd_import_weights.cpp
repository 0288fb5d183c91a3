// `xgrad import-weights --model M.json --npz W.npz --out M2.json [--layout xgrad|torch|keras]`: the
// model with its weights replaced by a NumPy archive's. Strict: any missing, unexpected or
// mismatched array is listed and nothing is written.
#include <cstdio>
#include <memory>

#include "core/npz.h"
#include "graph/layout.h"
#include "graph/serialize.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ImportWeightsOptions {
  std::string model, npz, out, layout = "xgrad";
};

void run_import(const ImportWeightsOptions& o) {
  const WeightLayout layout = weight_layout_from_name(o.layout);
  const Model m = load_model(o.model);
  const Params weights = import_weights(m.graph, read_npz(o.npz), layout, o.npz);
  save_model(o.out, m.graph, &weights, m.meta);
  std::printf("%zu weights (%s layout) from %s: model written to %s\n", weights.size(),
              weight_layout_name(layout), o.npz.c_str(), o.out.c_str());
}

}  // namespace

void add_import_weights_command(CLI::App& app) {
  auto o = std::make_shared<ImportWeightsOptions>();
  auto* cmd = app.add_subcommand("import-weights", "Replace a model's weights with those of a NumPy .npz");
  cmd->add_option("--model", o->model, "Model file (its graph)")->required();
  cmd->add_option("--npz", o->npz, "NumPy archive with one array per param and state")->required();
  cmd->add_option("--out", o->out, "Where to write the model with the imported weights")->required();
  cmd->add_option("--layout", o->layout, "Layout of the arrays: xgrad, torch or keras")
      ->capture_default_str();
  cmd->callback([o] { run_import(*o); });
}

}  // namespace xgrad::cli
