#pragma once
// Test helpers for file-format tests: a temp directory removed at the end, file writing, and
// checking that a call throws xgrad::Error with a message containing given text.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace xgrad::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xgrad-test-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path_))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::filesystem::path path_;
};

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
