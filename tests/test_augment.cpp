// Training-image augmentation (core/augment.h): a flip and a shift do what they say on hand-made
// images, draws depend only on (seed, epoch, sample index), the option's text form, and the
// Trainer's use of it (an exact resume, a changed run, refused settings).
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <vector>

#include "core/augment.h"
#include "core/error.h"
#include "graph/builder.h"
#include "graph/checkpoint.h"
#include "graph/network.h"
#include "graph/serialize.h"
#include "graph/train.h"
#include "models/lenet.h"
#include "tests/temp_dir.h"
#include "tests/train_fixtures.h"

using namespace xgrad;
using xgrad::testing::same_param_bits;

namespace {

// Copies of the 3×3 image 1..9, sample ids 0..count-1.
Tensor copies_of_1_to_9(int64_t count, int64_t channels = 1) {
  Tensor t = make_tensor({count, channels, 3, 3});
  for (size_t i = 0; i < t.size(); ++i) t.data()[i] = float(i % 9 + 1);
  return t;
}

std::vector<uint32_t> first_ids(size_t n) {
  std::vector<uint32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = uint32_t(i);
  return ids;
}

std::vector<float> plane_of(const Tensor& t, int64_t i, int64_t plane = 0) {
  const size_t planes = t.shape()[1], at = (size_t(i) * planes + size_t(plane)) * 9;
  return {t.data() + at, t.data() + at + 9};
}

Augmentation augmentation(bool flip, int64_t shift) {
  Augmentation a;
  a.flip = flip, a.shift = shift;
  return a;
}

}  // namespace

TEST_CASE("flip mirrors along the width: every draw is the image or its mirror, and both occur") {
  Tensor t = copies_of_1_to_9(64);
  const auto ids = first_ids(64);
  augment_images(augmentation(true, 0), 3, 0, ids.data(), t);
  const std::vector<float> original = {1, 2, 3, 4, 5, 6, 7, 8, 9}, mirrored = {3, 2, 1, 6, 5, 4, 9, 8, 7};
  int flips = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const auto img = plane_of(t, i);
    CHECK((img == original || img == mirrored));
    flips += img == mirrored;
  }
  CHECK(flips > 16);  // p = 1/2: 32 expected of 64
  CHECK(flips < 48);
}

TEST_CASE("shift moves by whole pixels, zero-filled, each of the (2s+1)^2 offsets occurring") {
  // The nine results of shift = 1 on 1..9, written out by hand: (dy, dx) moves content down/right.
  const std::vector<std::vector<float>> expected = {
      {5, 6, 0, 8, 9, 0, 0, 0, 0},  // (-1, -1)
      {4, 5, 6, 7, 8, 9, 0, 0, 0},  // (-1, 0)
      {0, 4, 5, 0, 7, 8, 0, 0, 0},  // (-1, 1)
      {2, 3, 0, 5, 6, 0, 8, 9, 0},  // (0, -1)
      {1, 2, 3, 4, 5, 6, 7, 8, 9},  // (0, 0)
      {0, 1, 2, 0, 4, 5, 0, 7, 8},  // (0, 1)
      {0, 0, 0, 2, 3, 0, 5, 6, 0},  // (1, -1)
      {0, 0, 0, 1, 2, 3, 4, 5, 6},  // (1, 0)
      {0, 0, 0, 0, 1, 2, 0, 4, 5},  // (1, 1)
  };
  Tensor t = copies_of_1_to_9(200, 2);
  const auto ids = first_ids(200);
  augment_images(augmentation(false, 1), 11, 2, ids.data(), t);
  std::set<std::vector<float>> seen;
  for (int64_t i = 0; i < 200; ++i) {
    const auto img = plane_of(t, i);
    CHECK(std::find(expected.begin(), expected.end(), img) != expected.end());
    CHECK(plane_of(t, i, 1) == img);  // every channel moves alike
    seen.insert(img);
  }
  CHECK(seen.size() == 9);
}

