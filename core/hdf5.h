#pragma once
// A small wrapper over the HDF5 C library for the files Keras writes: groups, string attributes
// (fixed or variable length, scalar or 1-D) and numeric datasets read as float32. Every error
// names the file and the object path ("m.h5: /model_weights/dense: missing attribute ...").
// Without HDF5 at build time (XGRAD_HAVE_HDF5 unset) every function throws saying so.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace xgrad::hdf5 {

// The largest dataset read (elements) and its rank, checked before allocating.
constexpr int64_t kMaxDatasetElements = int64_t(1) << 31;
constexpr int kMaxDatasetRank = 32;

// True when xgrad was built with the HDF5 library.
bool available();
// True when `bytes` start with the HDF5 signature (a file with no user block).
bool has_signature(const std::string& bytes);

// A group (or the file's root group). Keeps the file open while it lives.
class Group {
 public:
  Group(Group&&) noexcept;
  Group& operator=(Group&&) noexcept;
  ~Group();

  const std::string& path() const { return path_; }             // "/model_weights/dense"
  std::string where() const { return source_ + ": " + path_; }  // for error messages

  // `name` may be a relative path ("conv2d/kernel:0"); soft and external links are refused.
  bool has_group(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  bool has_attr(const std::string& name) const;
  Group group(const std::string& name) const;
  std::vector<std::string> children() const;  // link names in creation/name order

  // A string attribute: scalar, or a 1-D array of strings. An empty array of any type reads as {}.
  std::vector<std::string> string_list_attr(const std::string& name) const;
  std::string string_attr(const std::string& name) const;  // exactly one string
  // A float or integer dataset converted to float32; at most 2^31 elements.
  Tensor dataset(const std::string& name) const;

  // Writing, as h5py does for Keras: fixed-length NUL-padded byte strings (np.bytes_), an empty
  // list as an empty float64 array, float32 datasets with intermediate groups created.
  Group create_group(const std::string& name) const;
  void write_string_attr(const std::string& name, const std::string& value,
                         bool variable_length = false) const;
  void write_string_list_attr(const std::string& name, const std::vector<std::string>& values) const;
  void write_dataset(const std::string& name, const Tensor& values) const;

 private:
  friend Group open_file(const std::string&);
  friend Group open_image(const std::string&, const std::string&);
  friend Group create_file(const std::string&);
  Group(long long id, std::string source, std::string path);
  long long id_ = -1;  // hid_t
  std::string source_, path_;
};

// Opens a file read-only; errors name the file (missing, not HDF5, corrupt).
Group open_file(const std::string& path);
// Opens an HDF5 file held in memory (e.g. a zip member); `source` names it in errors.
Group open_image(const std::string& bytes, const std::string& source);
// Creates (truncates) a file for writing.
Group create_file(const std::string& path);

}  // namespace xgrad::hdf5
