#include "tests/paths.h"

#include <sys/wait.h>

#include <cstdio>

namespace xgrad::test {

const std::string& source_dir() {
  static const std::string dir = XGRAD_SOURCE_DIR;
  return dir;
}

const std::string& cli_path() {
  static const std::string path = XGRAD_CLI_PATH;
  return path;
}

std::string example_path(const std::string& name) { return std::string(XGRAD_EXAMPLES_DIR) + "/" + name; }

int run_command(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  output.clear();
  if (!pipe) return -1;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace xgrad::test
