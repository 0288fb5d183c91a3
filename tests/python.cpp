#include "tests/python.h"

#include <cstdlib>
#include <map>

namespace xgrad::test {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string python_with(const std::string& modules) {
  static std::map<std::string, std::string> found;
  if (auto it = found.find(modules); it != found.end()) return it->second;
  std::string& python = found[modules];
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string cmd =
        std::string(candidate) + " -c " + quoted("import " + modules) + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return python = candidate;
  }
  return python;
}

int run_python(const std::string& python, const std::string& script, const std::string& args) {
  const std::string cmd = python + " -c " + quoted(script) + " " + args;
  return std::system(cmd.c_str());
}

}  // namespace xgrad::test
