#pragma once
// A Python interpreter for the tests that compare with NumPy or PyTorch; such tests are skipped
// when none is installed.
#include <string>

namespace xgrad::test {

// "python3" or "/usr/bin/python3", whichever can `import <modules>` (e.g. "numpy, torch"); "" if none.
std::string python_with(const std::string& modules);

// Runs `python -c script args` (script as one argument); returns the exit status.
int run_python(const std::string& python, const std::string& script, const std::string& args);

}  // namespace xgrad::test
