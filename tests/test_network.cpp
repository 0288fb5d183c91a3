// compile / fit / evaluate / predict on a small separable problem, early stopping, callbacks,
// continued fits and save/load.
#include <doctest/doctest.h>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/data.h"
#include "graph/network.h"
#include "tests/idx_writer.h"

using namespace xgrad;

namespace {

// Points in [-1, 1]^2 labelled 1 when x0 + x1 > 0; inputs named "x" and "y" (not image/label).
std::pair<Tensor, Tensor> points(size_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor x = make_tensor({int64_t(n), 2}), y = make_tensor({int64_t(n)});
  for (size_t i = 0; i < n; ++i) {
    x(i, 0) = 2 * rng.uniform01() - 1, x(i, 1) = 2 * rng.uniform01() - 1;
    y(i) = x(i, 0) + x(i, 1) > 0 ? 1.0f : 0.0f;
  }
  return {x, y};
}

Graph classifier() {
  GraphBuilder b("points");
  Value x = b.input("x", {-1, 2});
  Value y = b.input("y", {-1}, DType::Int32);
  Value logits = layers::dense(b, "out", b.tanh(layers::dense(b, "hidden", x, 8)), 2);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  return b.finish();
}

BatchSource batches(const std::pair<Tensor, Tensor>& d) { return tensor_batches(d.first, d.second); }

}  // namespace

TEST_CASE("fit learns a separable problem; evaluate and predict agree") {
  Network net(classifier());
  CHECK(net.data_input() == "x");
  CHECK(net.label_input() == "y");
  net.compile(sgd(0.5, 0.9));
  const auto train = points(512, 1), test = points(256, 2);
  const History h =
      net.fit(batches(train), FitOptions().epochs(8).batch(16).validation(batches(test)).verbose(false));
  REQUIRE(h.epochs.size() == 8);
  CHECK_FALSE(h.stopped_early);
  CHECK(h.epochs.back().train_loss < h.epochs.front().train_loss);
  CHECK(h.epochs.back().test_accuracy > 0.85);  // chance is 0.5
  const Evaluation e = net.evaluate(batches(test));
  CHECK(e.accuracy == doctest::Approx(h.epochs.back().test_accuracy));
  const std::vector<int64_t> classes = net.predict_classes(test.first, 100);  // batches of 100, 100, 56
  int64_t correct = 0;
  for (size_t i = 0; i < classes.size(); ++i) correct += classes[i] == int64_t(test.second(i));
  CHECK(double(correct) / double(classes.size()) == doctest::Approx(e.accuracy));
  Predictor one_at_a_time = net.predictor(1);
  const Tensor all = net.predict(test.first);
  for (int64_t i : {0, 1, 255}) {
    Tensor sample = make_tensor({1, int64_t(test.first.shape()[1])});
    std::copy_n(test.first.data() + i * int64_t(sample.size()), sample.size(), sample.data());
    const Tensor row = one_at_a_time(sample);
    REQUIRE(row.size() == all.size() / 256);
    for (size_t k = 0; k < row.size(); ++k)
      CHECK(row.data()[k] == doctest::Approx(all.data()[size_t(i) * row.size() + k]).epsilon(1e-5));
  }
}

TEST_CASE("early stopping, on_epoch and on_step can end a fit") {
  const auto data = points(64, 3);
  Network still(classifier());
  still.compile(sgd(1e-9));  // the loss never improves by min_delta after the first epoch
  History h = still.fit(batches(data), FitOptions().epochs(10).early_stopping(2, 1e-3).verbose(false));
  CHECK(h.stopped_early);
  CHECK(h.epochs.size() == 3);

  Network net(classifier());
  h = net.fit(batches(data), FitOptions().epochs(10).verbose(false).on_epoch(
                                 [](const EpochMetrics& m) { return m.epoch < 2; }));
  CHECK(h.epochs.size() == 2);
  CHECK_FALSE(h.stopped_early);

  int steps = 0;
  h = net.fit(batches(data), FitOptions().epochs(10).batch(8).verbose(false).on_step([&](const StepInfo&) {
    return ++steps == 3 ? StepAction::Stop : StepAction::Continue;
  }));
  CHECK(steps == 3);
  CHECK(h.epochs.empty());
}

TEST_CASE("a second fit continues from the first: weights and momentum carry over") {
  const auto data = points(32, 4);
  auto full_batch = FitOptions().epochs(1).batch(32).verbose(false);  // order does not matter
  Network twice(classifier()), once(classifier());
  twice.compile(sgd(0.1, 0.9));
  once.compile(sgd(0.1, 0.9));
  twice.fit(batches(data), full_batch);
  twice.fit(batches(data), full_batch);
  once.fit(batches(data), full_batch.epochs(2));
  const Tensor& a = twice.params().at("hidden.w");
  const Tensor& b = once.params().at("hidden.w");
  for (size_t i = 0; i < a.size(); ++i) CHECK(a.data()[i] == doctest::Approx(b.data()[i]).epsilon(1e-5));
}

TEST_CASE("save and load keep the predictions; a graph without labels predicts but cannot fit") {
  const auto data = points(40, 5);
  Network net(classifier(), 7);
  net.fit(batches(data), FitOptions().epochs(2).verbose(false));
  TempDir dir;
  net.save(dir.file("points.json"));
  const Network back = Network::load(dir.file("points.json"));
  const Tensor p = net.predict(data.first), q = back.predict(data.first);
  REQUIRE(shape_of(p) == Shape{40, 2});
  CHECK(std::equal(p.begin(), p.end(), q.begin()));

  GraphBuilder b("no-labels");
  Value x = b.input("image", {-1, 3});
  b.output("probs", b.softmax(layers::dense(b, "fc", x, 4)));
  b.output("loss", b.mean(x));
  Network unlabeled(b.finish());
  CHECK(unlabeled.predict(make_tensor({5, 3}, 1.0f)).shape()[1] == 4);
  CHECK_THROWS_WITH_AS(unlabeled.fit(batches(data)), doctest::Contains("no label input"), Error);
}
