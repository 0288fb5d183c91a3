// What a model predicts (graph/predict.h predict_model): a classifier's classes, a regression's
// output values, a multi-label model's probabilities; and `xgrad predict` printing each.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "core/dataset.h"
#include "core/error.h"
#include "graph/builder.h"
#include "graph/init.h"
#include "graph/predict.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"

using namespace xgrad;

namespace {

// 28×28 images -> flatten -> dense to `outputs` values, trained by mse or sigmoid cross-entropy.
Graph image_head_net(const std::string& loss, int64_t outputs) {
  GraphBuilder b("image-" + loss);
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1, outputs});
  Value out = layers::dense(b, "out", b.flatten(x), outputs);
  b.output("loss", loss == "mse" ? b.mse(out, y, "loss") : b.sigmoid_cross_entropy(out, y, "loss"));
  return b.finish();
}

Tensor ramp_images(int64_t n) {
  Tensor t = make_tensor({n, 1, 28, 28});
  for (size_t i = 0; i < t.size(); ++i) t.data()[i] = float(i % 97) / 97.0f;
  return t;
}

// out = flatten(x)·w + b for image i, output j, in double.
double dense_by_hand(const Params& p, const Tensor& x, int64_t i, int64_t j) {
  const Tensor &w = p.at("out.w"), &b = p.at("out.b");
  const int64_t k = int64_t(w.shape()[1]);
  double sum = b(j);
  for (int64_t f = 0; f < 784; ++f) sum += double(x.data()[i * 784 + f]) * double(w.data()[f * k + j]);
  return sum;
}

}  // namespace

TEST_CASE("predict_model: a regression model gives its output values, no classes") {
  const Graph g = image_head_net("mse", 2);
  Rng rng(4);
  const Params p = init_params(g, rng);
  const Tensor x = ramp_images(5);
  const ModelPredictions m = predict_model(g, p, x, PredictOptions{2, "image"});  // batches of 2
  CHECK_FALSE(m.classifier);
  CHECK_FALSE(m.probabilities);
  CHECK(m.output == "out");
  REQUIRE(shape_of(m.values) == Shape{5, 2});
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 2; ++j)
      CHECK(m.values(i, j) == doctest::Approx(dense_by_hand(p, x, i, j)).epsilon(1e-5));
}

TEST_CASE("Predictor: one inference form for many calls of any size, with the weights it was made with") {
  const Graph g = image_head_net("mse", 3);
  Rng rng(7);
  Params p = init_params(g, rng);
  const Tensor x = ramp_images(5);
  Predictor made(g, p, g.id("out"), PredictOptions{2, "image"});
  Predictor predictor = std::move(made);  // movable: the engine keeps pointing at its graph
  for (int64_t n : {1, 5, 1, 3}) {        // batch sizes that change between calls, and 5 > the batch of 2
    Tensor xs = make_tensor({n, 1, 28, 28});
    std::copy(x.data(), x.data() + xs.size(), xs.data());
    const Tensor y = predictor(xs);
    REQUIRE(shape_of(y) == Shape{n, 3});
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < 3; ++j)
        CHECK(y(i, j) == doctest::Approx(dense_by_hand(p, x, i, j)).epsilon(1e-5));
  }
  const Tensor before = predictor(x);
  p.at("out.b").data()[0] += 1.0f;  // later changes are not seen; a new Predictor sees them
  const Tensor same = predictor(x), after = Predictor(g, p, g.id("out"))(x);
  CHECK(std::equal(before.begin(), before.end(), same.begin()));
  CHECK(after(0, 0) == doctest::Approx(before(0, 0) + 1.0).epsilon(1e-5));
  CHECK(after(0, 1) == doctest::Approx(before(0, 1)).epsilon(1e-5));
  CHECK_THROWS_WITH_AS(predictor(make_tensor({2, 1, 28, 27})),
                       doctest::Contains("the input \"image\" is [-1, 1, 28, 28]"), Error);
  CHECK_THROWS_WITH_AS(Predictor(g, p, g.id("loss")), doctest::Contains("expected one row per sample"),
                       Error);
  CHECK_THROWS_WITH_AS(Predictor(g, p, g.id("out"), PredictOptions{0, "image"}),
                       doctest::Contains("batch must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(Predictor(g, p, g.id("out"), PredictOptions{4, "pixels"}),
                       doctest::Contains("no input \"pixels\""), Error);
}

TEST_CASE("predict_model: a multi-label model gives σ of each logit; a classifier its classes") {
  const Graph g = image_head_net("sigmoid", 3);
  Rng rng(5);
  const Params p = init_params(g, rng);
  const Tensor x = ramp_images(4);
  const ModelPredictions m = predict_model(g, p, x);
  CHECK_FALSE(m.classifier);
  CHECK(m.probabilities);
  REQUIRE(shape_of(m.values) == Shape{4, 3});
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      CHECK(m.values(i, j) == doctest::Approx(1 / (1 + std::exp(-dense_by_hand(p, x, i, j)))).epsilon(1e-5));

  const Graph net = lenet("relu");
  const Params q = init_params(net, rng);
  const ModelPredictions c = predict_model(net, q, x);
  CHECK(c.classifier);
  CHECK(c.values.size() == 1);  // a default tensor: no values for a classifier
  const Predictions direct = predict(net, q, x);
  CHECK(c.classes.classes == direct.classes);
  CHECK(c.classes.probs == direct.probs);
}

