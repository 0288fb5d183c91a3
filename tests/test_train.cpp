// The trainer: loss falls, exact stop-and-resume, the NaN stop, evaluation and bad settings.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "graph/builder.h"
#include "graph/checkpoint.h"
#include "graph/train.h"
#include "models/lenet.h"
#include "tests/train_fixtures.h"

using namespace xgrad;
using xgrad::testing::same_param_bits;
using xgrad::testing::Synthetic;

namespace {

TrainConfig config(const char* optimizer, double lr, int64_t epochs = 3, int64_t batch = 16) {
  TrainConfig c;
  c.epochs = epochs, c.batch = batch, c.seed = 7;
  c.optim.type = optimizer, c.optim.lr = lr;
  return c;
}

}  // namespace

TEST_CASE("training lowers the loss on a small synthetic set (sgd and adam)") {
  const Synthetic data(150), test(60, 3, 2);
  const Graph g = mlp({16}, "relu", 3);
  for (auto [opt, lr] : {std::pair{"sgd", 0.1}, std::pair{"adam", 0.01}}) {
    Rng rng(0);
    Params p = init_params(g, rng);
    Trainer t(g, p, config(opt, lr));
    const auto src = data.source(), test_src = test.source();
    int64_t steps = 0;
    CHECK(t.run(src, &test_src, [&](const StepInfo&) { return ++steps, StepAction::Continue; }));
    CHECK(steps == 3 * 10);  // ceil(150 / 16) per epoch
    const auto& h = t.progress().history;
    REQUIRE(h.size() == 3);
    CHECK(h.back().train_loss < 0.5 * h.front().train_loss);
    CHECK(h.back().test_accuracy > 0.9);
    CHECK(h.back().epoch == 3);
  }
}

TEST_CASE("a run stopped after any step and resumed ends with the same bits as one never stopped") {
  const Synthetic data(100);
  const Graph g = mlp({8}, "sigmoid", 3);
  const TrainConfig c = config("adam", 0.01, 2, 16);  // 7 steps per epoch, the last one short
  Rng rng(3);
  const Params init = init_params(g, rng);
  Params whole = init;
  Trainer a(g, whole, c);
  REQUIRE(a.run(data.source(), nullptr));
  for (int64_t stop_at : {1, 7, 10}) {
    Params part = init;
    Trainer b(g, part, c);
    CHECK_FALSE(b.run(data.source(), nullptr, [&](const StepInfo& s) {
      return s.step == stop_at ? StepAction::Stop : StepAction::Continue;
    }));
    Params resumed = part;  // a fresh trainer from the saved pieces, as after a restart
    Trainer r(g, resumed, c);
    r.optimizer().load_state(nlohmann::json::parse(b.optimizer().state_to_json().dump()), resumed);
    r.set_progress(b.progress());
    REQUIRE(r.run(data.source(), nullptr));
    CHECK(same_param_bits(resumed, whole));
    REQUIRE(r.progress().history.size() == 2);
    CHECK(r.progress().history[1].train_loss == a.progress().history[1].train_loss);
  }
}

TEST_CASE("determinism: same seed and settings give identical weights, with 1 or 2 threads") {
  const Synthetic data(64);
  const Graph g = lenet("relu");
  const TrainConfig c = config("adam", 0.01, 1, 16);
  const int threads_before = num_threads();
  auto train = [&](int threads) {
    set_num_threads(threads);
    Rng rng(5);
    Params p = init_params(g, rng);
    Trainer t(g, p, c);
    REQUIRE(t.run(data.source(), nullptr));
    return p;
  };
  const Params first = train(1), again = train(1), two = train(2);
  set_num_threads(threads_before);
  CHECK(same_param_bits(first, again));
  CHECK(same_param_bits(first, two));
}

TEST_CASE("Trainer::resume refuses a checkpoint of another graph or other settings, and changes nothing") {
  const Synthetic data(40);
  const Graph g = mlp({4}, "relu", 3);
  Rng rng(1);
  Params p = init_params(g, rng);
  Trainer t(g, p, config("sgd", 0.1, 2, 8));
  CHECK_FALSE(t.run(data.source(), nullptr,
                    [](const StepInfo& s) { return s.step == 3 ? StepAction::Stop : StepAction::Continue; }));
  const Checkpoint saved = t.checkpoint();
  Rng other_rng(2);
  Params q = init_params(g, other_rng);
  const Params q_before = q;
  Trainer other(g, q, config("sgd", 0.2, 2, 8));
  CHECK_THROWS_WITH_AS(other.resume(saved),
                       doctest::Contains("made with optimizer.lr = 0.1, this run asks for 0.2"), Error);
  CHECK(same_param_bits(q, q_before));
  CHECK(other.progress().step == 0);
  Trainer shorter(g, q, config("sgd", 0.1, 1, 8));
  Checkpoint later = saved;
  later.progress.epoch = 2;
  CHECK_THROWS_WITH_AS(shorter.resume(later), doctest::Contains("past the 1 epochs"), Error);
  Checkpoint renamed = saved;
  renamed.model = "lenet";
  CHECK_THROWS_WITH_AS(shorter.resume(renamed), doctest::Contains("checkpoint of model \"lenet\""), Error);
  Trainer same(g, q, config("sgd", 0.1, 2, 8));
  same.resume(saved);
  CHECK(same_param_bits(q, p));
  CHECK(same.progress().step == 3);
}

