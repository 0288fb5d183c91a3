#pragma once
// The one way xgrad reads a JSON object of a file format (models, checkpoints, optimizer and
// training settings): field by field, every error carrying the field's JSON path, and finish()
// rejecting keys nobody asked for (a typo must not be silently ignored).
#include <cstdint>
#include <limits>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace xgrad {

inline std::string json_path(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}
inline std::string json_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

// "a string", "the number 2.7", "null": what was found, for "expected X, found Y".
inline std::string json_found(const nlohmann::json& j) {
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  if (j.is_string()) return "the string " + j.dump();
  if (j.is_boolean()) return j.dump();
  if (j.is_null()) return "null";
  return "the number " + j.dump();
}

class Fields {
 public:
  Fields(const nlohmann::json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j.is_object()) throw Error(prefix() + "expected an object, found " + json_found(j));
  }

  const nlohmann::json* optional(const std::string& key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  const nlohmann::json& required(const std::string& key) {
    const nlohmann::json* v = optional(key);
    if (!v) throw Error(prefix() + "missing field \"" + key + "\"");
    return *v;
  }
  std::string string(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_string()) throw Error(at(key) + ": expected a string, found " + json_found(v));
    return v.get<std::string>();
  }
  double number(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_number()) throw Error(at(key) + ": expected a number, found " + json_found(v));
    return v.get<double>();
  }
  // An integer in [min, INT64_MAX]; 2.0, "2", true and integers past INT64_MAX are errors.
  int64_t integer(const std::string& key, int64_t min = std::numeric_limits<int64_t>::min()) {
    const nlohmann::json& v = required(key);
    const bool too_big =
        v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max());
    if (!v.is_number_integer() || too_big || v.get<int64_t>() < min)
      throw Error(at(key) + ": expected an integer" +
                  (min == std::numeric_limits<int64_t>::min() ? "" : " >= " + std::to_string(min)) +
                  ", found " + json_found(v));
    return v.get<int64_t>();
  }
  uint64_t unsigned_integer(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      throw Error(at(key) + ": expected an integer >= 0, found " + json_found(v));
    return v.get<uint64_t>();
  }
  bool boolean(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_boolean()) throw Error(at(key) + ": expected true or false, found " + json_found(v));
    return v.get<bool>();
  }
  const nlohmann::json& object(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_object()) throw Error(at(key) + ": expected an object, found " + json_found(v));
    return v;
  }
  const nlohmann::json& array(const std::string& key) {
    const nlohmann::json& v = required(key);
    if (!v.is_array()) throw Error(at(key) + ": expected an array, found " + json_found(v));
    return v;
  }
  void finish(const std::string& expected) const {
    for (const auto& item : j_.items())
      if (!seen_.count(item.key()))
        throw Error(at(item.key()) + ": unknown field (expected " + expected + ")");
  }
  std::string at(const std::string& key) const { return json_path(path_, key); }
  // "graph: " for errors about this object itself; nothing at the top of the document.
  std::string prefix() const { return path_.empty() ? "" : path_ + ": "; }

 private:
  const nlohmann::json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace xgrad
