#pragma once
// The one error type of xgrad: every message says what went wrong, where, and what was expected.
#include <stdexcept>
#include <string>

namespace xgrad {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Prefixes an error's message with where it happened, e.g. `with_context("graph.nodes[3]", e)`.
[[noreturn]] inline void rethrow_with_context(const std::string& where, const std::exception& e) {
  throw Error(where + ": " + e.what());
}

}  // namespace xgrad
