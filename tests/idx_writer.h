#pragma once
// Test helpers that write small IDX files (raw or gzip) and tiny Fashion-MNIST-like datasets into a
// temporary directory, so tests never depend on files outside the build.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/temp_dir.h"

namespace xgrad {

// The tests' one temporary directory (tests/temp_dir.h), also reachable as xgrad::TempDir.
using test::TempDir;

// Header (00 00 type rank, big-endian uint32 dims) followed by `payload` as given. Dims are written
// as uint32 without checks, so tests can build bad headers (zero or huge dims).
std::vector<uint8_t> idx_bytes(uint8_t type_code, const std::vector<int64_t>& dims,
                               const std::vector<uint8_t>& payload);

// A complete gzip stream (header, deflate data, CRC and size trailer) of `data`.
std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& data);

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);

void write_idx(const std::string& path, uint8_t type_code, const std::vector<int64_t>& dims,
               const std::vector<uint8_t>& payload, bool gzip);

// The four standard Fashion-MNIST file names (with .gz when gzip) holding n_train and n_test 28x28
// images. Labels cycle 0..9; class k is a bright bar (horizontal for k < 5, vertical for k >= 5, at
// position k % 5) plus uniform noise from `seed`, so a small model learns it in a few steps.
void write_fashion_like_dir(const std::string& dir, size_t n_train, size_t n_test, uint64_t seed,
                            bool gzip = true);

}  // namespace xgrad
