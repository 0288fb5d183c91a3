// The xgrad command-line program. Each subcommand registers itself from its own file; errors are
// reported as one line on stderr with a non-zero exit, never as a crash.
#include <iostream>

#include "core/error.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"xgrad: a small graph-based reverse-mode autodiff framework for CNNs"};
  app.set_version_flag("--version", std::string("xgrad ") + XGRAD_VERSION);
  app.require_subcommand(1);
  xgrad::cli::add_ops_command(app);
  xgrad::cli::add_bench_command(app);
  xgrad::cli::add_export_command(app);
  xgrad::cli::add_run_command(app);
  xgrad::cli::add_summary_command(app);
  xgrad::cli::add_train_command(app);
  xgrad::cli::add_eval_command(app);
  xgrad::cli::add_predict_command(app);
  xgrad::cli::add_import_weights_command(app);
  xgrad::cli::add_dot_command(app);
  xgrad::cli::add_import_onnx_command(app);
  xgrad::cli::add_import_keras_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "xgrad: error: " << xgrad::printable(e.what()) << "\n";
    return 1;
  }
  return 0;
}
