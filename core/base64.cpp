#include "core/base64.h"

#include <algorithm>
#include <cstdint>

#include "core/error.h"

namespace xgrad {
namespace {

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? uint8_t(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out += k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::string base64_decode(const std::string& text, const std::string& where) {
  if (text.size() % 4 != 0)
    throw Error(where + ": base64 text has " + std::to_string(text.size()) +
                " characters, not a multiple of 4");
  // Up to two '=' may pad the end; anywhere else they are invalid like any non-alphabet byte.
  const size_t pad = text.size() >= 4 ? (text.back() == '=') + (text[text.size() - 2] == '=') : 0;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      const int s = i + k >= text.size() - pad ? 0 : sextet(text[i + k]);
      if (s < 0) throw Error(where + ": invalid base64 character at offset " + std::to_string(i + k));
      v = (v << 6) | uint32_t(s);
    }
    const size_t n = i + 4 == text.size() ? 3 - pad : 3;
    for (size_t k = 0; k < n; ++k) out += char((v >> (16 - 8 * k)) & 0xFF);
  }
  return out;
}

}  // namespace xgrad
