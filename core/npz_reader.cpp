// .npz archives: a zip of NAME.npy entries (numpy.savez / savez_compressed).
#include <algorithm>

#include "core/error.h"
#include "core/npz.h"

namespace xgrad {

NpzReader::NpzReader(const std::string& path) : path_(path), zip_(path, kMaxNpyBytes) {
  for (const std::string& name : zip_.names()) {
    if (name.size() < 5 || name.compare(name.size() - 4, 4, ".npy") != 0)
      throw Error(path + ": entry \"" + name + "\" is not a .npy file, expected only NAME.npy entries");
    names_.push_back(name.substr(0, name.size() - 4));
  }
}

bool NpzReader::contains(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

NpyArray NpzReader::read(const std::string& name) const {
  return parse_npy(zip_.read(name + ".npy", kMaxNpyBytes), path_ + ": " + name + ".npy");
}

NpySamples NpzReader::read_samples(const std::string& name) const {
  NpySamples out;
  zip_.stream(name + ".npy", kMaxNpyBytes, [&](uint64_t size, const ZipReader::ReadFn& read) {
    bool swap = false;
    out.header = read_npy_header(read, size, swap, path_ + ": " + name + ".npy");
    const size_t n = size_t(out.header.numel());
    if (out.header.kind == 'u' && out.header.itemsize == 1) {
      out.bytes.resize(n);
      read(reinterpret_cast<char*>(out.bytes.data()), n);
    } else {
      out.floats.resize(n);
      read_npy_floats(read, out.header, swap, out.floats.data());
    }
  });
  return out;
}

NpzArrays read_npz(const std::string& path) {
  const NpzReader npz(path);
  NpzArrays arrays;
  for (const std::string& name : npz.names()) arrays.emplace_back(name, npz.read(name));
  return arrays;
}

void write_npz(const std::string& path, const NpzArrays& arrays, bool compress) {
  std::vector<ZipEntry> entries;
  for (const auto& [name, a] : arrays) entries.push_back({name + ".npy", npy_bytes(a)});
  write_zip(path, entries, compress);
}

const NpyArray* find_array(const NpzArrays& arrays, const std::string& name) {
  for (const auto& [n, a] : arrays)
    if (n == name) return &a;
  return nullptr;
}

}  // namespace xgrad
