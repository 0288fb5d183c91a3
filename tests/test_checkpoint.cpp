// Checkpoint encoding: base64 vectors from RFC 4648, bit-exact tensors, malformed input.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/base64.h"
#include "core/error.h"
#include "graph/checkpoint.h"
#include "graph/tensor_json.h"
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

TEST_CASE("tensor codec, exact form: every bit kept, NaN, infinities, -0, subnormals") {
  Tensor t = make_tensor({2, 3});
  const float values[] = {std::nanf(""), std::numeric_limits<float>::infinity(),
                          -0.0f,         std::numeric_limits<float>::denorm_min(),
                          0.1f,          -123456.789f};
  std::copy(std::begin(values), std::end(values), t.begin());
  const auto text = tensor_to_json_b64(t).dump();
  const Tensor back = tensor_from_json(nlohmann::json::parse(text), "x", NonFinite::Keep);
  REQUIRE(shape_of(back) == Shape{2, 3});
  CHECK(std::memcmp(back.data(), t.data(), sizeof(values)) == 0);
  CHECK_THROWS_WITH_AS(tensor_from_json(nlohmann::json::parse(text), "x"),
                       doctest::Contains("x.data_b64: element 0 is not finite"), Error);
  const Tensor scalar = tensor_from_json(tensor_to_json_b64(make_tensor({}, 2.5f)), "x");
  CHECK(shape_of(scalar).empty());
  CHECK(scalar() == 2.5f);
}

TEST_CASE("tensor codec, exact form: wrong byte count, bad shape, missing fields") {
  auto j = tensor_to_json_b64(make_tensor({3}, 1.0f));
  j["shape"] = {4};
  CHECK_THROWS_WITH_AS(tensor_from_json(j, "w"),
                       doctest::Contains("w.data_b64: holds 12 bytes, shape [4] needs 16"), Error);
  j["shape"] = "big";
  CHECK_THROWS_WITH_AS(tensor_from_json(j, "w"), doctest::Contains("w.shape: expected a shape"), Error);
  CHECK_THROWS_WITH_AS(tensor_from_json({{"shape", {1}}}, "w"),
                       doctest::Contains("w: missing field \"data\""), Error);
}

