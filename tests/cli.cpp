#include "tests/cli.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>

#include "core/json_io.h"
#include "tests/paths.h"

namespace xgrad::test {

CliRun run_shell(const std::string& dir, const std::string& script) {
  const std::string out = dir + "/.xgrad.stdout", err = dir + "/.xgrad.stderr";
  const std::string cmd =
      "cd '" + dir + "' && XGRAD='" + cli_path() + "' && (" + script + ") >'" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  CliRun r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text_file(out), read_text_file(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

CliRun run_xgrad(const std::string& dir, const std::string& args) {
  return run_shell(dir, "\"$XGRAD\" " + args);
}

}  // namespace xgrad::test
