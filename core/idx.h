#pragma once
// Reader for LeCun's IDX format (the MNIST files): 2 zero bytes, a type code, the rank, then one
// big-endian uint32 per dim, then the payload in row-major order, big-endian for multi-byte types.
// Files are raw or gzip; gzip is detected by its magic bytes (1f 8b), not by the name. A file named
// `.gz` that is not gzip is an error even if its bytes would be a valid raw IDX file: a lying name
// means a broken download or rename, and reading it silently would hide that.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xgrad {

// Element type codes of the IDX spec.
enum IdxTypeCode : uint8_t {
  kIdxUByte = 0x08,
  kIdxSByte = 0x09,
  kIdxShort = 0x0B,
  kIdxInt = 0x0C,
  kIdxFloat = 0x0D,
  kIdxDouble = 0x0E,
};

struct IdxArray {
  uint8_t type_code = kIdxUByte;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;  // payload as stored, big-endian for multi-byte types

  int64_t numel() const;
};

// A header declaring more payload than this is refused before anything is allocated.
constexpr uint64_t kIdxMaxPayloadBytes = uint64_t(1) << 30;

// Big-endian field decoding.
inline uint16_t read_be16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
inline uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint64_t read_be64(const uint8_t* p) { return (uint64_t(read_be32(p)) << 32) | read_be32(p + 4); }

// Bytes per element of a type code; throws Error for codes outside the spec.
size_t idx_element_size(uint8_t type_code);
// "ubyte", "sbyte", "short", "int", "float", "double", or "unknown".
const char* idx_type_name(uint8_t type_code);

struct IdxHeader {
  uint8_t type_code = kIdxUByte;
  std::vector<int64_t> dims;
  size_t header_bytes = 0;     // 4 + 4 * rank
  uint64_t payload_bytes = 0;  // product of dims times the element size
};

// Checks the 4-byte prefix (magic, type code, rank >= 1) and returns the full header size.
// `where` names the file in errors.
size_t idx_header_size(const uint8_t* prefix, const std::string& where);

// Parses a header from `size` bytes (at least the full header); checks every dim (> 0) and that the
// payload size neither overflows nor exceeds `max_payload`.
IdxHeader parse_idx_header(const uint8_t* data, size_t size, const std::string& where,
                           uint64_t max_payload = kIdxMaxPayloadBytes);

// Reads a whole IDX file, raw or gzip. The payload must hold exactly what the header declares.
// Every problem (missing file, directory, empty, bad gzip, bad header, short or long payload) is an
// Error that names the file and what was expected.
IdxArray read_idx(const std::string& path, uint64_t max_payload = kIdxMaxPayloadBytes);

// Decodes any element type to double (exact for every IDX type).
std::vector<double> idx_to_doubles(const IdxArray& a);

}  // namespace xgrad
