#pragma once
// NumPy's .npy arrays and .npz archives (a zip of .npy files, stored or deflated), read and written
// by xgrad so weights and datasets travel to and from numpy.load / np.savez without conversion.
// Format versions 1.0, 2.0 and 3.0; numeric dtypes of either byte order; C order only.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace xgrad {

struct NpyArray {
  char kind = 'f';      // 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool
  size_t itemsize = 4;  // bytes per element
  Shape shape;          // [] for a scalar
  std::string data;     // little-endian elements in C order (big-endian files are swapped on read)

  int64_t numel() const { return xgrad::numel(shape); }
  std::string descr() const;  // numpy's spelling: "<f4", "|u1", "<i8", ...
  bool is_integer() const { return kind == 'i' || kind == 'u' || kind == 'b'; }
};

// Parses the bytes of one .npy file. Every problem (bad magic, unknown version, header that is not
// numpy's dict, unsupported or structured dtype, Fortran order, data shorter or longer than the shape
// says) is an Error "<where>: ...".
NpyArray parse_npy(const std::string& bytes, const std::string& where);
// The .npy bytes: version 1.0 header (2.0 when the header needs it), padded to 64 bytes as numpy does.
std::string npy_bytes(const NpyArray& a);

NpyArray read_npy(const std::string& path);
void write_npy(const std::string& path, const NpyArray& a);  // atomic

// float32 arrays from tensors / raw values, and uint8 arrays.
NpyArray npy_from_tensor(const Tensor& t);
NpyArray npy_uint8(const Shape& shape, const std::vector<uint8_t>& values);

// Every element converted to float32 (integers above 2^24 round); the tensor has the array's shape.
Tensor npy_to_tensor(const NpyArray& a);
// Every element as an exact integer; float elements must hold integer values. `where` names the array.
std::vector<int64_t> npy_to_int64(const NpyArray& a, const std::string& where);

// Archive entries in archive order, names without the ".npy" suffix.
using NpzArrays = std::vector<std::pair<std::string, NpyArray>>;

// Reads every array of a .npz (stored or deflated). Errors name the file and the entry, e.g.
// `data.npz: x_train.npy: data has 1000 bytes, shape [10, 28, 28] <f4 needs 31360`.
NpzArrays read_npz(const std::string& path);
// Writes name.npy entries in the given order, atomically; `compress` as np.savez_compressed.
void write_npz(const std::string& path, const NpzArrays& arrays, bool compress = false);
// The array called `name`, or nullptr.
const NpyArray* find_array(const NpzArrays& arrays, const std::string& name);

}  // namespace xgrad
