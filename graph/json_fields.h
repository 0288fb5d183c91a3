#pragma once
// Reading one JSON object of a file format field by field: every error carries the field's JSON
// path, and finish() rejects keys nobody asked for (a typo must not be silently ignored).
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
