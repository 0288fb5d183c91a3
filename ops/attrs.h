#pragma once
// Typed, validated reading of an op's JSON attributes. Every error names the attribute and says
// what was expected and what was found; no silent coercion (2.7, "4", true are not integers).
#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace xgrad {

using json = nlohmann::json;
using Pair = std::array<int64_t, 2>;

// conv/pool padding: explicit [ph, pw] on both sides, or Keras' "valid" / "same".
struct Padding {
  enum class Mode { Explicit, Valid, Same };
  Mode mode = Mode::Explicit;
  Pair pad{0, 0};
  json to_json() const;
};

class AttrReader {
 public:
  explicit AttrReader(const json& attrs);

  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max);
  // A pair [a, b] or one integer meaning both; each within [min, max].
  Pair pair(const std::string& name, Pair fallback, int64_t min);
  Pair required_pair(const std::string& name, int64_t min);
  bool has(const std::string& name) const { return attrs_.contains(name); }
  Padding padding(const std::string& name);
  std::vector<int64_t> integers(const std::string& name);  // required list of integers
  // A finite number within float32's range (an integer is a number too); required when no
  // fallback. Kept as the double that was written, so the attribute writes back unchanged.
  double number(const std::string& name);
  double number(const std::string& name, double fallback);
  // One of `choices`, e.g. gelu's approximate: "none" | "tanh".
  std::string choice(const std::string& name, const std::string& fallback,
                     const std::vector<std::string>& choices);
  // Rejects attribute names that no read asked for (typos must not pass silently), listing the
  // names this op reads.
  void finish() const;

 private:
  bool given(const std::string& name);  // marks name as read; true when the attrs hold it
  const json& get(const std::string& name);
  const json& attrs_;
  std::set<std::string> seen_;
};

// The axis attribute `axis` of a value of shape s as an index (negative counts from the end);
// throws Error when it is out of range.
size_t axis_index(int64_t axis, const std::vector<int64_t>& s);

// Integer in a json value with no coercion, within int64 (larger values do not wrap around);
// throws Error("attrs.NAME: ...") otherwise.
int64_t json_integer(const json& v, const std::string& where);

}  // namespace xgrad
