#pragma once
// Trains a graph on batches: forward in training mode, backward from the "loss" output to every
// param, one optimizer step, per-epoch metrics. The run's position (epoch, sample order, RNG state,
// running sums) is plain data in Progress, so a checkpoint can stop and resume it exactly. Knows
// nothing of files or the command line.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/augment.h"
#include "core/rng.h"
#include "graph/engine.h"
#include "graph/metric.h"
#include "graph/optim.h"
#include "graph/schedule.h"

namespace xgrad {

// Where batches come from: images [count, ...] and float label ids [count] for samples
// order[start .. start+count). `batches_of(dataset)` adapts core/dataset.h's Dataset.
struct BatchSource {
  size_t size = 0;
  std::function<void(const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images,
                     Tensor& labels)>
      batch;
};

template <class D>
BatchSource batches_of(const D& data) {
  return {data.size(), [&data](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images,
                               Tensor& labels) { data.batch(order, start, count, images, labels); }};
}
// A temporary is moved into the source, which then owns it: batches_of(load_fashion_mnist().test).
template <class D, class = std::enable_if_t<!std::is_reference_v<D>>>
BatchSource batches_of(D&& data) {
  auto owned = std::make_shared<const D>(std::move(data));
  return {owned->size(),
          [owned](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images,
                  Tensor& labels) { owned->batch(order, start, count, images, labels); }};
}

struct TrainConfig {
  int64_t epochs = 5;
  int64_t batch = 32;
  uint64_t seed = 0;  // sample order (weights are initialized by the caller)
  OptimConfig optim;
  Schedule schedule;
  Augmentation augment;  // of the training images only (core/augment.h); off by default
  // The inputs the data and the labels go to; empty: the graph's own (data_inputs, graph/data_fit.h).
  std::string image_input, label_input;

  void validate() const;  // throws Error naming the bad setting
  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);
};

// The metric (graph/metric.h) goes to *_accuracy (plain or binary) or *_mse; the other pair is NaN.
struct EpochMetrics {
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  int64_t epoch = 0;  // 1-based in reports
  double lr = 0, train_loss = 0, train_accuracy = kNaN, seconds = 0;
  double test_loss = kNaN, test_accuracy = kNaN;
  double train_mse = kNaN, test_mse = kNaN;
};

// {"<prefix>loss", "<prefix>accuracy" or "<prefix>mse"}, the finite ones only (JSON has no NaN):
// a run's figures for a model's meta, e.g. figures_json("test_", e.loss, e.accuracy, e.mse).
nlohmann::json figures_json(const std::string& prefix, double loss, double accuracy, double mse);

// Where a run stands; everything an exact resume needs besides weights and optimizer state.
struct Progress {
  int64_t epoch = 0;            // 0-based epoch in progress (== epochs when done)
  size_t position = 0;          // samples of this epoch already trained on
  int64_t step = 0;             // optimizer steps taken in all
  std::vector<uint32_t> order;  // this epoch's sample order (drawn when position is 0)
  Rng::State rng{};             // after drawing `order`
  double loss_sum = 0;          // this epoch: sum of batch loss * batch size
  double metric_sum = 0;        // this epoch: Metric::batch_sum summed (correct samples for accuracy)
  std::vector<EpochMetrics> history;
};

struct StepInfo {
  int64_t epoch, step;
  size_t position, samples;  // done in this epoch, of
  double loss, running_loss, running_accuracy, lr;
  double running_mse = EpochMetrics::kNaN;  // running_accuracy is NaN when the metric is mse
};

struct Evaluation {
  MetricKind metric = MetricKind::Accuracy;
  double loss = 0, accuracy = EpochMetrics::kNaN, mse = accuracy;  // as in EpochMetrics
  int64_t samples = 0;
  std::vector<std::vector<int64_t>> confusion;  // [true class][predicted class]; accuracy only
  std::vector<double> class_accuracy() const;   // NaN for a class with no samples
};

// Loss, the metric that fits the loss (metric_for) and, for accuracy, the confusion matrix of
// `params` on `data`, in inference mode, in order; at most `batch` samples per forward pass, fewer
// where their activations would not stay in the caches (cache_batch, graph/predict.h).
Evaluation evaluate(const Graph& g, const Params& params, const BatchSource& data, int64_t batch = 256,
                    std::string image_input = "", std::string label_input = "");

// The output accuracy is measured on: "logits" if the graph has it, else "probs"; checked [batch, classes].
int score_output(const Graph& g);

