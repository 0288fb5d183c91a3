// `xgrad import-onnx M.onnx --out M.json [--input-name image] [--no-loss]`: an ONNX model (PyTorch,
// tf2onnx) as an xgrad model file with its weights, ready for xgrad train/eval/export.
#include <iostream>
#include <memory>

#include "graph/onnx.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ImportOptions {
  std::string file, out;
  OnnxImportOptions onnx;
  bool no_loss = false;
};

}  // namespace

void add_import_onnx_command(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  auto* cmd =
      app.add_subcommand("import-onnx", "Convert an ONNX model (with its weights) to an xgrad model file");
  cmd->add_option("file", o->file, "The .onnx file")->required();
  cmd->add_option("--out", o->out, "Model file to write (a .gz name is gzip-compressed)")->required();
  cmd->add_option("--input-name", o->onnx.input_name,
                  "Name for the model's input (empty: keep the ONNX name)")
      ->capture_default_str();
  cmd->add_flag("--no-loss", o->no_loss, "Do not add the label input and softmax cross-entropy loss");
  cmd->callback([o] {
    o->onnx.add_loss = !o->no_loss;
    const Model m = import_onnx(o->file, o->onnx);
    save_model(o->out, m.graph, &m.weights, m.meta);
    std::cout << "imported " << m.graph.size() << " nodes, " << m.graph.param_count() << " parameters -> "
              << o->out << "\n";
  });
}

}  // namespace xgrad::cli
