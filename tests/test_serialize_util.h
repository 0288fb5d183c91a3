#pragma once
// Test helpers for file-format tests: a temp directory removed at the end, file writing, and
// checking that a call throws xgrad::Error with a message containing given text.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/temp_dir.h"

namespace xgrad::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The message of the xgrad::Error `f` throws ("" and a failed check if it does not throw one).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL("threw a non-xgrad exception: " << e.what());
    return "";
  }
  FAIL("did not throw");
  return "";
}

}  // namespace xgrad::test

// Checks that `expr` throws xgrad::Error whose message contains every given substring.
#define CHECK_ERROR_HAS(expr, ...)                                           \
  do {                                                                       \
    const std::string msg_ = ::xgrad::test::error_of([&] { (void)(expr); }); \
    for (const char* part_ : {__VA_ARGS__}) {                                \
      INFO("message: " << msg_);                                             \
      CHECK(msg_.find(part_) != std::string::npos);                          \
    }                                                                        \
  } while (0)
