// The IDX reader: header decoding from hand-built bytes, raw and gzip files, every element type, and
// every bad input giving an Error that names the file and what was expected.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/idx.h"
#include "tests/idx_writer.h"

using namespace xgrad;

namespace {

// The error thrown by read_idx(path); fails the test if none is thrown.
std::string read_error(const std::string& path, uint64_t max_payload = kIdxMaxPayloadBytes) {
  try {
    read_idx(path, max_payload);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("read_idx(" << path << ") did not throw");
  return "";
}

void check_error(const std::string& path, const std::string& expected) {
  const std::string msg = read_error(path);
  INFO("message: " << msg);
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find(expected) != std::string::npos);
}

const std::vector<uint8_t> kSix = {1, 2, 3, 250, 254, 255};

}  // namespace

TEST_CASE("idx: big-endian fields decode from hand-built bytes") {
  const uint8_t b[8] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0};
  CHECK(read_be16(b) == 0x1234);
  CHECK(read_be32(b) == 0x12345678u);
  CHECK(read_be64(b) == 0x123456789abcdef0ull);

  // The Fashion-MNIST train images header: ubyte, rank 3, dims 60000 x 28 x 28.
  const uint8_t h[16] = {0, 0, 0x08, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28};
  const IdxHeader hdr = parse_idx_header(h, sizeof h, "h");
  CHECK(hdr.type_code == kIdxUByte);
  CHECK(hdr.dims == std::vector<int64_t>{60000, 28, 28});
  CHECK(hdr.header_bytes == 16);
  CHECK(hdr.payload_bytes == 47040000u);

  // Dims are unsigned 32-bit; the payload counts element size (double: 8 bytes).
  const uint8_t big[8] = {0, 0, 0x0e, 1, 0x80, 0, 0, 1};
  const IdxHeader hb = parse_idx_header(big, sizeof big, "big", UINT64_MAX);
  CHECK(hb.dims == std::vector<int64_t>{2147483649LL});
  CHECK(hb.payload_bytes == 8ull * 2147483649ull);

  CHECK(idx_header_size(h, "h") == 16);
  CHECK_THROWS_WITH_AS(parse_idx_header(h, 10, "h"), doctest::Contains("expected 16 bytes, found 10"), Error);
}

TEST_CASE("idx: reads raw and gzip files, gzip detected by its magic") {
  TempDir dir;
  write_idx(dir.file("raw"), kIdxUByte, {2, 3}, kSix, false);
  write_idx(dir.file("a.gz"), kIdxUByte, {2, 3}, kSix, true);
  write_idx(dir.file("gzip-without-suffix"), kIdxUByte, {2, 3}, kSix, true);
  for (const char* name : {"raw", "a.gz", "gzip-without-suffix"}) {
    CAPTURE(name);
    const IdxArray a = read_idx(dir.file(name));
    CHECK(a.type_code == kIdxUByte);
    CHECK(a.dims == std::vector<int64_t>{2, 3});
    CHECK(a.numel() == 6);
    CHECK(a.bytes == kSix);
  }
}

TEST_CASE("idx: every element type of the spec decodes") {
  TempDir dir;
  struct Case {
    uint8_t type;
    std::vector<uint8_t> payload;
    std::vector<double> expected;
  };
  const std::vector<Case> cases = {
      {kIdxUByte, {0, 200}, {0, 200}},
      {kIdxSByte, {0xff, 0x7f}, {-1, 127}},
      {kIdxShort, {0xff, 0xfe, 0x01, 0x2c}, {-2, 300}},
      {kIdxInt, {0xff, 0xfe, 0xee, 0x90, 0, 1, 0, 0}, {-70000, 65536}},
      {kIdxFloat, {0x3f, 0xc0, 0, 0, 0xc2, 0x28, 0, 0}, {1.5, -42}},
      {kIdxDouble, {0xbf, 0xd0, 0, 0, 0, 0, 0, 0, 0x40, 0x59, 0, 0, 0, 0, 0, 0}, {-0.25, 100}},
  };
  for (const Case& c : cases) {
    CAPTURE(idx_type_name(c.type));
    write_idx(dir.file("t.gz"), c.type, {2}, c.payload, true);
    const IdxArray a = read_idx(dir.file("t.gz"));
    CHECK(a.type_code == c.type);
    CHECK(a.bytes.size() == 2 * idx_element_size(c.type));
    CHECK(idx_to_doubles(a) == c.expected);
  }
}

