#pragma once
// The one error type of xgrad: every message says what went wrong, where, and what was expected.
// Messages echo names and bytes from input files, so they are made printable on construction:
// a message is always one line of valid UTF-8, whatever the input held.
#include <stdexcept>
#include <string>
#include <string_view>

namespace xgrad {

// `text` with every byte that is a control character (including newline and DEL) or not part of
// valid UTF-8 written as \xNN, and backslash as itself; printable ASCII and valid UTF-8 are kept.
// Applying it twice changes nothing more.
std::string printable(std::string_view text);

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(printable(what)) {}
  explicit Error(const char* what) : Error(std::string(what)) {}
};

// Prefixes an error's message with where it happened, e.g. `with_context("graph.nodes[3]", e)`.
[[noreturn]] inline void rethrow_with_context(const std::string& where, const std::exception& e) {
  throw Error(where + ": " + e.what());
}

}  // namespace xgrad
