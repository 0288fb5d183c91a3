// Checkpoint encoding: base64 vectors from RFC 4648, bit-exact tensors, malformed input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "graph/checkpoint.h"
#include "models/lenet.h"
#include "tests/train_fixtures.h"

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

namespace {

bool same_bits(const Params& a, const Params& b) {
  for (const auto& [name, t] : a)
    if (t.size() != b.at(name).size() || std::memcmp(t.data(), b.at(name).data(), t.size() * 4) != 0)
      return false;
  return a.size() == b.size();
}

Checkpoint snapshot(const Graph& g, Trainer& t, const Params& p) {
  return {g.name(), t.config(), p, t.optimizer().state_to_json(), t.progress()};
}

}  // namespace

TEST_CASE("stop, write a checkpoint as JSON text, read it back, resume: the same bits as one run") {
  const xgrad::testing::Synthetic data(90), test(30, 3, 4);
  const Graph g = mlp({8}, "sigmoid", 3);
  TrainConfig c;
  c.epochs = 3, c.batch = 8, c.seed = 11;
  c.optim.type = "sgd", c.optim.lr = 0.2, c.optim.momentum = 0.9, c.optim.nesterov = true;
  Rng rng(1);
  const Params init = init_params(g, rng);
  Params whole = init;
  Trainer a(g, whole, c);
  const auto src = data.source(), test_src = test.source();
  REQUIRE(a.run(src, &test_src));

  Params part = init;
  Trainer b(g, part, c);
  std::string text;
  CHECK_FALSE(b.run(src, &test_src, [&](const StepInfo& s) {
    return s.step == 15 ? StepAction::Stop : StepAction::Continue;  // mid second epoch
  }));
  text = checkpoint_to_json(snapshot(g, b, part)).dump();

  Checkpoint back = checkpoint_from_json(nlohmann::json::parse(text));
  CHECK(back.model == "mlp");
  CHECK(back.progress.step == 15);
  CHECK(back.progress.history.size() == 1);
  CHECK(back.progress.history[0].test_accuracy == b.progress().history[0].test_accuracy);
  Trainer r(g, back.weights, back.config);
  r.optimizer().load_state(back.optimizer, back.weights);
  r.set_progress(back.progress);
  REQUIRE(r.run(src, &test_src));
  CHECK(same_bits(back.weights, whole));
  CHECK(r.progress().history.back().test_loss == a.progress().history.back().test_loss);
}

TEST_CASE("checkpoint JSON: wrong format, version, fields") {
  const Graph g = mlp({2}, "relu", 3);
  Rng rng(0);
  Params p = init_params(g, rng);
  Trainer t(g, p, TrainConfig{});
  const auto good = checkpoint_to_json(snapshot(g, t, p));
  CHECK(checkpoint_from_json(good).weights.size() == 4);
  auto bad = [&](auto edit, const char* message) {
    auto j = good;
    edit(j);
    CHECK_THROWS_WITH_AS(checkpoint_from_json(j), doctest::Contains(message), Error);
  };
  bad([](auto& j) { j["format"] = "xgrad-model"; }, "not an xgrad checkpoint");
  bad([](auto& j) { j["version"] = 9; }, "version 9 is not supported (expected 1)");
  bad([](auto& j) { j["training"]["batch"] = 0; }, "checkpoint.training: batch size must be >= 1, got 0");
  bad([](auto& j) { j["progress"].erase("rng"); }, "checkpoint.progress: missing \"rng\"");
  bad([](auto& j) { j["progress"]["rng"][2] = "12x"; },
      "checkpoint.progress.rng[2]: expected a decimal string");
  bad([](auto& j) { j["progress"]["step"] = -3; }, "checkpoint.progress.step: expected an integer >= 0");
  bad([](auto& j) { j["progress"]["position"] = 5; }, "position is past the end");
  bad([](auto& j) { j["weights"]["fc1.w"]["f32le"] = "AAAA"; }, "checkpoint.weights.fc1.w: 3 bytes");
}