enum class StepAction { Continue, Stop };

struct Checkpoint;   // graph/checkpoint.h
class Communicator;  // graph/distributed.h
class StepReducer;   // graph/step_reducer.h
struct ReduceStats;  // graph/step_reducer.h

class Trainer {
 public:
  // `params` must outlive the trainer; it is updated in place. Throws Error when the graph lacks the
  // configured inputs or a scalar "loss" output. The metric comes from the loss (metric_for).
  Trainer(const Graph& g, Params& params, TrainConfig config);
  ~Trainer();

  // Trains until the configured epochs are done (returns true) or `on_step` says stop after a step
  // (returns false; progress() then says where to resume). A NaN/Inf loss or gradient throws Error
  // with the epoch, step and first node that went non-finite, before any weight is changed.
  bool run(const BatchSource& train, const BatchSource* test,
           const std::function<StepAction(const StepInfo&)>& on_step = {},
           const std::function<void(const EpochMetrics&)>& on_epoch = {});
  Evaluation evaluate(const BatchSource& data, int64_t batch = 256) {
    return xgrad::evaluate(graph_, params_, data, batch, config_.image_input, config_.label_input);
  }

  // From on_epoch (early stopping): run() returns false once that callback returns, as at a Stop.
  void stop_after_epoch() { stop_after_epoch_ = true; }
  const Progress& progress() const { return progress_; }
  void set_progress(Progress p);  // for resume; checked against the data size on the next run
  // Continues the run saved in `c`: weights, optimizer state and progress replace this trainer's.
  // Throws Error (and changes nothing) unless `c` is of this graph, with these settings (only
  // `epochs` may differ, and not below the saved epoch), and holds every param with its shape.
  void resume(const Checkpoint& c);
  Checkpoint checkpoint() const;  // this run, to save and resume later
  Optimizer& optimizer() { return optimizer_; }
  const TrainConfig& config() const { return config_; }
  const Metric& metric() const { return metric_; }

  // Data-parallel training (graph/distributed.h, graph/train_distributed.cpp): from now on this
  // trainer is rank comm.rank() of comm.size(). Every rank makes the same calls with the same graph,
  // weights, settings and data, and trains on its shard of each global batch (config.batch stays
  // the global batch size). Only the lead rank evaluates test data. A Stop from on_step on any rank
  // stops every rank after the next step (the vote travels in that step's sum). Errors found in
  // the summed values are thrown as CollectiveError. With `verify_every` > 0, every that many
  // steps the ranks check that they hold bit-identical weights and states (CollectiveError if not).
  void distribute(Communicator& comm, int64_t verify_every = 0);
  // Whether this process evaluates, prints and writes files: rank 0, or the only process.
  bool lead() const;
  const ReduceStats* reduce_stats() const;  // nullptr unless distributed
  // What every rank of a distributed run must agree on, as named hashes for check_same_run(): the
  // model (graph and current weights), the training and test data, the settings and the position
  // of the run, and the xgrad version.
  std::vector<std::pair<std::string, uint64_t>> run_identity(const BatchSource& train,
                                                             const BatchSource* test) const;

 private:
  double train_step(const BatchSource& train, size_t count, double lr);
  double distributed_step(const BatchSource& train, size_t count, double lr);
  double forward_on(const BatchSource& train, size_t start, size_t count);
  void finish_step(const GradRefs& grads, double lr, size_t count, double loss_sum, double metric_sum);
  void verify_replicas() const;
  void check_finite_loss(double loss) const;
  void check_finite_grads(const GradRefs& grads) const;
  std::string where() const;
  std::string first_bad_value() const;  // "" when every value is finite
  double metric_in_batch() const;

  const Graph& graph_;
  Params& params_;
  TrainConfig config_;
  Optimizer optimizer_;
  Graph run_graph_;  // graph_ with its activations fused (graph/fold.h): what the engine runs
  Engine engine_;
  Progress progress_;
  int loss_id_;
  Metric metric_;
  std::vector<int> param_ids_;
  Tensor images_, labels_;
  Feeds feeds_;
  bool stop_after_epoch_ = false;
  Communicator* comm_ = nullptr;  // set by distribute()
  std::unique_ptr<StepReducer> reducer_;
  int64_t verify_every_ = 0;
  bool stop_vote_ = false;  // on_step said Stop: ask every rank to stop in the next step's sum
};

}  // namespace xgrad
