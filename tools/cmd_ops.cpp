// `xgrad ops`: the registered ops, one per line, as named in C++, JSON and errors.
#include <iostream>

#include "ops/registry.h"
#include "tools/commands.h"

namespace xgrad::cli {

void add_ops_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("ops", "List the registered ops");
  cmd->callback([] {
    for (const auto& name : registry().names()) std::cout << name << "\n";
  });
}

}  // namespace xgrad::cli
