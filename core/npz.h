#pragma once
// NumPy's .npy arrays and .npz archives (a zip of .npy files, stored or deflated), read and written
// by xgrad so weights and datasets travel to and from numpy.load / np.savez without conversion.
// Format versions 1.0, 2.0 and 3.0; numeric dtypes of either byte order; C order only.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "core/zip.h"

namespace xgrad {

// The largest .npy file, .npz archive, entry or array data read (16 GiB), checked before allocating.
constexpr uint64_t kMaxNpyBytes = uint64_t(1) << 34;

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

// Streaming pieces of the readers: a .npy of `total` bytes read in order through read(dst, n). The
// header: magic, version, dict, and data of exactly the size the shape says (else Error naming
// `where`); returns the array without data, `swap` true for big-endian data. Then the data as
// float32, converted a chunk at a time so only `out` (numel floats) holds it.
using NpyReadFn = std::function<void(char* dst, size_t n)>;
NpyArray read_npy_header(const NpyReadFn& read, uint64_t total, bool& swap, const std::string& where);
void read_npy_floats(const NpyReadFn& read, const NpyArray& header, bool swap, float* out);

// Archive entries in archive order, names without the ".npy" suffix.
using NpzArrays = std::vector<std::pair<std::string, NpyArray>>;

// Samples of a data set as they are kept in memory: uint8 arrays as bytes, other numeric dtypes as
// float32.
struct NpySamples {
  NpyArray header;  // shape and dtype; data empty
  std::vector<uint8_t> bytes;
  std::vector<float> floats;
};

// A .npz read one array at a time (the file stays in memory while the reader lives). Errors as
// read_npz's.
class NpzReader {
 public:
  explicit NpzReader(const std::string& path);
  const std::vector<std::string>& names() const { return names_; }  // without ".npy", archive order
  bool contains(const std::string& name) const;
  NpyArray read(const std::string& name) const;
  // The elements go straight from the archive into the returned storage (converted chunk by chunk),
  // so a data set of N bytes needs N bytes besides the file, not two or three copies.
  NpySamples read_samples(const std::string& name) const;

 private:
  std::string path_;
  ZipReader zip_;
  std::vector<std::string> names_;
};

// Reads every array of a .npz (stored or deflated). Errors name the file and the entry, e.g.
// `data.npz: x_train.npy: data has 1000 bytes, shape [10, 28, 28] <f4 needs 31360`.
NpzArrays read_npz(const std::string& path);
// Writes name.npy entries in the given order, atomically; `compress` as np.savez_compressed.
void write_npz(const std::string& path, const NpzArrays& arrays, bool compress = false);
// The array called `name`, or nullptr.
const NpyArray* find_array(const NpzArrays& arrays, const std::string& name);

}  // namespace xgrad
