#include "core/tensor.h"

#include <limits>

#include "core/error.h"

namespace xgrad {

const char* dtype_name(DType t) { return t == DType::Int32 ? "int32" : "float32"; }

DType dtype_from_name(const std::string& name) {
  if (name == "float32") return DType::Float32;
  if (name == "int32") return DType::Int32;
  throw Error("unknown dtype \"" + name + "\" (expected \"float32\" or \"int32\")");
}

std::string to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

int64_t checked_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (d < 0) throw Error("shape " + to_string(s) + " has a negative dimension");
  // The other dims of an empty shape count too: a tensor's strides are their products.
  bool empty = false;
  for (int64_t d : s) {
    if (d == 0) {
      empty = true;
      continue;
    }
    if (n > std::numeric_limits<int64_t>::max() / d)
      throw Error("shape " + to_string(s) + " has more elements than can be counted");
    n *= d;
  }
  return empty ? 0 : n;
}

Shape shape_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end()); }

void ensure_shape(Tensor& t, const Shape& s) {
  if (t.dimension() == s.size() && std::equal(s.begin(), s.end(), t.shape().begin())) return;
  t.resize(std::vector<size_t>(s.begin(), s.end()));
}

Tensor make_tensor(const Shape& s, float fill) {
  Tensor t(std::vector<size_t>(s.begin(), s.end()));
  t.fill(fill);
  return t;
}

bool shape_matches(const Shape& pattern, const Shape& actual) {
  if (pattern.size() != actual.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i)
    if (pattern[i] != -1 && pattern[i] != actual[i]) return false;
  return true;
}

}  // namespace xgrad