TEST_CASE("flip and shift together: the mirror, then the move") {
  // Mirrored 1..9 is {3,2,1,6,5,4,9,8,7}; moved by (0, 1): {0,3,2,0,6,5,0,9,8}.
  Tensor t = copies_of_1_to_9(300);
  const auto ids = first_ids(300);
  augment_images(augmentation(true, 1), 0, 0, ids.data(), t);
  bool found = false;
  for (int64_t i = 0; i < 300; ++i)
    found = found || plane_of(t, i) == std::vector<float>{0, 3, 2, 0, 6, 5, 0, 9, 8};
  CHECK(found);
}

TEST_CASE("a sample's draw depends on seed, epoch and index only: not on its batch or shard") {
  const Augmentation a = augmentation(true, 2);
  Tensor img = make_tensor({1, 1, 6, 6});
  for (size_t i = 0; i < img.size(); ++i) img.data()[i] = float(i + 1);
  auto draw = [&](uint64_t seed, uint64_t epoch, uint32_t index) {
    Tensor t = img;
    augment_images(a, seed, epoch, &index, t);
    return t;
  };
  // The whole batch of ids {9, 4, 7} equals its samples drawn one by one (a shard of one each).
  Tensor batch = make_tensor({3, 1, 6, 6});
  for (int i = 0; i < 3; ++i) std::copy(img.begin(), img.end(), batch.data() + i * 36);
  const std::vector<uint32_t> ids = {9, 4, 7};
  augment_images(a, 5, 1, ids.data(), batch);
  for (int i = 0; i < 3; ++i) {
    const Tensor alone = draw(5, 1, ids[size_t(i)]);
    CHECK(std::equal(alone.begin(), alone.end(), batch.data() + i * 36));
  }
  CHECK(draw(5, 1, 9) == draw(5, 1, 9));
  int differ_by_epoch = 0, differ_by_seed = 0;
  for (uint32_t index = 0; index < 20; ++index) {
    differ_by_epoch += draw(5, 1, index) != draw(5, 2, index);
    differ_by_seed += draw(5, 1, index) != draw(6, 1, index);
  }
  CHECK(differ_by_epoch > 10);  // 50 equal draws in 50 · 2 = 100 (flip × 5 × 5 offsets): rare
  CHECK(differ_by_seed > 10);
}

TEST_CASE("the augmentation's text form: parsed, printed back, bad values named") {
  CHECK_FALSE(parse_augmentation("none").enabled());
  const Augmentation both = parse_augmentation("flip,shift=2");
  CHECK(both.flip);
  CHECK(both.shift == 2);
  for (const char* spec : {"none", "flip", "shift=3", "flip,shift=2"})
    CHECK(parse_augmentation(spec).to_string() == spec);
  CHECK(parse_augmentation("shift=2,flip").to_string() == "flip,shift=2");
  CHECK(parse_augmentation("shift=0").to_string() == "none");
  const std::pair<const char*, const char*> bad[] = {
      {"", "augmentation \"\" is unknown (valid: flip, shift=N, none"},
      {"rotate", "augmentation \"rotate\" is unknown"},
      {"flip,", "augmentation \"\" is unknown"},
      {"shift=", "\"shift=\": the shift must be a whole number of pixels >= 0"},
      {"shift=-1", "\"shift=-1\": the shift must be a whole number"},
      {"shift=1.5", "\"shift=1.5\": the shift must be a whole number"},
      {"shift=2x", "\"shift=2x\": the shift must be a whole number"},
      {"shift=99999999999999999999", "the shift must be a whole number"},
  };
  for (const auto& [spec, message] : bad) {
    INFO(spec);
    CHECK_THROWS_WITH_AS(parse_augmentation(spec), doctest::Contains(message), Error);
  }
}

TEST_CASE("augment_images refuses what it cannot transform") {
  const uint32_t id = 0;
  Tensor flat = make_tensor({1, 9});
  CHECK_THROWS_WITH_AS(augment_images(augmentation(true, 0), 0, 0, &id, flat),
                       "augmentation needs images [N, C, H, W], got samples of shape [1, 9]", Error);
  Tensor small = make_tensor({1, 1, 3, 3});
  CHECK_THROWS_WITH_AS(augment_images(augmentation(false, 3), 0, 0, &id, small),
                       "augmentation shift 3 is not below the image size 3x3", Error);
  CHECK_THROWS_WITH_AS(augment_images(augmentation(false, -1), 0, 0, &id, small),
                       "augmentation shift must be >= 0, got -1", Error);
}

