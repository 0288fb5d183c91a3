// The metric that fits the loss (graph/metric.h): chosen from the loss op, hand-computed batch
// figures, and tiny regression and multi-label models that train through the Trainer, Network and
// `xgrad train`/`eval` with the right figures, CSV columns and meta.
#include <doctest/doctest.h>

#include <cmath>

#include "core/npz.h"
#include "core/zip.h"
#include "graph/builder.h"
#include "graph/data.h"
#include "graph/network.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;

namespace {

// A linear model on 4 features with the given head: "mse" (1 output) or "sigmoid" (3 labels).
Graph tiny_net(const std::string& head) {
  GraphBuilder b("tiny-" + head);
  Value x = b.input("image", {-1, 4});
  const int64_t outputs = head == "mse" ? 1 : 3;
  Value y = b.input("label", {-1, outputs});
  Value out = layers::dense(b, "out", x, outputs);
  b.output("loss", head == "mse" ? b.mse(out, y, "loss") : b.sigmoid_cross_entropy(out, y, "loss"));
  return b.finish();
}

// n samples of 4 features in [0, 1); targets: 2·x0 − x1 + 0.5·x3 (mse) or x_j > 0.5 for j < 3.
std::pair<Tensor, Tensor> tiny_data(const std::string& head, int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor x = make_tensor({n, 4}), y = make_tensor({n, head == "mse" ? 1 : 3});
  for (float& v : x) v = rng.uniform01();
  for (int64_t i = 0; i < n; ++i) {
    if (head == "mse") y(i, 0) = 2 * x(i, 0) - x(i, 1) + 0.5f * x(i, 3);
    for (int64_t j = 0; head != "mse" && j < 3; ++j) y(i, j) = x(i, j) > 0.5f ? 1.0f : 0.0f;
  }
  return {x, y};
}

Tensor tensor_of(const Shape& shape, std::vector<float> v) {
  Tensor t = make_tensor(shape);
  std::copy(v.begin(), v.end(), t.data());
  return t;
}

}  // namespace

TEST_CASE("metrics: chosen from the loss op") {
  CHECK(metric_for(lenet()).kind == MetricKind::Accuracy);
  CHECK(metric_for(tiny_net("mse")).kind == MetricKind::MeanSquaredError);
  const Graph multi = tiny_net("sigmoid");
  const Metric m = metric_for(multi);
  CHECK(m.kind == MetricKind::BinaryAccuracy);
  CHECK(multi.node(m.predictions).name == "out");
  CHECK(multi.node(m.targets).name == "label");
  CHECK(std::string(metric_name(m.kind)) == "binary_accuracy");
  GraphBuilder b("composed");  // a loss built from ops: accuracy if it has logits, else none
  Value x = b.input("image", {-1, 3});
  Value y = b.input("label", {-1, 3});
  b.output("loss", b.mean(b.square(b.sub(x, y)), "loss"));
  CHECK(metric_for(b.finish()).kind == MetricKind::None);
  GraphBuilder c("composed-logits");
  Value cx = c.input("image", {-1, 3});
  c.input("label", {-1}, DType::Int32);
  c.output("logits", cx);
  c.output("loss", c.sum(cx, "loss"));
  CHECK(metric_for(c.finish()).kind == MetricKind::Accuracy);
}

TEST_CASE("metrics: batch sums by hand") {
  Metric m;
  m.kind = MetricKind::BinaryAccuracy;  // σ(0) = 0.5 counts as positive
  const Tensor logits = tensor_of({2, 2}, {2, -1, 0, -3}), targets = tensor_of({2, 2}, {1, 1, 0, 0});
  CHECK(m.batch_sum(logits, targets) == 1.0);  // 1/2 + 1/2
  m.kind = MetricKind::MeanSquaredError;
  CHECK(m.batch_sum(tensor_of({2, 2}, {1, 2, 3, 5}), tensor_of({2, 2}, {0, 2, 3, 3})) ==
        2.5);  // (1+0)/2 + (0+4)/2
  m.kind = MetricKind::Accuracy;
  CHECK(m.batch_sum(tensor_of({3, 2}, {0, 1, 1, 0, 5, 5}), tensor_of({3}, {1, 1, 0})) == 2.0);  // ties: first
  CHECK(std::isnan(metric_values(MetricKind::MeanSquaredError, 0.5).accuracy));
  CHECK(metric_values(MetricKind::BinaryAccuracy, 0.5).accuracy == 0.5);
}

