#pragma once
// Keras' compile / fit / evaluate / predict in plain C++, over the Trainer:
//   Network net(lenet());                                  // weights from the init specs, seed 0
//   net.compile(sgd(0.9));
//   net.fit(train, FitOptions().epochs(5).batch(32).validation(test));
//   Evaluation e = net.evaluate(test);                     // loss, accuracy, confusion matrix
//   std::vector<int64_t> classes = net.predict_classes(images);   // no labels needed
//   Predictor p = net.predictor();  for (...) Tensor y = p(image);  // one image at a time
//   net.save("lenet.json");   Network again = Network::load("lenet.json");
// The graph needs a scalar "loss" output; what it is measured by besides the loss follows from the
// loss op (graph/metric.h: accuracy, binary accuracy or mse). Data goes to the input named "image"
// (else the first input) and labels or targets to "label" (else the second).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "graph/options.h"
#include "graph/predict.h"
#include "graph/train.h"

namespace xgrad {

// Optimizers with PyTorch's rules (graph/optim.h), by the names Keras and PyTorch use.
OptimConfig sgd(double lr, double momentum = 0, bool nesterov = false);
OptimConfig adam(double lr = 1e-3, double weight_decay = 0);
OptimConfig adamw(double lr = 1e-3, double weight_decay = 0.01);

// One inference-mode forward pass: a copy of the value of output `role` (any op's value, no Network
// needed): run(g, {{"X", X}, {"K", K}}, {}, "Y").
Tensor run(const Graph& g, const Feeds& feeds, const Params& params, const std::string& role);

struct History {
  std::vector<EpochMetrics> epochs;  // test_* are the validation figures (NaN without validation)
  bool stopped_early = false;
};

class FitOptions {
 public:
  FitOptions epochs(int64_t n) const { return detail::with(*this, &FitOptions::epochs_, n); }
  FitOptions batch(int64_t n) const { return detail::with(*this, &FitOptions::batch_, n); }
  FitOptions seed(uint64_t s) const { return detail::with(*this, &FitOptions::seed_, s); }  // sample order
  // Train-time image augmentation (core/augment.h), e.g. parse_augmentation("flip,shift=2").
  FitOptions augment(Augmentation a) const { return detail::with(*this, &FitOptions::augment_, a); }
  // Evaluated after every epoch (EpochMetrics::test_loss / test_accuracy).
  FitOptions validation(BatchSource data) const {
    return detail::with(*this, &FitOptions::validation_, std::optional<BatchSource>(std::move(data)));
  }
  // Stops after `patience` epochs in a row without the monitored loss (validation if given, else
  // training) going below its best minus `min_delta`.
  FitOptions early_stopping(int64_t patience, double min_delta = 0) const {
    FitOptions o = detail::with(*this, &FitOptions::patience_, patience);
    return detail::with(o, &FitOptions::min_delta_, min_delta);
  }
  // Called after each epoch; return false to stop there.
  FitOptions on_epoch(std::function<bool(const EpochMetrics&)> f) const {
    return detail::with(*this, &FitOptions::on_epoch_, std::move(f));
  }
  // Called after each optimizer step; return StepAction::Stop to stop there.
  FitOptions on_step(std::function<StepAction(const StepInfo&)> f) const {
    return detail::with(*this, &FitOptions::on_step_, std::move(f));
  }
  // One line per epoch on stdout, as Keras prints (default on).
  FitOptions verbose(bool on) const { return detail::with(*this, &FitOptions::verbose_, on); }

  int64_t epochs() const { return epochs_; }
  int64_t batch() const { return batch_; }
  uint64_t seed() const { return seed_; }
  const Augmentation& augment() const { return augment_; }
  const std::optional<BatchSource>& validation() const { return validation_; }
  int64_t patience() const { return patience_; }  // 0: no early stopping
  double min_delta() const { return min_delta_; }
  const std::function<bool(const EpochMetrics&)>& on_epoch() const { return on_epoch_; }
  const std::function<StepAction(const StepInfo&)>& on_step() const { return on_step_; }
  bool verbose() const { return verbose_; }

 private:
  int64_t epochs_ = 1, batch_ = 32;
  uint64_t seed_ = 0;
  Augmentation augment_;
  std::optional<BatchSource> validation_;
  int64_t patience_ = 0;
  double min_delta_ = 0;
  std::function<bool(const EpochMetrics&)> on_epoch_;
  std::function<StepAction(const StepInfo&)> on_step_;
  bool verbose_ = true;
};

class Network {
 public:
  // Weights from each param's init spec with Rng(seed), in graph order (as init_params).
  explicit Network(Graph g, uint64_t seed = 0);
  // Given weights, checked against the graph's params.
  Network(Graph g, Params weights);
  // A model file (models/FORMAT.md); params it has no weights for are initialized with seed 0.
  static Network load(const std::string& path);
  // Graph and weights, atomically, with the last fit's settings and figures in the meta.
  void save(const std::string& path) const;

  // The optimizer and learning-rate schedule of the next fits (default: sgd(0.01), constant).
  void compile(OptimConfig optimizer, Schedule schedule = {});
  // Trains in place. A second fit continues from the weights and optimizer state the first left.
  History fit(const BatchSource& train, const FitOptions& options = {});
  Evaluation evaluate(const BatchSource& data, int64_t batch = 256) const;
  // What the model predicts for inputs x [N, ...] (graph/metric.h prediction_output: "probs", else
  // "logits", else the loss's prediction input, e.g. a regression's output), in batches, in eval
  // mode, computing only what that output needs: no labels.
  Tensor predict(const Tensor& x, int64_t batch = 256) const;
  // What predict() runs, made once for many calls (a loop over single images): it predicts with
  // the weights as they are now; make a new one after training.
  Predictor predictor(int64_t batch = 256) const;
  // The class with the highest score, per sample.
  std::vector<int64_t> predict_classes(const Tensor& x, int64_t batch = 256) const;

  const Graph& graph() const { return graph_; }
  const Params& params() const { return params_; }
  Params& params() { return params_; }
  const std::string& data_input() const { return data_input_; }
  const std::string& label_input() const { return label_input_; }

 private:
  void find_inputs();
  TrainConfig train_config(const FitOptions& o) const;

  Graph graph_;
  Params params_;
  OptimConfig optimizer_;
  Schedule schedule_;
  nlohmann::json optimizer_state_;  // what the last fit left, for the next
  nlohmann::json last_fit_;         // settings and figures of the last fit, saved in the meta
  std::string data_input_, label_input_;
};

}  // namespace xgrad