TEST_CASE("idx: missing, directory, empty and non-gzip .gz files are clear errors") {
  TempDir dir;
  check_error(dir.file("absent"), "no such file");
  check_error(dir.path(), "is a directory");
  write_bytes(dir.file("empty"), {});
  check_error(dir.file("empty"), "empty file");
  write_bytes(dir.file("empty.gz"), {});
  check_error(dir.file("empty.gz"), "empty file");
  // A valid raw IDX file under a .gz name is refused (see idx.h for why).
  write_idx(dir.file("raw.gz"), kIdxUByte, {6}, kSix, false);
  check_error(dir.file("raw.gz"), "named .gz but is not gzip data: expected the bytes 1f 8b, found 00 00");
  write_bytes(dir.file("one.gz"), {0x1f});
  check_error(dir.file("one.gz"), "found 1f");
}

TEST_CASE("idx: truncated and corrupt gzip data are errors") {
  TempDir dir;
  const std::vector<uint8_t> gz = gzip_bytes(idx_bytes(kIdxUByte, {6}, kSix));
  // Cut in the deflate data, and cut only in the 8-byte trailer (gzread alone returns the whole
  // payload there; gzclose_r must catch it).
  for (size_t cut : {gz.size() / 2, gz.size() - 8, gz.size() - 1}) {
    CAPTURE(cut);
    write_bytes(dir.file("cut.gz"), std::vector<uint8_t>(gz.begin(), gz.begin() + long(cut)));
    check_error(dir.file("cut.gz"), "truncated gzip data");
  }
  std::vector<uint8_t> bad = gz;
  bad[10] = 0xff;  // first deflate byte: reserved block type 3
  write_bytes(dir.file("bad.gz"), bad);
  check_error(dir.file("bad.gz"), "corrupt gzip data");
  bad = gz;
  bad[bad.size() - 8] ^= 0x01;  // CRC-32 of the trailer
  write_bytes(dir.file("crc.gz"), bad);
  check_error(dir.file("crc.gz"), "corrupt gzip data (incorrect data check)");
}

TEST_CASE("idx: bad headers are errors, raw and gzip") {
  TempDir dir;
  struct Case {
    std::vector<uint8_t> bytes;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{1, 0, 8, 1, 0, 0, 0, 1, 7}, "bad IDX magic: expected the first two bytes 00 00, found 01 00"},
      {{0, 0, 0x0a, 1, 0, 0, 0, 1, 7}, "unknown IDX type code 0x0a"},
      {{0, 0, 0x07, 1, 0, 0, 0, 1, 7}, "unknown IDX type code 0x07"},
      {{0, 0, 8, 0, 7}, "IDX rank is 0"},
      {{0, 0, 8}, "file ends inside the IDX header: expected 4 bytes, found 3"},
      {{0, 0, 8, 3, 0, 0, 0, 2}, "file ends inside the IDX header: expected 16 bytes, found 8"},
      {idx_bytes(kIdxUByte, {2, 0, 3}, {}), "IDX dim 1 is 0, expected > 0"},
      {idx_bytes(kIdxUByte, {0xffffffffLL, 0xffffffffLL, 0xffffffffLL}, {}), "overflow"},
      {idx_bytes(kIdxUByte, {65536, 65536}, {1}), "declare 4294967296 bytes of payload, more than"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.expected);
    write_bytes(dir.file("h"), c.bytes);
    write_bytes(dir.file("h.gz"), gzip_bytes(c.bytes));
    check_error(dir.file("h"), c.expected);
    check_error(dir.file("h.gz"), c.expected);
  }
}

TEST_CASE("idx: the payload must hold exactly what the header declares") {
  TempDir dir;
  for (bool gzip : {false, true}) {
    CAPTURE(gzip);
    const std::string f = dir.file(gzip ? "p.gz" : "p");
    write_idx(f, kIdxUByte, {7}, kSix, gzip);
    check_error(f, "payload too short: header [7] ubyte declares 7 bytes, file has 6");
    write_idx(f, kIdxUByte, {5}, kSix, gzip);
    check_error(f, "trailing bytes after the 5-byte payload declared by header [5] ubyte");
    write_idx(f, kIdxFloat, {2}, {0, 0, 0, 0, 0, 0, 0}, gzip);
    check_error(f, "declares 8 bytes, file has 7");
    // A lying header under the cap: the reader fails on the data, it does not allocate 512 MiB first.
    write_idx(f, kIdxUByte, {int64_t(1) << 29}, kSix, gzip);
    check_error(f, "declares 536870912 bytes, file has 6");
  }
  write_idx(dir.file("cap"), kIdxUByte, {6}, kSix, false);
  CHECK(read_error(dir.file("cap"), 5).find("more than the 5 bytes allowed") != std::string::npos);
}
