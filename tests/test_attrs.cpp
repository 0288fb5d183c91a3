// The attribute reader's errors, in the user's terms: unknown names list the valid ones, integers
// beyond int64 are refused (not wrapped around), numbers and choices are checked.
#include <doctest/doctest.h>

#include <cstdint>

#include "core/error.h"
#include "core/json_io.h"
#include "ops/registry.h"

using namespace xgrad;

namespace {

std::string make_error(const std::string& op, const json& attrs) {
  try {
    registry().make(op, attrs);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("an unknown op lists the known ones") {
  const std::string e = make_error("gelux", json::object());
  CHECK(e.rfind("unknown op \"gelux\" (known: abs, add, ", 0) == 0);
  CHECK(e.find(", gelu, ") != std::string::npos);
}

TEST_CASE("an unknown attribute lists the op's valid ones") {
  CHECK(make_error("leaky_relu", {{"alpah", 0.1}}) == "attrs.alpah: unknown attribute (valid: alpha)");
  CHECK(make_error("clip", {{"min", 0}, {"max", 1}, {"mx", 2}}) ==
        "attrs.mx: unknown attribute (valid: max, min)");
  CHECK(make_error("relu", {{"alpha", 0.1}}) == "attrs.alpha: unknown attribute (this op has no attributes)");
  CHECK(make_error("max_pool2d", {{"kernel", 2}, {"strides", 2}}) ==
        "attrs.strides: unknown attribute (valid: kernel, padding, stride)");
}

TEST_CASE("integers above INT64_MAX are rejected by the reader, not wrapped negative") {
  const json big = uint64_t(1) << 63, biggest = UINT64_MAX;
  CHECK(make_error("softmax", {{"axis", big}}) ==
        "attrs.axis: expected an integer, found 9223372036854775808 (larger than int64 allows)");
  CHECK(make_error("concat", {{"axis", biggest}}) ==
        "attrs.axis: expected an integer, found 18446744073709551615 (larger than int64 allows)");
  CHECK(make_error("max_pool2d", {{"kernel", big}}) ==
        "attrs.kernel: expected an integer, found 9223372036854775808 (larger than int64 allows)");
  CHECK(make_error("max_pool2d", {{"kernel", {2, big}}}) ==
        "attrs.kernel[1]: expected an integer, found 9223372036854775808 (larger than int64 allows)");
  CHECK(make_error("reshape", {{"shape", {big}}}) ==
        "attrs.shape[0]: expected an integer, found 9223372036854775808 (larger than int64 allows)");
  // as parsed from a file, where such a number becomes an unsigned JSON integer
  CHECK(make_error("softmax", parse_json(R"({"axis": 9223372036854775809})", "m.json")) ==
        "attrs.axis: expected an integer, found 9223372036854775809 (larger than int64 allows)");
  // INT64_MAX itself is an integer, just out of the axis' range
  CHECK(make_error("softmax", {{"axis", INT64_MAX}}) ==
        "attrs.axis: expected an integer in [-32, 31], found 9223372036854775807");
}

TEST_CASE("number attributes: finite, within float32, not strings or booleans") {
  CHECK(make_error("elu", {{"alpha", "1"}}) == "attrs.alpha: expected a number, found \"1\"");
  CHECK(make_error("elu", {{"alpha", true}}) == "attrs.alpha: expected a number, found true");
  CHECK(make_error("scale", {{"factor", 1e39}}) ==
        "attrs.factor: expected a finite float32 number, found 1e+39");
  CHECK(make_error("scale", json::object()) == "attrs.factor: required attribute is missing");
  CHECK(make_error("add_scalar", json::object()) == "attrs.value: required attribute is missing");
  CHECK(make_error("clip", {{"min", 0}}) == "attrs.max: required attribute is missing");
  CHECK(make_error("clip", {{"min", 2}, {"max", 1}}) == "attrs.min: 2.0 is larger than attrs.max 1.0");
  // an integer is a number; attributes are written back as given
  CHECK(registry().make("add_scalar", {{"value", 2}})->attrs().dump() == R"({"value":2.0})");
  CHECK(registry().make("leaky_relu")->attrs().dump() == R"({"alpha":0.01})");
}

TEST_CASE("choice attributes and the defaults written in full") {
  CHECK(make_error("gelu", {{"approximate", "erf"}}) ==
        "attrs.approximate: expected one of \"none\", \"tanh\", found \"erf\"");
  CHECK(make_error("gelu", {{"approximate", 1}}) ==
        "attrs.approximate: expected one of \"none\", \"tanh\", found 1");
  CHECK(registry().make("gelu")->attrs() == json{{"approximate", "none"}});
  CHECK(registry().make("elu")->attrs() == json{{"alpha", 1.0}});
  CHECK(registry().make("concat")->attrs() == json{{"axis", 1}});
  CHECK(registry().make("log_softmax")->attrs() == json{{"axis", -1}});
}