TEST_CASE("xgrad predict prints a regression model's output values, one line per image") {
  TempDir dir;
  write_fashion_like_dir(dir.path(), 10, 6, 1);
  const Graph g = image_head_net("mse", 2);
  Rng rng(6);
  const Params p = init_params(g, rng);
  save_model(dir.file("reg.json"), g, &p, nlohmann::json::object());
  const test::CliRun r =
      test::run_xgrad(dir.path(), "predict --model reg.json --images t10k-images-idx3-ubyte.gz --index 1:4");
  INFO(r.out, r.err);
  REQUIRE(r.status == 0);
  const Dataset test = load_fashion_mnist(dir.path()).test;
  Tensor x = make_tensor({3, 1, 28, 28});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t f = 0; f < 784; ++f) x.data()[i * 784 + f] = float(test.image(size_t(i + 1))[f]) / 255.0f;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  CHECK(header == "index   out");
  for (int64_t i = 0; i < 3; ++i) {
    long long index = -1;
    double v0 = 0, v1 = 0;
    REQUIRE(bool(lines >> index >> v0 >> v1));
    CHECK(index == i + 1);
    CHECK(v0 == doctest::Approx(dense_by_hand(p, x, i, 0)).epsilon(1e-4));  // printed with 6 digits
    CHECK(v1 == doctest::Approx(dense_by_hand(p, x, i, 1)).epsilon(1e-4));
  }
  std::string rest;
  CHECK_FALSE(bool(lines >> rest));  // one line per image, nothing more
  CHECK(r.out.find("probability") == std::string::npos);
}

namespace {

// [N, 1, side, side] -> conv filters@kernel + relu -> flatten -> dense units, with an mse loss.
Graph conv_dense_net(int64_t side, int64_t filters, int64_t kernel, int64_t units) {
  GraphBuilder b("conv-dense");
  Value x = b.input("image", {-1, 1, side, side});
  Value y = b.input("label", {-1, units});
  Value h = b.relu(layers::conv2d(b, "conv", x, filters, kernel));
  Value out = layers::dense(b, "out", b.flatten(h), units);
  b.output("loss", b.mse(out, y, "loss"));
  return b.finish();
}

// [N, 1, 64, 64] -> conv 16@3x3 + relu [N, 16, 62, 62] -> flatten -> dense 3: the conv moves
// (4,096 + 61,504) floats = 262,400 bytes per sample, the relu 2 x 246,016.
Graph wide_conv_net() { return conv_dense_net(64, 16, 3, 3); }

// [N, 1, 28, 28] -> conv 32@5x5 + relu [N, 32, 24, 24] -> flatten -> dense 128: the dense layer's
// weights, 18,432 x 128 floats (9.4 MB), overflow the caches.
Graph big_dense_net() { return conv_dense_net(28, 32, 5, 128); }

}  // namespace

TEST_CASE("cache_batch: images per pass from the op that moves the most per sample, within 2 MB a thread") {
  const Graph wide = wide_conv_net();
  // The relu: 492,032 bytes a sample, 4 of them in 2 MB: raised to the floor of 16 a thread.
  CHECK(cache_batch(wide, 256, 1) == 16);
  CHECK(cache_batch(wide, 256, 2) == 32);
  CHECK(cache_batch(wide, 256, 8) == 128);
  CHECK(cache_batch(wide, 10, 2) == 10);  // never more than asked for
  // The dense head: flatten moves 784 + 784 floats a sample, the most of its ops: 334 fit 2 MB.
  const Graph head = image_head_net("mse", 2);
  CHECK(cache_batch(head, 256, 1) == 256);
  CHECK(cache_batch(head, 1000, 1) == 334);
}

TEST_CASE(
    "cache_batch takes more images a pass where weights that overflow the caches are read once a pass") {
  const Graph g = big_dense_net();
  // Bytes a sample: relu and flatten 147,456 each, the conv 76,864, the dense layer 74,240, plus its
  // 9,437,696 bytes of weights. At 16 images (where the relu fits 2 MB) a pass reads 589,856 bytes of
  // weights an image; at 256 every op's activations overflow, 373,376 bytes an image, and the weights
  // 36,866; where the conv or the dense layer just fits (27, 28) the weights still cost more.
  CHECK(cache_batch(g, 256, 1) == 256);
  // 2 threads, 4 MB: at 54 the conv and the dense layer fit and the weights cost 174,772 bytes an
  // image, 469,684 in all against 482,882 at 256; at 32 (the relu's pass) 589,840.
  CHECK(cache_batch(g, 256, 2) == 54);
  CHECK(cache_batch(g, 64, 1) == 64);
  // At 8 threads (16 MB) the weights fit: the pass that keeps the relu in the caches, as before.
  CHECK(cache_batch(g, 256, 8) == 128);
}

TEST_CASE("Predictor in cache-sized passes gives what one pass of the whole batch gives") {
  const Graph g = wide_conv_net();
  Rng rng(9);
  const Params p = init_params(g, rng);
  Tensor x = make_tensor({40, 1, 64, 64});
  for (float& v : x) v = rng.uniform(-1, 1);
  const Tensor split =
      Predictor(g, p, g.id("out"), PredictOptions{256, "image"})(x);  // passes of 16 a thread
  const Tensor whole = Predictor(g, p, g.id("out"), PredictOptions{256, "image", false})(x);
  REQUIRE(shape_of(split) == Shape{40, 3});
  REQUIRE(shape_of(whole) == Shape{40, 3});
  for (int64_t i = 0; i < 40; ++i)
    for (int64_t j = 0; j < 3; ++j) CHECK(split(i, j) == doctest::Approx(whole(i, j)).epsilon(1e-6));
}
