// The tensor <-> JSON codec (graph/tensor_json.h): shapes, decimal data and base64 data.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/base64.h"
#include "graph/json_fields.h"
#include "graph/tensor_json.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

int64_t dim_from_json(const json& v, const std::string& where) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    throw Error(where + ": dimension " + v.dump() + " is too large");
  if (!v.is_number_integer()) throw Error(where + ": expected an integer dimension, found " + json_found(v));
  return v.get<int64_t>();
}

float float_from_json(const json& v, const std::string& where) {
  if (!v.is_number()) throw Error(where + ": expected a number, found " + json_found(v));
  const double d = v.get<double>();
  const float f = float(d);
  if (!std::isfinite(f)) throw Error(where + ": " + v.dump() + " is outside the float32 range");
  return f;
}

// Little-endian bytes, whatever the host's byte order.
std::string le32_bytes(const uint32_t* words, size_t n) {
  std::string bytes(n * 4, '\0');
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < 4; ++k) bytes[4 * i + k] = char((words[i] >> (8 * k)) & 0xFF);
  return bytes;
}
uint32_t le32_word(const std::string& bytes, size_t i) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data() + 4 * i);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}

Tensor tensor_from_base64(const std::string& text, const Shape& shape, const std::string& where,
                          NonFinite non_finite) {
  const size_t n = size_t(numel(shape));
  const std::string bytes = base64_decode(text, where);
  if (bytes.size() != n * 4)
    throw Error(where + ": holds " + std::to_string(bytes.size()) + " bytes, shape " + to_string(shape) +
                " needs " + std::to_string(n * 4) + " (float32)");
  Tensor t = make_tensor(shape);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t u = le32_word(bytes, i);
    float f;
    std::memcpy(&f, &u, 4);
    if (non_finite == NonFinite::Reject && !std::isfinite(f))
      throw Error(where + ": element " + std::to_string(i) + " is not finite");
    t.data()[i] = f;
  }
  return t;
}

}  // namespace

Shape shape_from_json(const json& j, const std::string& where, bool batch_allowed) {
  if (!j.is_array()) throw Error(where + ": expected a shape (an array of integers), found " + json_found(j));
  if (j.size() > kMaxRank)
    throw Error(where + ": " + std::to_string(j.size()) + " dimensions, more than the limit of " +
                std::to_string(kMaxRank));
  Shape s;
  for (size_t i = 0; i < j.size(); ++i) {
    const int64_t d = dim_from_json(j[i], json_path(where, i));
    const bool batch = batch_allowed && i == 0 && d == -1;
    if (d <= 0 && !batch)
      throw Error(json_path(where, i) + ": expected a positive dimension" +
                  (batch_allowed && i == 0 ? " or -1 (batch)" : "") + ", found " + std::to_string(d));
    s.push_back(d);
  }
  Shape concrete = s;
  if (!s.empty() && s[0] == -1) concrete[0] = 1;
  try {
    if (checked_numel(concrete) > kMaxElements) throw Error("");
  } catch (const Error&) {
    throw Error(where + ": shape " + to_string(s) + " has more than 2^31 elements, the limit");
  }
  return s;
}

json tensor_to_json(const Tensor& t) {
  json data = json::array();
  const float* p = t.data();
  for (size_t i = 0; i < t.size(); ++i) {
    if (!std::isfinite(p[i]))
      throw Error("data[" + std::to_string(i) + "] is " + (std::isnan(p[i]) ? "NaN" : "infinite") +
                  ", which cannot be written");
    data.push_back(double(p[i]));
  }
  return {{"shape", shape_of(t)}, {"data", std::move(data)}};
}

json tensor_to_json_b64(const Tensor& t) {
  static_assert(sizeof(float) == sizeof(uint32_t));
  std::vector<uint32_t> words(t.size());
  if (!words.empty()) std::memcpy(words.data(), t.data(), t.size() * 4);
  return {{"shape", shape_of(t)}, {"data_b64", u32_to_base64(words)}};
}

Tensor tensor_from_json(const json& j, const std::string& where, NonFinite non_finite) {
  Fields f(j, where);
  const Shape shape = shape_from_json(f.required("shape"), f.at("shape"), false);
  const json* data = f.optional("data");
  const json* b64 = f.optional("data_b64");
  f.finish("\"shape\" and \"data\" or \"data_b64\"");
  if (data && b64) throw Error(where + ": has both \"data\" and \"data_b64\", expected one");
  if (b64) {
    if (!b64->is_string())
      throw Error(f.at("data_b64") + ": expected a base64 string, found " + json_found(*b64));
    return tensor_from_base64(b64->get<std::string>(), shape, f.at("data_b64"), non_finite);
  }
  if (!data) throw Error(where + ": missing field \"data\"");
  if (!data->is_array())
    throw Error(f.at("data") + ": expected an array of numbers, found " + json_found(*data));
  const size_t n = size_t(numel(shape));
  if (data->size() != n)
    throw Error(f.at("data") + ": holds " + std::to_string(data->size()) + " numbers, shape " +
                to_string(shape) + " needs " + std::to_string(n));
  Tensor t = make_tensor(shape);
  float* out = t.data();
  for (size_t i = 0; i < n; ++i) {
    const json& v = (*data)[i];
    out[i] = v.is_number() ? float(v.get<double>()) : 0.0f;
    if (!v.is_number() || !std::isfinite(out[i])) float_from_json(v, json_path(f.at("data"), i));  // throws
  }
  return t;
}

std::string u32_to_base64(const std::vector<uint32_t>& words) {
  return base64_encode(le32_bytes(words.data(), words.size()));
}

std::vector<uint32_t> u32_from_base64(const std::string& text, const std::string& where) {
  const std::string bytes = base64_decode(text, where);
  if (bytes.size() % 4)
    throw Error(where + ": " + std::to_string(bytes.size()) + " bytes, not a multiple of 4");
  std::vector<uint32_t> words(bytes.size() / 4);
  for (size_t i = 0; i < words.size(); ++i) words[i] = le32_word(bytes, i);
  return words;
}

}  // namespace xgrad
