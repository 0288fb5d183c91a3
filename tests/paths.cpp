#include "tests/paths.h"

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

}  // namespace xgrad::test
