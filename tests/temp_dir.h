#pragma once
// The tests' one temporary directory: a fresh empty directory under the system temp dir, removed
// with its contents on destruction (write permission restored first, for fault tests that take it).
#include <string>
#include <vector>

namespace xgrad::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string path(const std::string& name) const { return path_ + "/" + name; }
  std::string file(const std::string& name) const { return path(name); }
  // Writes `text` to `name` in the directory and returns the file's path.
  std::string write(const std::string& name, const std::string& text) const;
  // The names in the directory, sorted.
  std::vector<std::string> entries() const;

 private:
  std::string path_;
};

}  // namespace xgrad::test
