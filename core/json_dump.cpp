// The one JSON writer of xgrad: deterministic bytes (save -> load -> save is byte-identical) laid
// out for people (structure indented, data arrays on one line).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/json_io.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

constexpr size_t kWidth = 110;

// Keys of xgrad's own formats, in the order a reader expects them; other keys follow, sorted.
const char* const kKeyOrder[] = {"format", "format_version", "name",   "op",       "type",     "graph",
                                 "inputs", "params",         "nodes",  "outputs",  "shape",    "dtype",
                                 "init",   "kernel",         "stride", "padding",  "dilation", "axis",
                                 "low",    "high",           "mean",   "stddev",   "attrs",    "values",
                                 "grads",  "weights",        "data",   "data_b64", "meta"};

size_t key_rank(const std::string& key) {
  const auto* end = std::end(kKeyOrder);
  return size_t(std::find(std::begin(kKeyOrder), end, key) - std::begin(kKeyOrder));
}

std::vector<std::string> ordered_keys(const json& obj) {
  std::vector<std::string> keys;
  for (const auto& item : obj.items()) keys.push_back(item.key());
  std::stable_sort(keys.begin(), keys.end(),
                   [](const std::string& a, const std::string& b) { return key_rank(a) < key_rank(b); });
  return keys;
}

// Shortest text that reads back as the same float; "-0.0" keeps the sign (JSON "-0" is integer 0).
std::string float_text(float f) {
  if (f == 0.0f) return std::signbit(f) ? "-0.0" : "0";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, f);
  return std::string(buf, r.ptr);
}

class Writer {
 public:
  std::string out;

  void value(const json& j, const std::string& path, size_t indent, bool float_data) {
    if (!j.is_structured()) return scalar(j, path, float_data);
    if (j.empty()) {
      out += j.is_array() ? "[]" : "{}";
      return;
    }
    const size_t line_start = out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1;
    const size_t column = out.size() - line_start;
    if (all_scalars(j) || fits(j, column, path, float_data)) return compact(j, path, float_data);
    const std::string pad(indent + 2, ' ');
    out += j.is_array() ? "[\n" : "{\n";
    if (j.is_array()) {
      for (size_t i = 0; i < j.size(); ++i) {
        out += pad;
        value(j[i], path + "[" + std::to_string(i) + "]", indent + 2, false);
        out += i + 1 < j.size() ? ",\n" : "\n";
      }
    } else {
      const auto keys = ordered_keys(j);
      for (size_t i = 0; i < keys.size(); ++i) {
        out += pad + string_text(keys[i], path) + ": ";
        value(j.at(keys[i]), join(path, keys[i]), indent + 2, keys[i] == "data");
        out += i + 1 < keys.size() ? ",\n" : "\n";
      }
    }
    out += std::string(indent, ' ') + (j.is_array() ? "]" : "}");
  }

 private:
  size_t limit_ = std::string::npos;

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static bool all_scalars(const json& j) {
    return j.is_array() && std::none_of(j.begin(), j.end(), [](const json& e) { return e.is_structured(); });
  }
  bool fits(const json& j, size_t column, const std::string& path, bool float_data) const {
    if (column + j.size() * 2 > kWidth) return false;  // cheap reject before formatting
    Writer w;
    w.limit_ = kWidth;  // stop formatting as soon as it cannot fit
    w.compact(j, path, float_data);
    return column + w.out.size() + 1 <= kWidth;  // +1: the comma after it
  }
  void compact(const json& j, const std::string& path, bool float_data) {
    if (!j.is_structured()) return scalar(j, path, float_data);
    out += j.is_array() ? "[" : "{";
    if (j.is_array()) {
      for (size_t i = 0; i < j.size() && out.size() <= limit_; ++i) {
        if (i) out += ", ";
        compact(j[i], path + "[" + std::to_string(i) + "]", float_data);
      }
    } else {
      bool first = true;
      for (const auto& key : ordered_keys(j)) {
        if (out.size() > limit_) break;
        out += (first ? "" : ", ") + string_text(key, path) + ": ";
        compact(j.at(key), join(path, key), key == "data");
        first = false;
      }
    }
    out += j.is_array() ? "]" : "}";
  }
  void scalar(const json& j, const std::string& path, bool float_data) {
    if (j.is_number_float()) {
      const double d = j.get<double>();
      if (!std::isfinite(d)) throw Error(path + ": " + std::to_string(d) + " cannot be written as JSON");
      if (float_data && double(float(d)) == d) {
        out += float_text(float(d));
        return;
      }
    }
    if (j.is_string()) {
      out += string_text(j.get_ref<const std::string&>(), path);
      return;
    }
    out += j.dump();
  }
  static std::string string_text(const std::string& s, const std::string& path) {
    try {
      return json(s).dump();
    } catch (const json::exception&) {
      throw Error((path.empty() ? std::string("JSON") : path) + ": string is not valid UTF-8");
    }
  }
};

}  // namespace

std::string dump_json(const nlohmann::json& j) {
  Writer w;
  w.value(j, "", 0, false);
  w.out += "\n";
  return w.out;
}

}  // namespace xgrad