TEST_CASE("training with augmentation: changes the run, resumes bit for bit, is kept in the settings") {
  const testing::Synthetic data(60);
  const Graph g = lenet("relu");
  TrainConfig c;
  c.epochs = 2, c.batch = 16, c.seed = 3, c.optim.type = "adam", c.optim.lr = 0.01;
  Rng rng(2);
  const Params init = init_params(g, rng);
  Params plain = init;
  REQUIRE(Trainer(g, plain, c).run(data.source(), nullptr));
  c.augment = augmentation(true, 2);
  Params whole = init;
  REQUIRE(Trainer(g, whole, c).run(data.source(), nullptr));
  CHECK_FALSE(same_param_bits(whole, plain));
  for (int64_t stop_at : {2, 4, 6}) {  // mid epoch 1, its end, mid epoch 2
    Params part = init;
    Trainer a(g, part, c);
    CHECK_FALSE(a.run(data.source(), nullptr, [&](const StepInfo& s) {
      return s.step == stop_at ? StepAction::Stop : StepAction::Continue;
    }));
    const Checkpoint saved =
        checkpoint_from_json(nlohmann::json::parse(checkpoint_to_json(a.checkpoint()).dump()));
    CHECK(saved.config.augment.to_string() == "flip,shift=2");
    Params resumed = init;
    Trainer b(g, resumed, c);
    b.resume(saved);
    REQUIRE(b.run(data.source(), nullptr));
    CHECK(same_param_bits(resumed, whole));
  }
  Params other = init;
  TrainConfig flip_only = c;
  flip_only.augment.shift = 0;
  Trainer a(g, other, c);
  Trainer b(g, other, flip_only);
  CHECK_THROWS_WITH_AS(b.resume(a.checkpoint()),
                       doctest::Contains("augment = \"flip,shift=2\", this run asks for \"flip\""), Error);
}

TEST_CASE("training settings without \"augment\" (older files) mean none; a bad one is named") {
  TrainConfig c;
  nlohmann::json j = c.to_json();
  CHECK(j.at("augment") == "none");
  j.erase("augment");
  CHECK_FALSE(TrainConfig::from_json(j).augment.enabled());
  j["augment"] = "flip,spin";
  CHECK_THROWS_WITH_AS(TrainConfig::from_json(j),
                       doctest::Contains("training settings.augment: augmentation \"spin\" is unknown"),
                       Error);
}

TEST_CASE("a trainer refuses augmentation of inputs that are not images, or shifts past their size") {
  GraphBuilder b("flat");
  Value logits = layers::dense(b, "fc", b.input("image", {-1, 6}), 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));
  const Graph flat = b.finish();
  Rng rng(0);
  Params p = init_params(flat, rng);
  TrainConfig c;
  c.augment = augmentation(true, 0);
  CHECK_THROWS_WITH_AS(Trainer(flat, p, c),
                       "augmentation flip needs images [N, C, H, W]; input \"image\" takes [-1, 6]", Error);
  const Graph net = lenet("relu");
  Params q = init_params(net, rng);
  c.augment = augmentation(false, 28);
  CHECK_THROWS_WITH_AS(Trainer(net, q, c),
                       "augmentation shift 28 is not below the image size 28x28 of input \"image\"", Error);
}

TEST_CASE("Network::fit takes the augmentation through FitOptions and saves it in the meta") {
  const testing::Synthetic data(48);
  auto fit = [&](const Augmentation& a, const std::string& path) {
    Network net(lenet("relu"), 1);
    net.compile(adam(0.01));
    net.fit(data.source(), FitOptions().epochs(1).batch(16).augment(a).verbose(false));
    net.save(path);
    return load_model(path);
  };
  test::TempDir dir;
  const Model plain = fit(Augmentation{}, dir.file("plain.json"));
  const Model flipped = fit(parse_augmentation("flip,shift=1"), dir.file("flipped.json"));
  CHECK(plain.meta.at("training").at("augment") == "none");
  CHECK(flipped.meta.at("training").at("augment") == "flip,shift=1");
  CHECK_FALSE(same_param_bits(plain.weights, flipped.weights));
}
