#include "graph/checkpoint.h"

#include <cstring>

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

nlohmann::json tensor_to_state(const Tensor& t) {
  std::string bytes(t.size() * 4, '\0');
  for (size_t i = 0; i < t.size(); ++i) {
    uint32_t u;
    std::memcpy(&u, t.data() + i, 4);
    for (size_t k = 0; k < 4; ++k) bytes[4 * i + k] = char((u >> (8 * k)) & 0xFF);
  }
  return {{"shape", shape_of(t)}, {"f32le", base64_encode(bytes)}};
}

Tensor tensor_from_state(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("shape") || !j.contains("f32le") || !j.at("f32le").is_string())
    throw Error(where + ": expected {\"shape\": [...], \"f32le\": \"<base64>\"}");
  Shape shape;
  try {
    shape = j.at("shape").get<Shape>();
  } catch (const std::exception&) {
    throw Error(where + ".shape: expected an array of integers, found " + j.at("shape").dump());
  }
  const int64_t n = checked_numel(shape);
  const std::string bytes = base64_decode(j.at("f32le").get<std::string>(), where + ".f32le");
  if (bytes.size() != size_t(n) * 4)
    throw Error(where + ": " + std::to_string(bytes.size()) + " bytes for shape " + to_string(shape) +
                ", expected " + std::to_string(n * 4));
  Tensor t = make_tensor(shape);
  for (size_t i = 0; i < size_t(n); ++i) {
    uint32_t u = 0;
    for (size_t k = 0; k < 4; ++k) u |= uint32_t(uint8_t(bytes[4 * i + k])) << (8 * k);
    std::memcpy(t.data() + i, &u, 4);
  }
  return t;
}

}  // namespace xgrad
