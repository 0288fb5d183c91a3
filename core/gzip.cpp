// gzip through zlib, for transparent `.json.gz` model files.
#include <zlib.h>

#include "core/error.h"
#include "core/json_io.h"

namespace xgrad {

bool is_gzip(const std::string& data) {
  return data.size() >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b;
}

std::string gzip_compress(const std::string& data) {
  z_stream zs{};
  // 15 + 16: a gzip header instead of a zlib one. Level 6 is zlib's default trade-off.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("gzip: cannot initialise zlib");
  std::string out(deflateBound(&zs, uLong(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error("gzip: compression failed");
  return out;
}

std::string gzip_decompress(const std::string& data, const std::string& source, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw Error(source + ": cannot initialise zlib");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    const size_t got = sizeof buf - zs.avail_out;
    if (out.size() + got > max_bytes) {
      inflateEnd(&zs);
      throw Error(source + ": decompresses to more than the limit of " + std::to_string(max_bytes) +
                  " bytes");
    }
    out.append(buf, got);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    if (rc == Z_BUF_ERROR) rc = Z_OK;
  }
  const bool complete = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  if (!complete) throw Error(source + ": corrupt or truncated gzip data");
  return out;
}

}  // namespace xgrad
