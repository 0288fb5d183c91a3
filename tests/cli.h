#pragma once
// Runs the built xgrad program as a user would, in a given directory, capturing its output.
#include <string>

namespace xgrad::test {

struct CliRun {
  int status = -1;  // exit status; -1 when killed by a signal
  std::string out, err;
};

// `cd dir && (script)` in sh, with $XGRAD naming the built program; stdout and stderr are captured
// through files in `dir`.
CliRun run_shell(const std::string& dir, const std::string& script);

// `cd dir && xgrad args`, captured like run_shell.
CliRun run_xgrad(const std::string& dir, const std::string& args);

}  // namespace xgrad::test