TEST_CASE("metrics: a regression model trains and is measured by mse, and predicts without targets") {
  const auto [x, y] = tiny_data("mse", 256, 1);
  const auto [tx, ty] = tiny_data("mse", 64, 2);
  Network net(tiny_net("mse"), 0);
  net.compile(sgd(0.3));
  const Evaluation before = net.evaluate(tensor_batches(tx, ty));
  const History h =
      net.fit(tensor_batches(x, y),
              FitOptions().epochs(20).batch(16).validation(tensor_batches(tx, ty)).verbose(false));
  const Evaluation e = net.evaluate(tensor_batches(tx, ty));
  CHECK(e.metric == MetricKind::MeanSquaredError);
  CHECK(std::isnan(e.accuracy));
  CHECK(e.confusion.empty());
  CHECK(e.mse == doctest::Approx(e.loss).epsilon(1e-5));  // the loss is the mse itself
  CHECK(e.mse < 0.01 * before.mse);
  const EpochMetrics& last = h.epochs.back();
  CHECK(std::isnan(last.train_accuracy));
  CHECK(last.train_mse == doctest::Approx(last.train_loss).epsilon(1e-5));
  CHECK(last.test_mse == doctest::Approx(e.mse).epsilon(1e-6));
  const Tensor p = net.predict(tx);  // [N, 1]: the loss's prediction input, no "label" fed
  CHECK(shape_of(p) == Shape{64, 1});
  const Tensor &w = net.params().at("out.w"), &bias = net.params().at("out.b");
  for (int64_t i : {0, 5, 63}) {
    double want = bias(0);
    for (int64_t j = 0; j < 4; ++j) want += double(tx(i, j)) * w(j, 0);
    CHECK(p(i, 0) == doctest::Approx(want).epsilon(1e-5));
    CHECK(std::fabs(p(i, 0) - ty(i, 0)) < 0.1);
  }
}

TEST_CASE("metrics: a multi-label model is measured by thresholded accuracy per element") {
  const auto [x, y] = tiny_data("sigmoid", 512, 3);
  Network net(tiny_net("sigmoid"), 0);
  net.compile(adam(0.05));
  const double chance = net.evaluate(tensor_batches(x, y)).accuracy;
  const History h = net.fit(tensor_batches(x, y), FitOptions().epochs(15).batch(32).verbose(false));
  const Evaluation e = net.evaluate(tensor_batches(x, y));
  CHECK(e.metric == MetricKind::BinaryAccuracy);
  CHECK(std::isnan(e.mse));
  CHECK(e.accuracy > 0.95);  // each label is a threshold of one feature: linearly separable
  CHECK(e.accuracy > chance);
  CHECK(h.epochs.back().train_accuracy > 0.9);
  CHECK(std::isnan(h.epochs.back().train_mse));
  // By hand: the share of elements where (logit >= 0) == (target >= 0.5).
  const Tensor logits = net.predict(x);
  double right = 0;
  for (size_t i = 0; i < logits.size(); ++i) right += (logits.data()[i] >= 0) == (y.data()[i] >= 0.5f);
  CHECK(e.accuracy == doctest::Approx(right / double(logits.size())));
}

TEST_CASE("metrics: xgrad train and eval report mse or binary accuracy in the log, CSV and meta") {
  if (!zip_available()) return;
  for (const std::string head : {"mse", "sigmoid"}) {
    INFO(head);
    TempDir dir;
    const auto [x, y] = tiny_data(head, 200, 4);
    const auto [tx, ty] = tiny_data(head, 50, 5);
    write_npz(dir.file("d.npz"), {{"x_train", npy_from_tensor(x)},
                                  {"y_train", npy_from_tensor(y)},
                                  {"x_test", npy_from_tensor(tx)},
                                  {"y_test", npy_from_tensor(ty)}});
    save_model(dir.file("m.json"), tiny_net(head), nullptr, nlohmann::json::object());
    auto r =
        test::run_xgrad(dir.path(),
                        "train --model m.json --data d.npz --epochs 3 --batch 10 --optimizer adam --lr 0.05 "
                        "--threads 1 --log curve.csv --out trained.json");
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    const std::string name = head == "mse" ? "mse" : "binary_accuracy";
    CHECK(r.out.find("train loss") != std::string::npos);
    CHECK(r.out.find(" " + name + " ") != std::string::npos);
    CHECK(r.out.find(" acc ") == std::string::npos);
    CHECK(r.out.find("test " + name + " ") != std::string::npos);
    const std::string csv = test::slurp(dir.file("curve.csv"));
    CHECK(csv.rfind("epoch,lr,train_loss,train_" + name + ",test_loss,test_" + name + ",seconds\n", 0) == 0);
    const Model m = load_model(dir.file("trained.json"));
    CHECK(m.meta.at("metric") == name);
    const std::string figure = head == "mse" ? "test_mse" : "test_accuracy";
    CHECK(m.meta.contains(figure));
    CHECK_FALSE(m.meta.contains(head == "mse" ? "test_accuracy" : "test_mse"));
    CHECK_FALSE(m.meta.contains("classes"));
    r = test::run_xgrad(dir.path(), "eval --model trained.json --data d.npz --threads 1");
    CHECK(r.status == 0);
    CHECK(r.out.find("  " + name + " ") != std::string::npos);
    CHECK(r.out.find("confusion") == std::string::npos);
  }
}
