#pragma once
// One function per subcommand, each in its own tools/cmd_<name>.cpp; xgrad.cpp lists them.
#include <CLI/CLI.hpp>

namespace xgrad::cli {

void add_ops_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_summary_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_import_weights_command(CLI::App& app);
void add_dot_command(CLI::App& app);
void add_import_onnx_command(CLI::App& app);
void add_import_keras_command(CLI::App& app);

}  // namespace xgrad::cli
