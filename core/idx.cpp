#include "core/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/tensor.h"

namespace xgrad {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadChunk = size_t(16) << 20;       // payload grows only as data really arrives
constexpr size_t kInitialReserve = size_t(64) << 20;  // whole Fashion-MNIST train images: one allocation

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02x", b);
  return buf;
}

bool named_gz(const std::string& path) {
  return path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

// Clear errors for the cases zlib would report vaguely or not at all.
void check_regular_nonempty(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw Error(path + ": no such file, expected an IDX file");
  if (ec) throw Error(path + ": cannot read (" + ec.message() + "), expected an IDX file");
  if (st.type() == fs::file_type::directory) throw Error(path + ": is a directory, expected an IDX file");
  if (st.type() == fs::file_type::regular && fs::file_size(path, ec) == 0 && !ec)
    throw Error(path + ": empty file, expected an IDX header (at least 4 bytes)");
}

// The first two bytes, to tell gzip (1f 8b) from raw IDX (00 00) whatever the name says.
std::string first_two_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  char b[2] = {0, 0};
  in.read(b, 2);
  return std::string(b, size_t(in.gcount()));
}

// One reader for raw and gzip files: zlib reads non-gzip files transparently.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!file_) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    gzbuffer(file_, 1 << 18);
  }
  ~GzReader() {
    if (file_) gzclose_r(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; fewer only at the true end of the data. Throws on any zlib error.
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const unsigned want = unsigned(std::min(n - got, kReadChunk));
      const int r = gzread(file_, dst + got, want);
      check();
      if (r <= 0) break;
      got += size_t(r);
    }
    return got;
  }

  // gzclose_r reports a stream cut inside the gzip trailer, which gzread alone does not.
  void close() {
    const int rc = gzclose_r(file_);
    file_ = nullptr;
    if (rc == Z_BUF_ERROR) throw Error(path_ + ": truncated gzip data (unexpected end of file)");
    if (rc != Z_OK) throw Error(path_ + ": gzip read error (code " + std::to_string(rc) + ")");
  }

 private:
  void check() {
    int errnum = Z_OK;
    const char* msg = gzerror(file_, &errnum);
    if (errnum == Z_OK) return;
    if (errnum == Z_BUF_ERROR) throw Error(path_ + ": truncated gzip data (unexpected end of file)");
    if (errnum == Z_ERRNO) throw Error(path_ + ": read error (" + std::strerror(errno) + ")");
    std::string detail = msg;  // zlib prefixes the path: drop it, ours comes first
    if (detail.rfind(path_ + ": ", 0) == 0) detail.erase(0, path_.size() + 2);
    throw Error(path_ + ": corrupt gzip data (" + detail + ")");
  }

  std::string path_;
  gzFile file_;
};

std::string describe(const IdxHeader& h) {
  return "header " + to_string(h.dims) + " " + idx_type_name(h.type_code);
}

IdxHeader read_header(GzReader& in, const std::string& path, uint64_t max_payload) {
  std::vector<uint8_t> head(4);
  size_t got = in.read(head.data(), 4);
  if (got < 4)
    throw Error(path + ": file ends inside the IDX header: expected 4 bytes, found " + std::to_string(got));
  const size_t size = idx_header_size(head.data(), path);
  head.resize(size);
  got = in.read(head.data() + 4, size - 4);
  if (got < size - 4)
    throw Error(path + ": file ends inside the IDX header: expected " + std::to_string(size) +
                " bytes, found " + std::to_string(4 + got));
  return parse_idx_header(head.data(), size, path, max_payload);
}

std::vector<uint8_t> read_payload(GzReader& in, const std::string& path, const IdxHeader& h) {
  std::vector<uint8_t> bytes;
  bytes.reserve(size_t(std::min<uint64_t>(h.payload_bytes, kInitialReserve)));
  while (bytes.size() < h.payload_bytes) {
    const size_t have = bytes.size();
    const size_t want = size_t(std::min<uint64_t>(h.payload_bytes - have, kReadChunk));
    bytes.resize(have + want);
    const size_t got = in.read(bytes.data() + have, want);
    if (got < want)
      throw Error(path + ": payload too short: " + describe(h) + " declares " +
                  std::to_string(h.payload_bytes) + " bytes, file has " + std::to_string(have + got));
  }
  uint8_t extra = 0;
  if (in.read(&extra, 1) != 0)
    throw Error(path + ": trailing bytes after the " + std::to_string(h.payload_bytes) +
                "-byte payload declared by " + describe(h));
  return bytes;
}

}  // namespace

int64_t IdxArray::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

