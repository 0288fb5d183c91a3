// `xgrad export --builtin NAME [--out FILE]` (models/builtin.h: lenet, lenet-relu, mlp, vgg, resnet,
// mobilenet): the architecture of a C++ model builder as a model file (no weights). The JSON models
// in models/ are made by it.
// `xgrad export --model M.json --npz W.npz [--layout xgrad|torch|keras]`: the model's weights as a
// NumPy archive in another framework's layout (graph/layout.h).
// `xgrad export --model M.json --onnx M.onnx [--opset 13] [--output logits|probs]`: a trained model
// as ONNX (graph/onnx.h).
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/layout.h"
#include "graph/onnx.h"
#include "graph/serialize.h"
#include "models/builtin.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ExportOptions {
  std::string builtin, model, out, npz, layout = "xgrad";
  std::string onnx, output;  // --onnx
  int opset = OnnxExportOptions{}.opset;
};

// Empty meta: the file is exactly what the builder produces, so a test can compare bytes.
std::string builtin_model_text(const std::string& name) {
  try {
    return model_to_string(builtin_graph(name), nullptr, nlohmann::json::object());
  } catch (const std::exception& e) {
    rethrow_with_context("--builtin", e);
  }
}

void export_builtin(const ExportOptions& o) {
  const std::string text = builtin_model_text(o.builtin);
  if (o.out.empty() || o.out == "-") {
    std::cout << text << std::flush;
    return;
  }
  const bool gz = o.out.size() > 3 && o.out.compare(o.out.size() - 3, 3, ".gz") == 0;
  write_file_atomic(o.out, gz ? gzip_compress(text) : text);
}

void export_npz(const ExportOptions& o) {
  const WeightLayout layout = weight_layout_from_name(o.layout);
  const Model m = load_model(o.model);
  try {
    check_params(m.graph, m.weights);
  } catch (const Error& e) {
    throw Error(o.model + ": cannot export weights the model does not have (train it first): " + e.what());
  }
  const NpzArrays arrays = export_weights(m.graph, m.weights, layout);
  write_npz(o.npz, arrays);
  std::printf("%zu arrays (%s layout) written to %s\n", arrays.size(), weight_layout_name(layout),
              o.npz.c_str());
}

void export_onnx_file(const ExportOptions& o) {
  const Model m = load_model(o.model);
  export_onnx(o.onnx, m.graph, m.weights, m.meta, OnnxExportOptions{o.opset, o.output});
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand(
      "export", "Write a built-in model as a model file, a model's weights as .npz, or a model as ONNX");
  auto* builtin = cmd->add_option("--builtin", o->builtin, "A built-in model: " + builtin_name_list());
  auto* model = cmd->add_option("--model", o->model, "Model file whose weights to export (with --npz)");
  cmd->add_option("--out", o->out, "Output file (default: stdout); a .gz name is gzip-compressed");
  auto* npz = cmd->add_option("--npz", o->npz, "Write the weights as a NumPy .npz archive")->needs(model);
  cmd->add_option("--layout", o->layout, "Weight layout of --npz: xgrad, torch or keras")
      ->capture_default_str()
      ->needs(npz);
  auto* onnx = cmd->add_option("--onnx", o->onnx, "Write the model as ONNX to this file")->needs(model);
  cmd->add_option("--opset", o->opset, "ONNX opset (11 to 17)")->capture_default_str()->needs(onnx);
  cmd->add_option("--output", o->output, "logits or probs (default: logits if the model has it)")
      ->needs(onnx);
  builtin->excludes(model);
  cmd->callback([o, cmd] {
    if (cmd->count("--builtin")) return export_builtin(*o);
    if (cmd->count("--npz")) export_npz(*o);
    if (cmd->count("--onnx")) export_onnx_file(*o);
    if (!cmd->count("--npz") && !cmd->count("--onnx"))
      throw Error("export: give --builtin NAME, or --model M.json with --npz W.npz and/or --onnx M.onnx");
  });
}

}  // namespace xgrad::cli
