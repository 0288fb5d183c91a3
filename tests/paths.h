#pragma once
// Where the tests find the source tree and the built xgrad program. Defined in paths.cpp, the one
// file compiled with these build-specific paths, so the other test files' objects do not depend on
// the checkout's location (they can be shared by a compiler cache across checkouts).
#include <string>

namespace xgrad::test {

const std::string& source_dir();  // the checkout's root
const std::string& cli_path();    // the built xgrad program
// The built example program `name` (from tools/examples/NAME.cpp).
std::string example_path(const std::string& name);
// Runs a shell command; returns its exit status (-1 if it did not exit) with stdout + stderr in `output`.
int run_command(const std::string& command, std::string& output);

}  // namespace xgrad::test
