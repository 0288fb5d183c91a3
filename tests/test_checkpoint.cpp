// Checkpoint encoding: base64 vectors from RFC 4648, bit-exact tensors, malformed input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "graph/checkpoint.h"

using namespace xgrad;

TEST_CASE("base64: RFC 4648 test vectors both ways") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    CHECK(base64_encode(plain[i]) == coded[i]);
    CHECK(base64_decode(coded[i], "t") == plain[i]);
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all += char(c);
  CHECK(base64_decode(base64_encode(all), "t") == all);
}

TEST_CASE("base64: malformed text is refused with the offset") {
  CHECK_THROWS_WITH_AS(base64_decode("Zm9", "w"), doctest::Contains("w: base64 text has 3 characters"),
                       Error);
  CHECK_THROWS_WITH_AS(base64_decode("Zm*v", "w"), doctest::Contains("invalid base64 character at offset 2"),
                       Error);
  CHECK_THROWS_WITH_AS(base64_decode("Z=9vZm9v", "w"), doctest::Contains("offset 1"), Error);
}

TEST_CASE("tensor state keeps every bit: NaN, infinities, -0, subnormals") {
  Tensor t = make_tensor({2, 3});
  const float values[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                          -0.0f,         std::numeric_limits<float>::denorm_min(),
                          0.1f,          -123456.789f};
  std::copy(std::begin(values), std::end(values), t.begin());
  const Tensor back = tensor_from_state(nlohmann::json::parse(tensor_to_state(t).dump()), "x");
  REQUIRE(shape_of(back) == Shape{2, 3});
  CHECK(std::memcmp(back.data(), t.data(), sizeof(values)) == 0);
  const Tensor scalar = tensor_from_state(tensor_to_state(make_tensor({}, 2.5f)), "x");
  CHECK(shape_of(scalar).empty());
  CHECK(scalar() == 2.5f);
}

TEST_CASE("tensor state: wrong byte count, bad shape, missing fields") {
  auto j = tensor_to_state(make_tensor({3}, 1.0f));
  j["shape"] = {4};
  CHECK_THROWS_WITH_AS(tensor_from_state(j, "w"), doctest::Contains("w: 12 bytes for shape [4], expected 16"),
                       Error);
  j["shape"] = "big";
  CHECK_THROWS_WITH_AS(tensor_from_state(j, "w"), doctest::Contains("w.shape: expected an array of integers"),
                       Error);
  CHECK_THROWS_WITH_AS(tensor_from_state({{"shape", {1}}}, "w"), doctest::Contains("expected {\"shape\""),
                       Error);
}
