#include "ops/attrs.h"

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "core/error.h"

namespace xgrad {

json Padding::to_json() const {
  if (mode == Mode::Valid) return "valid";
  if (mode == Mode::Same) return "same";
  return json::array({pad[0], pad[1]});
}

int64_t json_integer(const json& v, const std::string& where) {
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
    throw Error(where + ": expected an integer, found " + v.dump() + " (larger than int64 allows)");
  if (v.is_number_integer()) return v.get<int64_t>();
  throw Error(where + ": expected an integer, found " +
              (v.is_string() ? "\"" + v.get<std::string>() + "\"" : v.dump()));
}

size_t axis_index(int64_t axis, const std::vector<int64_t>& s) {
  const int64_t rank = int64_t(s.size()), a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error("axis " + std::to_string(axis) + " is out of range for a value of " + std::to_string(rank) +
                " dimensions");
  return size_t(a);
}

AttrReader::AttrReader(const json& attrs) : attrs_(attrs) {
  if (!attrs.is_object()) throw Error("attrs: expected an object, found " + attrs.dump());
}

bool AttrReader::given(const std::string& name) {
  seen_.insert(name);
  return has(name);
}

const json& AttrReader::get(const std::string& name) {
  seen_.insert(name);
  return attrs_.at(name);
}

int64_t AttrReader::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  if (!given(name)) return fallback;
  const int64_t v = json_integer(get(name), "attrs." + name);
  if (v < min || v > max)
    throw Error("attrs." + name + ": expected an integer in [" + std::to_string(min) + ", " +
                std::to_string(max) + "], found " + std::to_string(v));
  return v;
}

Pair AttrReader::required_pair(const std::string& name, int64_t min) {
  if (!has(name)) throw Error("attrs." + name + ": required attribute is missing");
  return pair(name, {0, 0}, min);
}

Pair AttrReader::pair(const std::string& name, Pair fallback, int64_t min) {
  if (!given(name)) return fallback;
  const json& v = get(name);
  const std::string where = "attrs." + name;
  Pair p{};
  if (v.is_array()) {
    if (v.size() != 2) throw Error(where + ": expected 2 integers, found " + v.dump());
    p = {json_integer(v[0], where + "[0]"), json_integer(v[1], where + "[1]")};
  } else if (v.is_number_integer()) {
    p = {json_integer(v, where), json_integer(v, where)};
  } else {
    throw Error(where + ": expected an integer or a pair of integers, found " + v.dump());
  }
  constexpr int64_t kMax = 1 << 20;  // no real window is this large; keeps arithmetic safe
  for (int64_t x : p)
    if (x < min || x > kMax)
      throw Error(where + ": expected values in [" + std::to_string(min) + ", " + std::to_string(kMax) +
                  "], found " + v.dump());
  return p;
}

Padding AttrReader::padding(const std::string& name) {
  Padding p;
  if (has(name) && get(name).is_string()) {
    const auto s = get(name).get<std::string>();
    if (s == "valid")
      p.mode = Padding::Mode::Valid;
    else if (s == "same")
      p.mode = Padding::Mode::Same;
    else
      throw Error("attrs." + name + ": expected \"valid\", \"same\" or [ph, pw], found \"" + s + "\"");
    return p;
  }
  p.pad = pair(name, {0, 0}, 0);
  return p;
}

std::vector<int64_t> AttrReader::integers(const std::string& name) {
  if (!has(name)) throw Error("attrs." + name + ": required attribute is missing");
  const json& v = get(name);
  if (!v.is_array()) throw Error("attrs." + name + ": expected a list of integers, found " + v.dump());
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(json_integer(v[i], "attrs." + name + "[" + std::to_string(i) + "]"));
  return out;
}

double AttrReader::number(const std::string& name) {
  if (!has(name)) throw Error("attrs." + name + ": required attribute is missing");
  const json& v = get(name);
  const std::string where = "attrs." + name;
  if (!v.is_number()) throw Error(where + ": expected a number, found " + v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > double(FLT_MAX))
    throw Error(where + ": expected a finite float32 number, found " + v.dump());
  return d;
}

double AttrReader::number(const std::string& name, double fallback) {
  return given(name) ? number(name) : fallback;
}

std::string AttrReader::choice(const std::string& name, const std::string& fallback,
                               const std::vector<std::string>& choices) {
  if (!given(name)) return fallback;
  const json& v = get(name);
  if (v.is_string())
    for (const auto& c : choices)
      if (v.get<std::string>() == c) return c;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "\"" : ", \"") + c + "\"";
  throw Error("attrs." + name + ": expected one of " + list + ", found " + v.dump());
}

void AttrReader::finish() const {
  std::string valid;
  for (const auto& name : seen_) valid += (valid.empty() ? "" : ", ") + name;
  for (const auto& [key, value] : attrs_.items())
    if (!seen_.count(key))
      throw Error("attrs." + key + ": unknown attribute (" +
                  (valid.empty() ? "this op has no attributes" : "valid: " + valid) + ")");
}

}  // namespace xgrad
