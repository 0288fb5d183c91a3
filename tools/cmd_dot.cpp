// `xgrad dot --model M.json [--svg out.svg]`: the graph as Graphviz DOT on stdout, or drawn as SVG by
// Graphviz's dot program (graph/dot.h).
#include <iostream>
#include <memory>

#include "core/json_io.h"
#include "graph/dot.h"
#include "graph/serialize.h"
#include "tools/commands.h"

namespace xgrad::cli {

void add_dot_command(CLI::App& app) {
  struct Options {
    std::string model, svg;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("dot", "Print a model's graph as Graphviz DOT, or draw it as SVG");
  cmd->add_option("--model", o->model, "Model file")->required();
  cmd->add_option("--svg", o->svg, "Write an SVG drawing here (needs Graphviz's dot)");
  cmd->callback([o] {
    const std::string dot = graph_to_dot(load_model(o->model).graph);
    if (o->svg.empty()) {
      std::cout << dot << std::flush;
      return;
    }
    write_file_atomic(o->svg, dot_to_svg(dot));
  });
}

}  // namespace xgrad::cli
