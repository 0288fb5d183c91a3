#include "tests/idx_writer.h"

#include <zlib.h>

#include <fstream>
#include <stdexcept>

#include "core/rng.h"

namespace xgrad {
namespace {

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(v >> shift));
}

// 28x28 uint8 images of class `label`: a 5-pixel bar at 160 plus noise in [0, 96).
std::vector<uint8_t> fashion_like_images(const std::vector<uint8_t>& labels, Rng& rng) {
  constexpr int kSide = 28;
  std::vector<uint8_t> images;
  images.reserve(labels.size() * kSide * kSide);
  for (uint8_t label : labels) {
    const int lo = 1 + 5 * (label % 5);
    for (int r = 0; r < kSide; ++r) {
      for (int c = 0; c < kSide; ++c) {
        const int pos = label < 5 ? r : c;
        const bool bar = pos >= lo && pos < lo + 5;
        images.push_back(uint8_t((bar ? 160 : 0) + rng.below(96)));
      }
    }
  }
  return images;
}

void write_split(const std::string& dir, const std::string& prefix, size_t n, Rng& rng, bool gzip) {
  std::vector<uint8_t> labels(n);
  for (size_t i = 0; i < n; ++i) labels[i] = uint8_t(i % 10);
  const std::string gz = gzip ? ".gz" : "";
  write_idx(dir + "/" + prefix + "-images-idx3-ubyte" + gz, 0x08, {int64_t(n), 28, 28},
            fashion_like_images(labels, rng), gzip);
  write_idx(dir + "/" + prefix + "-labels-idx1-ubyte" + gz, 0x08, {int64_t(n)}, labels, gzip);
}

}  // namespace

std::vector<uint8_t> idx_bytes(uint8_t type_code, const std::vector<int64_t>& dims,
                               const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> out = {0, 0, type_code, uint8_t(dims.size())};
  for (int64_t d : dims) put_be32(out, uint32_t(d));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& data) {
  z_stream s{};
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip_bytes: deflateInit2 failed");
  std::vector<uint8_t> out(deflateBound(&s, uLong(data.size())));
  s.next_in = const_cast<Bytef*>(data.data());
  s.avail_in = uInt(data.size());
  s.next_out = out.data();
  s.avail_out = uInt(out.size());
  const int rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip_bytes: deflate failed");
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!out) throw std::runtime_error("write_bytes: cannot write " + path);
}

void write_idx(const std::string& path, uint8_t type_code, const std::vector<int64_t>& dims,
               const std::vector<uint8_t>& payload, bool gzip) {
  const std::vector<uint8_t> raw = idx_bytes(type_code, dims, payload);
  write_bytes(path, gzip ? gzip_bytes(raw) : raw);
}

void write_fashion_like_dir(const std::string& dir, size_t n_train, size_t n_test, uint64_t seed, bool gzip) {
  Rng rng(seed);
  write_split(dir, "train", n_train, rng, gzip);
  write_split(dir, "t10k", n_test, rng, gzip);
}

}  // namespace xgrad
