// `xgrad export --builtin lenet|lenet-relu|mlp [--out FILE]`: the architecture of a C++ model
// builder as a model file (no weights). models/lenet.json and models/lenet-relu.json are made by it.
// `xgrad export --model M.json --onnx M.onnx [--opset 13] [--output logits|probs]`: a trained model
// as ONNX (graph/onnx.h).
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/onnx.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ExportOptions {
  std::string builtin;
  std::string out;
  std::string model, onnx, output;  // --onnx
  int opset = OnnxExportOptions{}.opset;
};

Graph builtin_graph(const std::string& name) {
  if (name == "lenet") return lenet("sigmoid");
  if (name == "lenet-relu") return lenet("relu");
  if (name == "mlp") return mlp();
  throw Error("--builtin: unknown model \"" + name + "\" (expected lenet, lenet-relu or mlp)");
}

// Empty meta: the file is exactly what the builder produces, so a test can compare bytes.
std::string builtin_model_text(const std::string& name) {
  return model_to_string(builtin_graph(name), nullptr, nlohmann::json::object());
}

void add_onnx_options(CLI::App* cmd, ExportOptions& o) {
  cmd->add_option("--model", o.model, "Model file with weights to export (with --onnx)");
  cmd->add_option("--onnx", o.onnx, "Write the model as ONNX to this file");
  cmd->add_option("--opset", o.opset, "ONNX opset (11 to 17)")->capture_default_str();
  cmd->add_option("--output", o.output, "logits or probs (default: logits if the model has it)");
}

void write_onnx(const ExportOptions& o) {
  if (o.model.empty()) throw Error("--onnx needs --model M.json (a model with weights)");
  const Model m = load_model(o.model);
  export_onnx(o.onnx, m.graph, m.weights, m.meta, OnnxExportOptions{o.opset, o.output});
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto opts = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export",
                                 "Write a built-in model's architecture as a model file, or a model as ONNX");
  cmd->add_option("--builtin", opts->builtin, "lenet, lenet-relu or mlp");
  cmd->add_option("--out", opts->out, "Output file (default: stdout); a .gz name is gzip-compressed");
  add_onnx_options(cmd, *opts);
  cmd->callback([opts] {
    if (!opts->onnx.empty()) return write_onnx(*opts);
    if (opts->builtin.empty()) throw Error("expected --builtin NAME, or --model M.json --onnx M.onnx");
    const std::string text = builtin_model_text(opts->builtin);
    if (opts->out.empty() || opts->out == "-") {
      std::cout << text << std::flush;
      return;
    }
    const bool gz = opts->out.size() > 3 && opts->out.compare(opts->out.size() - 3, 3, ".gz") == 0;
    write_file_atomic(opts->out, gz ? gzip_compress(text) : text);
  });
}

}  // namespace xgrad::cli
