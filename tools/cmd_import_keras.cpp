// `xgrad import-keras FILE --out model.json [--weights w.h5]`: a Keras model (JSON config, Keras 2
// .h5 or Keras 3 .keras) as an xgrad model file; the choices made are printed (stderr).
#include <iostream>
#include <memory>

#include "core/hdf5.h"
#include "graph/keras_import.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ImportKerasOptions {
  std::string file, out, weights;
};

void run_import_keras(const ImportKerasOptions& o) {
  const KerasImport imported = import_keras(o.file, o.weights);
  for (const std::string& note : imported.notes) std::cerr << "xgrad: note: " << note << "\n";
  const Model& m = imported.model;
  save_model(o.out, m.graph, m.weights.empty() ? nullptr : &m.weights, m.meta);
  std::cout << o.out << ": " << m.graph.size() << " nodes, " << m.graph.param_count() << " parameters"
            << (m.weights.empty() ? " (no weights: initialized when trained)" : ", weights imported") << "\n";
}

}  // namespace

void add_import_keras_command(CLI::App& app) {
  auto opts = std::make_shared<ImportKerasOptions>();
  auto* cmd =
      app.add_subcommand("import-keras", "Convert a Keras model (.json config, .h5, .keras) to a model file");
  cmd->add_option("FILE", opts->file,
                  "Keras model: model.to_json() output, a Keras 2 .h5 model or a .keras archive")
      ->required();
  cmd->add_option("--out", opts->out, "Output model file (a .gz name is gzip-compressed)")->required();
  cmd->add_option("--weights", opts->weights, "Keras weights file (save_weights .h5) to apply to FILE");
  cmd->footer(hdf5::available() ? ""
                                : "This xgrad was built without HDF5: only JSON configs can be imported.");
  cmd->callback([opts] { run_import_keras(*opts); });
}

}  // namespace xgrad::cli
