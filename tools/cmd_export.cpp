// `xgrad export --builtin lenet|lenet-relu|mlp|vgg|resnet [--out FILE]`: the architecture of a C++
// model builder as a model file (no weights). The JSON models in models/ are made by it.
#include <iostream>
#include <memory>

#include "core/error.h"
#include "core/json_io.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "models/resnet.h"
#include "models/vgg.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct ExportOptions {
  std::string builtin;
  std::string out;
};

const char* const kBuiltins = "lenet, lenet-relu, mlp, vgg or resnet";

Graph builtin_graph(const std::string& name) {
  if (name == "lenet") return lenet("sigmoid");
  if (name == "lenet-relu") return lenet("relu");
  if (name == "mlp") return mlp();
  if (name == "vgg") return vgg();
  if (name == "resnet") return resnet();
  throw Error("--builtin: unknown model \"" + name + "\" (expected " + kBuiltins + ")");
}

// Empty meta: the file is exactly what the builder produces, so a test can compare bytes.
std::string builtin_model_text(const std::string& name) {
  return model_to_string(builtin_graph(name), nullptr, nlohmann::json::object());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto opts = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write a built-in model's architecture as a model file");
  cmd->add_option("--builtin", opts->builtin, kBuiltins)->required();
  cmd->add_option("--out", opts->out, "Output file (default: stdout); a .gz name is gzip-compressed");
  cmd->callback([opts] {
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
