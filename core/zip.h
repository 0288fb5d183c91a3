#pragma once
// Zip archives (NumPy .npz, Keras .keras) through minizip. Archives are read from and built in
// memory, so a read never sees a half-written file and a write is one atomic file replacement.
// minizip is optional at build time: without it every function here throws an Error saying so.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace xgrad {

// False when xgrad was built without minizip (libminizip-dev).
bool zip_available();

// Entries larger than this (uncompressed) are refused before they are inflated.
constexpr uint64_t kZipMaxEntryBytes = uint64_t(1) << 31;

class ZipReader {
 public:
  // Reads the whole file (bounded by max_file_bytes). Errors name the file: missing, a directory,
  // not a zip archive, truncated, duplicate entry names.
  explicit ZipReader(const std::string& path, size_t max_file_bytes = size_t(1) << 32);
  // An archive held in memory; `source` names it in errors.
  ZipReader(std::string bytes, std::string source);
  ~ZipReader();
  ZipReader(ZipReader&&) noexcept;
  ZipReader& operator=(ZipReader&&) noexcept;

  const std::string& source() const;
  const std::vector<std::string>& names() const;  // in archive order
  bool contains(const std::string& name) const;
  // The entry's uncompressed bytes. Throws Error "<source>: <name>: ..." when it is absent, larger
  // than max_bytes, uses an unsupported method or encryption, or fails its CRC check.
  std::string read(const std::string& name, uint64_t max_bytes = kZipMaxEntryBytes) const;
  // Reads the entry in order without holding all of it: `consume(size, read)` gets its
  // uncompressed size and `read(dst, n)`, which fills dst with its next n bytes (Error past the
  // end or on corrupt data). consume must read all `size` bytes; the CRC is checked after it.
  using ReadFn = std::function<void(char* dst, size_t n)>;
  void stream(const std::string& name, uint64_t max_bytes,
              const std::function<void(uint64_t size, const ReadFn& read)>& consume) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ZipEntry {
  std::string name;
  std::string data;
};

// An archive of `entries` in order: stored (deflate = false) or deflated, zip64 where sizes need it,
// fixed timestamps so the same entries give the same bytes.
std::string zip_bytes(const std::vector<ZipEntry>& entries, bool deflate);

// zip_bytes written with write_file_atomic.
void write_zip(const std::string& path, const std::vector<ZipEntry>& entries, bool deflate);

}  // namespace xgrad
