#pragma once
// Files and JSON for everything xgrad reads or writes: bounded reads with clear errors, atomic
// writes, a strict JSON parser (depth and size limits, duplicate keys rejected, the JSON path in
// every error) and one deterministic, human-friendly writer.
#include <cstddef>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace xgrad {

// The whole file. Errors name the file: missing, unreadable, a directory, larger than max_bytes.
// FIFOs and pipes are read without blocking on a missing writer.
std::string read_text_file(const std::string& path, size_t max_bytes = size_t(1) << 31);

// Writes a temp file in the target's directory, flushes and fsyncs it, then renames it over the
// target. On any failure the temp file is removed, the old target is untouched and Error is thrown;
// a process killed while writing leaves no temp file either (Linux: the file has no name until it
// is complete). Readers see the complete old or the complete new file. A symbolic link is
// followed: its target is replaced, the link stays. A new file's mode is 0666 minus the umask; a
// replaced file keeps its mode.
void write_file_atomic(const std::string& path, const std::string& contents);
// The same with the write(2) calls made through `write_call` (returns bytes written, or -1 with
// errno set): tests simulate a full disk, a short write or a crash with it.
using WriteCall = std::function<long(int fd, const char* data, size_t size)>;
void write_file_atomic(const std::string& path, const std::string& contents, const WriteCall& write_call);

struct JsonLimits {
  int max_depth = 64;                   // nested objects/arrays
  size_t max_values = size_t(1) << 25;  // numbers, strings, ... in the whole document
};

// Strict parse: not JSON, truncated, trailing garbage, invalid UTF-8, too deep, too many values and
// duplicate keys are errors "<source>: <json path>: ...". An empty text is an error too.
nlohmann::json parse_json(const std::string& text, const std::string& source, const JsonLimits& limits = {});

// read_text_file + parse_json; a gzip file (by its magic bytes) is decompressed first, still
// bounded by max_bytes.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = size_t(1) << 28);

// Deterministic layout: two-space indentation, a container on one line when it fits in 110
// columns, arrays of scalars always on one line. Known keys of the xgrad formats come first in a
// fixed order ("format", "name", "shape", ...), others sorted. Numbers in an array under a "data"
// key that are exactly float32 are written as the shortest text that reads back to the same float.
// Non-finite numbers and invalid UTF-8 are errors naming the JSON path. Ends with a newline.
std::string dump_json(const nlohmann::json& j);

// gzip (RFC 1952) of `data`, and its inverse bounded by max_bytes of output.
std::string gzip_compress(const std::string& data);
std::string gzip_decompress(const std::string& data, const std::string& source, size_t max_bytes);
bool is_gzip(const std::string& data);

}  // namespace xgrad
