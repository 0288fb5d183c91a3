#pragma once
// Runs the built xgrad program as a user would, in a given directory, capturing its output.
#include <string>

namespace xgrad::test {

struct CliRun {
  int status = -1;  // exit status; -1 when killed by a signal
  std::string out, err;
};

// `cd dir && xgrad args` with stdout and stderr captured through files in `dir`.
CliRun run_xgrad(const std::string& dir, const std::string& args);

}  // namespace xgrad::test