TEST_CASE("a non-finite loss stops training at once, naming epoch, step and node") {
  const Synthetic data(64);
  const Graph g = mlp({32, 32}, "relu", 3);
  Rng rng(0);
  Params p = init_params(g, rng);
  Trainer t(g, p, config("sgd", 1e6, 3, 8));
  Params before;
  std::string message;
  try {
    t.run(data.source(), nullptr, [&](const StepInfo&) { return before = p, StepAction::Continue; });
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("training stopped: the loss is NaN at epoch 1, step 3 of 8 (step 3 of the run)") !=
        std::string::npos);
  CHECK(message.find("\"fc3\" (matmul)") != std::string::npos);
  CHECK(message.find("epoch 1, step ") != std::string::npos);
  CHECK(message.find("first node with a non-finite ") != std::string::npos);
  CHECK(message.find("try a lower --lr") != std::string::npos);
  CHECK(same_param_bits(p, before));  // the failing step changed nothing
}

TEST_CASE("a NaN in the data is traced to the input node") {
  Synthetic data(16);
  data.images.data()[5 * 784 + 3] = std::nanf("");
  const Graph g = mlp({4}, "relu", 3);
  Rng rng(0);
  Params p = init_params(g, rng);
  Trainer t(g, p, config("sgd", 0.1, 1, 4));
  CHECK_THROWS_WITH_AS(t.run(data.source(), nullptr),
                       doctest::Contains("first node with a non-finite value: \"image\" (input)"), Error);
}

TEST_CASE("evaluation: loss, accuracy, confusion matrix and per-class accuracy agree") {
  const Synthetic data(30);
  const Graph g = mlp({4}, "relu", 3);
  Rng rng(5);
  Params p = init_params(g, rng);
  Trainer t(g, p, config("sgd", 0.1));
  const Evaluation e = t.evaluate(data.source(), 7);
  CHECK(e.samples == 30);
  REQUIRE(e.confusion.size() == 3);
  int64_t total = 0, diagonal = 0;
  for (size_t i = 0; i < 3; ++i) {
    int64_t row = 0;
    for (int64_t v : e.confusion[i]) row += v;
    CHECK(row == 10);
    total += row, diagonal += e.confusion[i][i];
    CHECK(e.class_accuracy()[i] == doctest::Approx(double(e.confusion[i][i]) / 10));
  }
  CHECK(total == 30);
  CHECK(e.accuracy == doctest::Approx(double(diagonal) / 30));
  CHECK(e.loss > 0.5);  // untrained: near ln 3
  CHECK(std::isfinite(e.loss));
}

TEST_CASE("bad trainer settings and graphs are refused with a clear message") {
  const Graph g = mlp({4}, "relu", 3);
  Rng rng(0);
  Params p = init_params(g, rng);
  CHECK_THROWS_WITH_AS(Trainer(g, p, config("sgd", 0.1, 0)), doctest::Contains("epochs must be >= 1, got 0"),
                       Error);
  CHECK_THROWS_WITH_AS(Trainer(g, p, config("sgd", 0.1, 1, 0)),
                       doctest::Contains("batch size must be >= 1, got 0"), Error);
  CHECK_THROWS_WITH_AS(Trainer(g, p, config("sgd", -2)), doctest::Contains("lr must be"), Error);
  TrainConfig c = config("sgd", 0.1);
  c.image_input = "pixels";
  CHECK_THROWS_WITH_AS(Trainer(g, p, c), doctest::Contains("has no input \"pixels\""), Error);
  GraphBuilder b("no-scores");
  Value x = b.input("image", {-1, 3});
  b.input("label", {-1}, DType::Int32);
  b.output("loss", b.sum(x, "loss"));
  const Graph bare = b.finish();
  Params none;
  CHECK(Trainer(bare, none, config("sgd", 0.1)).metric().kind ==
        MetricKind::None);  // trains on its loss alone
  Trainer t(g, p, config("sgd", 0.1));
  CHECK_THROWS_WITH_AS(t.run(BatchSource{0, {}}, nullptr), doctest::Contains("training set is empty"), Error);
  CHECK_THROWS_WITH_AS(TrainConfig::from_json({{"epochs", 1}}),
                       doctest::Contains("training settings: missing field \"batch\""), Error);
  CHECK(TrainConfig::from_json(config("adamw", 0.5).to_json()).optim.type == "adamw");
}