namespace {

// The same document as format_version 1 wrote it: "version" and tensors as {"shape", "f32le"}.
void downgrade_to_v1(nlohmann::json& j) {
  if (j.is_object() && j.contains("data_b64")) {
    j["f32le"] = j["data_b64"];
    j.erase("data_b64");
  }
  if (j.is_structured())
    for (auto& child : j) downgrade_to_v1(child);
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
  text = checkpoint_to_json(b.checkpoint()).dump();

  Checkpoint back = checkpoint_from_json(nlohmann::json::parse(text));
  CHECK(back.model == "mlp");
  CHECK(back.progress.step == 15);
  CHECK(back.progress.history.size() == 1);
  CHECK(back.progress.history[0].test_accuracy == b.progress().history[0].test_accuracy);
  Trainer r(g, back.weights, back.config);
  r.optimizer().load_state(back.optimizer, back.weights);
  r.set_progress(back.progress);
  REQUIRE(r.run(src, &test_src));
  CHECK(xgrad::testing::same_param_bits(back.weights, whole));
  CHECK(r.progress().history.back().test_loss == a.progress().history.back().test_loss);
}

TEST_CASE("checkpoint JSON: wrong format, version, fields") {
  const Graph g = mlp({2}, "relu", 3);
  Rng rng(0);
  Params p = init_params(g, rng);
  Trainer t(g, p, TrainConfig{});
  const auto good = checkpoint_to_json(t.checkpoint());
  CHECK(checkpoint_from_json(good).weights.size() == 4);
  auto bad = [&](auto edit, const char* message) {
    auto j = good;
    edit(j);
    CHECK_THROWS_WITH_AS(checkpoint_from_json(j), doctest::Contains(message), Error);
  };
  bad([](auto& j) { j["format"] = "xgrad-model"; }, "not an xgrad checkpoint");
  bad([](auto& j) { j["format_version"] = 9; },
      "checkpoint: format_version: 9 is not supported (this build reads 1 to 2)");
  bad([](auto& j) { j.erase("format_version"); }, "checkpoint: format_version: missing");
  bad([](auto& j) { j["extra"] = 1; }, "checkpoint.extra: unknown field");
  bad([](auto& j) { j["training"]["batch"] = 0; }, "checkpoint.training: batch size must be >= 1, got 0");
  bad([](auto& j) { j["progress"].erase("rng"); }, "checkpoint.progress: missing field \"rng\"");
  bad([](auto& j) { j["progress"]["rng"][2] = "12x"; },
      "checkpoint.progress.rng[2]: expected a decimal string");
  bad([](auto& j) { j["progress"]["step"] = -3; }, "checkpoint.progress.step: expected an integer >= 0");
  bad([](auto& j) { j["progress"]["position"] = 5; }, "checkpoint.progress.position: past the end");
  bad([](auto& j) { j["weights"]["fc1.w"]["data_b64"] = "AAAA"; },
      "checkpoint.weights.fc1.w.data_b64: holds 3 bytes");
  bad([](auto& j) { j["progress"]["rng"][0] = "99999999999999999999999"; }, "checkpoint.progress.rng[0]");
}

namespace {

// A checkpoint taken `stop_step` steps into an Adam run of a small mlp on 40 synthetic samples (five
// steps per epoch).
Checkpoint interrupted_checkpoint(int64_t epochs, int64_t stop_step) {
  const xgrad::testing::Synthetic data(40);
  const Graph g = mlp({4}, "relu", 3);
  TrainConfig c;
  c.epochs = epochs, c.batch = 8, c.optim = OptimConfig{"adam", 0.01};
  Rng rng(2);
  Params p = init_params(g, rng);
  Trainer t(g, p, c);
  const auto src = data.source();
  CHECK_FALSE(t.run(src, nullptr, [&](const StepInfo& s) {
    return s.step == stop_step ? StepAction::Stop : StepAction::Continue;
  }));
  return t.checkpoint();
}

}  // namespace

TEST_CASE("format_version 1 checkpoints (\"version\", tensors as \"f32le\") are still read, exactly") {
  const Checkpoint saved = interrupted_checkpoint(1, 2);
  const auto v2 = checkpoint_to_json(saved);
  auto v1 = v2;
  downgrade_to_v1(v1);
  v1.erase("format_version");
  v1["version"] = 1;
  REQUIRE(v1.dump().find("f32le") != std::string::npos);
  const Checkpoint back = checkpoint_from_json(v1);
  CHECK(xgrad::testing::same_param_bits(back.weights, saved.weights));
  CHECK(checkpoint_to_json(back) == v2);
  v1["version"] = 2;
  CHECK_THROWS_WITH_AS(checkpoint_from_json(v1), doctest::Contains("checkpoint: version: 2 is not supported"),
                       Error);
}

TEST_CASE("checkpoints written before the mse metric (\"correct\", no *_mse figures) are still read") {
  const Checkpoint saved = interrupted_checkpoint(2, 7);  // in the second epoch
  const auto now = checkpoint_to_json(saved);
  auto old = now;
  old["progress"].erase("metric_sum");
  old["progress"]["correct"] = int64_t(saved.progress.metric_sum);
  for (auto& epoch : old["progress"]["history"]) epoch.erase("train_mse"), epoch.erase("test_mse");
  REQUIRE(old.dump().find("\"correct\"") != std::string::npos);
  const Checkpoint back = checkpoint_from_json(old);
  CHECK(back.progress.metric_sum == saved.progress.metric_sum);
  CHECK(back.progress.metric_sum > 0);
  CHECK(back.progress.history.at(0).train_accuracy == saved.progress.history.at(0).train_accuracy);
  CHECK(std::isnan(back.progress.history.at(0).train_mse));
  CHECK(checkpoint_to_json(back) == now);
}
