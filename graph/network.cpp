#include "graph/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "graph/serialize.h"

namespace xgrad {
namespace {

OptimConfig optimizer(const std::string& type, double lr, double weight_decay) {
  OptimConfig c;
  c.type = type, c.lr = lr, c.weight_decay = weight_decay;
  return c;
}

void print_epoch(const EpochMetrics& m, int64_t epochs) {
  std::printf("epoch %lld/%lld: loss %.4f, accuracy %.4f", (long long)m.epoch, (long long)epochs,
              m.train_loss, m.train_accuracy);
  if (!std::isnan(m.test_loss))
    std::printf(", val_loss %.4f, val_accuracy %.4f", m.test_loss, m.test_accuracy);
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
  std::vector<std::string> names;
  for (int id : graph_.inputs()) names.push_back(graph_.node(id).name);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  if (names.empty()) throw Error("graph \"" + graph_.name() + "\" has no input to feed data to");
  data_input_ = has("image") ? "image" : names[0];
  label_input_ = has("label") ? "label" : "";
  for (size_t i = 0; label_input_.empty() && i < names.size(); ++i)
    if (names[i] != data_input_) label_input_ = names[i];
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
  c.epochs = o.epochs(), c.batch = o.batch(), c.seed = o.seed();
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
    if (o.verbose()) print_epoch(m, o.epochs());
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
               {"train_loss", last.train_loss},
               {"train_accuracy", last.train_accuracy},
               {"xgrad_version", XGRAD_VERSION}};
  if (o.validation()) last_fit_.update({{"val_loss", last.test_loss}, {"val_accuracy", last.test_accuracy}});
  return h;
}

Evaluation Network::evaluate(const BatchSource& data, int64_t batch) const {
  if (label_input_.empty()) throw Error("evaluate: graph \"" + graph_.name() + "\" has no label input");
  return xgrad::evaluate(graph_, params_, data, batch, data_input_, label_input_);
}

Tensor Network::predict(const Tensor& x, int64_t batch) const {
  if (batch < 1) throw Error("predict: batch must be >= 1, got " + std::to_string(batch));
  if (x.dimension() == 0) throw Error("predict: expected inputs [N, ...], got a scalar");
  const int score = score_output(graph_);
  const size_t n = x.shape()[0], row = n ? x.size() / n : 0;
  const size_t k = size_t(graph_.node(score).info.shape[1]);
  Tensor out = make_tensor({int64_t(n), int64_t(k)});
  Engine engine(graph_);
  Feeds feeds;
  for (size_t start = 0; start < n; start += size_t(batch)) {
    const size_t count = std::min(size_t(batch), n - start);
    Shape shape = shape_of(x);
    shape[0] = int64_t(count);
    ensure_shape(feeds[data_input_], shape);
    std::memcpy(feeds[data_input_].data(), x.data() + start * row, count * row * sizeof(float));
    if (!label_input_.empty()) {  // the loss is computed too: class 0 / zero targets as labels
      Shape label_shape = graph_.node(graph_.id(label_input_)).info.shape;
      label_shape[0] = int64_t(count);
      ensure_shape(feeds[label_input_], label_shape);
      feeds[label_input_].fill(0);
    }
    engine.forward(feeds, params_, false);
    std::memcpy(out.data() + start * k, engine.value(score).data(), count * k * sizeof(float));
  }
  return out;
}

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
