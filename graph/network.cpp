#include "graph/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "graph/data_fit.h"
#include "graph/predict.h"
#include "graph/serialize.h"

namespace xgrad {
namespace {

OptimConfig optimizer(const std::string& type, double lr, double weight_decay) {
  OptimConfig c;
  c.type = type, c.lr = lr, c.weight_decay = weight_decay;
  return c;
}

// Keras' line: "epoch 2/5: loss 0.41, accuracy 0.85, val_loss ..." (mse, or the loss alone, for
// other metrics).
void print_epoch(const EpochMetrics& m, int64_t epochs, MetricKind metric) {
  const char* name = metric_name(metric);
  const bool has_metric = metric != MetricKind::None;
  std::printf("epoch %lld/%lld: loss %.4f", (long long)m.epoch, (long long)epochs, m.train_loss);
  if (has_metric) std::printf(", %s %.4f", name, MetricValues{m.train_accuracy, m.train_mse}.of(metric));
  if (!std::isnan(m.test_loss)) {
    std::printf(", val_loss %.4f", m.test_loss);
    if (has_metric) std::printf(", val_%s %.4f", name, MetricValues{m.test_accuracy, m.test_mse}.of(metric));
  }
  std::printf(" (%.1f s)\n", m.seconds);
  std::fflush(stdout);
}

// Counts epochs without improvement of the monitored loss; says when to stop.
struct EarlyStopping {
  int64_t patience;
  double min_delta, best = INFINITY;
  int64_t waited = 0;
  bool should_stop(double loss) {
    if (loss < best - min_delta) {
      best = loss, waited = 0;
      return false;
    }
    return ++waited >= patience;
  }
};

}  // namespace

Tensor run(const Graph& g, const Feeds& feeds, const Params& params, const std::string& role) {
  Engine engine(g);
  engine.forward(feeds, params, false);
  return engine.value(g.output(role));
}

OptimConfig sgd(double lr, double momentum, bool nesterov) {
  OptimConfig c = optimizer("sgd", lr, 0);
  c.momentum = momentum, c.nesterov = nesterov;
  return c;
}
OptimConfig adam(double lr, double weight_decay) { return optimizer("adam", lr, weight_decay); }
OptimConfig adamw(double lr, double weight_decay) { return optimizer("adamw", lr, weight_decay); }

Network::Network(Graph g, uint64_t seed) : graph_(std::move(g)) {
  Rng rng(seed);
  params_ = init_params(graph_, rng);
  find_inputs();
}

Network::Network(Graph g, Params weights) : graph_(std::move(g)), params_(std::move(weights)) {
  check_params(graph_, params_);
  find_inputs();
}

Network Network::load(const std::string& path) {
  Model m = load_model(path);
  Params weights = complete_weights(m.graph, m.weights, 0);
  return Network(std::move(m.graph), std::move(weights));
}

void Network::save(const std::string& path) const {
  save_model(path, graph_, &params_, last_fit_.is_null() ? nlohmann::json::object() : last_fit_);
}

void Network::find_inputs() {
  const DataInputs io = data_inputs(graph_);
  data_input_ = io.data, label_input_ = io.label;
}

void Network::compile(OptimConfig optimizer, Schedule schedule) {
  optimizer.validate();
  schedule.validate();
  optimizer_ = std::move(optimizer);
  schedule_ = std::move(schedule);
  optimizer_state_ = nullptr;
}

TrainConfig Network::train_config(const FitOptions& o) const {
  TrainConfig c;
  c.epochs = o.epochs(), c.batch = o.batch(), c.seed = o.seed(), c.augment = o.augment();
  c.optim = optimizer_, c.schedule = schedule_;
  c.image_input = data_input_, c.label_input = label_input_;
  return c;
}

History Network::fit(const BatchSource& train, const FitOptions& o) {
  if (label_input_.empty()) throw Error("fit: graph \"" + graph_.name() + "\" has no label input");
  Trainer trainer(graph_, params_, train_config(o));
  if (!optimizer_state_.is_null()) trainer.optimizer().load_state(optimizer_state_, params_);
  History h;
  EarlyStopping early{o.patience(), o.min_delta()};
  auto on_epoch = [&](const EpochMetrics& m) {
    h.epochs.push_back(m);
    if (o.verbose()) print_epoch(m, o.epochs(), trainer.metric().kind);
    const double monitored = o.validation() ? m.test_loss : m.train_loss;
    const bool stop_early = o.patience() > 0 && early.should_stop(monitored);
    h.stopped_early = h.stopped_early || stop_early;
    if (stop_early || (o.on_epoch() && !o.on_epoch()(m))) trainer.stop_after_epoch();
  };
  trainer.run(train, o.validation() ? &*o.validation() : nullptr, o.on_step(), on_epoch);
  optimizer_state_ = trainer.optimizer().state_to_json();
  const EpochMetrics& last = h.epochs.empty() ? EpochMetrics{} : h.epochs.back();
  last_fit_ = {{"training", trainer.config().to_json()},
               {"epochs_run", h.epochs.size()},
               {"metric", metric_name(trainer.metric().kind)},
               {"xgrad_version", XGRAD_VERSION}};
  last_fit_.update(figures_json("train_", last.train_loss, last.train_accuracy, last.train_mse));
  if (o.validation())
    last_fit_.update(figures_json("val_", last.test_loss, last.test_accuracy, last.test_mse));
  return h;
}

Evaluation Network::evaluate(const BatchSource& data, int64_t batch) const {
  if (label_input_.empty()) throw Error("evaluate: graph \"" + graph_.name() + "\" has no label input");
  return xgrad::evaluate(graph_, params_, data, batch, data_input_, label_input_);
}

Predictor Network::predictor(int64_t batch) const {
  PredictOptions options;
  options.batch = batch, options.input = data_input_;
  return Predictor(graph_, params_, prediction_output(graph_), options);
}

Tensor Network::predict(const Tensor& x, int64_t batch) const { return predictor(batch)(x); }

std::vector<int64_t> Network::predict_classes(const Tensor& x, int64_t batch) const {
  const Tensor scores = predict(x, batch);
  const size_t n = scores.shape()[0], k = scores.shape()[1];
  std::vector<int64_t> classes(n);
  for (size_t i = 0; i < n; ++i) {
    const float* row = scores.data() + i * k;
    classes[i] = int64_t(std::max_element(row, row + k) - row);
  }
  return classes;
}

}  // namespace xgrad