size_t idx_element_size(uint8_t type_code) {
  switch (type_code) {
    case kIdxUByte:
    case kIdxSByte:
      return 1;
    case kIdxShort:
      return 2;
    case kIdxInt:
    case kIdxFloat:
      return 4;
    case kIdxDouble:
      return 8;
  }
  throw Error("unknown IDX type code 0x" + hex_byte(type_code) +
              ", expected 0x08, 0x09, 0x0b, 0x0c, 0x0d or 0x0e");
}

const char* idx_type_name(uint8_t type_code) {
  switch (type_code) {
    case kIdxUByte:
      return "ubyte";
    case kIdxSByte:
      return "sbyte";
    case kIdxShort:
      return "short";
    case kIdxInt:
      return "int";
    case kIdxFloat:
      return "float";
    case kIdxDouble:
      return "double";
  }
  return "unknown";
}

size_t idx_header_size(const uint8_t* prefix, const std::string& where) {
  if (prefix[0] != 0 || prefix[1] != 0)
    throw Error(where + ": bad IDX magic: expected the first two bytes 00 00, found " + hex_byte(prefix[0]) +
                " " + hex_byte(prefix[1]));
  try {
    idx_element_size(prefix[2]);
  } catch (const Error& e) {
    rethrow_with_context(where, e);
  }
  if (prefix[3] == 0) throw Error(where + ": IDX rank is 0, expected 1 to 255 dims");
  return 4 + 4 * size_t(prefix[3]);
}

IdxHeader parse_idx_header(const uint8_t* data, size_t size, const std::string& where, uint64_t max_payload) {
  if (size < 4)
    throw Error(where + ": IDX header too short: expected 4 bytes, found " + std::to_string(size));
  IdxHeader h;
  h.header_bytes = idx_header_size(data, where);
  if (size < h.header_bytes)
    throw Error(where + ": IDX header too short: expected " + std::to_string(h.header_bytes) +
                " bytes, found " + std::to_string(size));
  h.type_code = data[2];
  uint64_t total = idx_element_size(h.type_code);
  bool overflow = false;
  for (size_t i = 0; i < data[3]; ++i) {
    const uint32_t d = read_be32(data + 4 + 4 * i);
    if (d == 0) throw Error(where + ": IDX dim " + std::to_string(i) + " is 0, expected > 0");
    h.dims.push_back(int64_t(d));
    overflow = overflow || __builtin_mul_overflow(total, uint64_t(d), &total);
  }
  if (overflow || total > uint64_t(INT64_MAX))
    throw Error(where + ": IDX dims " + to_string(h.dims) +
                " overflow: the payload size does not fit 64 bits");
  if (total > max_payload)
    throw Error(where + ": IDX dims " + to_string(h.dims) + " declare " + std::to_string(total) +
                " bytes of payload, more than the " + std::to_string(max_payload) + " bytes allowed");
  h.payload_bytes = total;
  return h;
}

IdxArray read_idx(const std::string& path, uint64_t max_payload) {
  check_regular_nonempty(path);
  const std::string magic = first_two_bytes(path);
  const bool gzip = magic == "\x1f\x8b";
  if (named_gz(path) && !gzip)
    throw Error(path + ": named .gz but is not gzip data: expected the bytes 1f 8b, found " +
                hex_byte(uint8_t(magic[0])) + (magic.size() > 1 ? " " + hex_byte(uint8_t(magic[1])) : ""));
  GzReader in(path);
  const IdxHeader h = read_header(in, path, max_payload);
  IdxArray a;
  a.type_code = h.type_code;
  a.dims = h.dims;
  a.bytes = read_payload(in, path, h);
  in.close();
  return a;
}

std::vector<double> idx_to_doubles(const IdxArray& a) {
  const size_t esize = idx_element_size(a.type_code);
  const size_t n = a.bytes.size() / esize;
  std::vector<double> out(n);
  const uint8_t* p = a.bytes.data();
  for (size_t i = 0; i < n; ++i, p += esize) {
    switch (a.type_code) {
      case kIdxUByte:
        out[i] = p[0];
        break;
      case kIdxSByte:
        out[i] = int8_t(p[0]);
        break;
      case kIdxShort:
        out[i] = int16_t(read_be16(p));
        break;
      case kIdxInt:
        out[i] = int32_t(read_be32(p));
        break;
      case kIdxFloat: {
        const uint32_t bits = read_be32(p);
        float f;
        std::memcpy(&f, &bits, 4);
        out[i] = f;
        break;
      }
      default: {
        const uint64_t bits = read_be64(p);
        std::memcpy(&out[i], &bits, 8);
      }
    }
  }
  return out;
}

}  // namespace xgrad
