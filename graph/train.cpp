#include "graph/train.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/parallel.h"
#include "graph/data_fit.h"
#include "graph/fold.h"
#include "graph/json_fields.h"
#include "graph/predict.h"
#include "graph/step_reducer.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

// x·0 is 0 for every finite x and NaN otherwise: one vectorised sum, not a branch per element
// (every gradient is checked every step).
bool all_finite(const Tensor& t) {
  const float* p = t.data();
  return std::isfinite(sum_lanes_of(int64_t(t.size()), [p](int64_t i) { return p[i] * 0.0f; }));
}

std::string describe(const Node& n) {
  return "\"" + n.name + "\" (" + (n.kind == NodeKind::Op ? std::string(n.op->type()) : kind_name(n.kind)) +
         ")";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return std::to_string(v);
}

// Fails early, naming the input, when the graph's images cannot take the augmentation.
void check_augmentable(const Graph& g, const std::string& image_input, const Augmentation& a) {
  const Shape& s = g.node(g.id(image_input)).info.shape;
  if (s.size() != 4)
    throw Error("augmentation " + a.to_string() + " needs images [N, C, H, W]; input \"" + image_input +
                "\" takes " + to_string(s));
  if ((s[2] > 0 && a.shift >= s[2]) || (s[3] > 0 && a.shift >= s[3]))
    throw Error("augmentation shift " + std::to_string(a.shift) + " is not below the image size " +
                std::to_string(s[2]) + "x" + std::to_string(s[3]) + " of input \"" + image_input + "\"");
}

}  // namespace

Trainer::Trainer(const Graph& g, Params& params, TrainConfig config)
    : graph_(g),
      params_(params),
      config_(std::move(config)),
      optimizer_(config_.optim),
      run_graph_(fuse_activations(g)),
      engine_(run_graph_) {
  config_.validate();
  check_params(g, params);
  loss_id_ = run_graph_.output("loss");
  if (!run_graph_.node(loss_id_).info.shape.empty())
    throw Error("output \"loss\" has shape " + to_string(run_graph_.node(loss_id_).info.shape) +
                ", expected a scalar");
  fill_data_inputs(g, config_.image_input, config_.label_input);
  for (const std::string& name : {config_.image_input, config_.label_input})
    if (g.find(name) < 0 || g.node(g.id(name)).kind != NodeKind::Input)
      throw Error("graph \"" + g.name() + "\" has no input \"" + name + "\"");
  if (config_.augment.enabled()) check_augmentable(g, config_.image_input, config_.augment);
  metric_ = metric_for(run_graph_, config_.label_input);
  param_ids_ = run_graph_.params();
  progress_.rng = Rng(config_.seed).state();
}

Trainer::~Trainer() = default;

void Trainer::set_progress(Progress p) {
  if (p.epoch < 0 || p.step < 0) throw Error("progress: negative epoch or step");
  progress_ = std::move(p);
}

bool Trainer::run(const BatchSource& train, const BatchSource* test,
                  const std::function<StepAction(const StepInfo&)>& on_step,
                  const std::function<void(const EpochMetrics&)>& on_epoch) {
  if (train.size == 0) throw Error("the training set is empty");
  Progress& pr = progress_;
  stop_vote_ = false;
  for (; pr.epoch < config_.epochs; ++pr.epoch) {
    const double lr = config_.schedule.lr(config_.optim.lr, pr.epoch, config_.epochs);
    const auto start = std::chrono::steady_clock::now();
    if (pr.position == 0) {  // a new epoch: draw its order, reset its sums
      pr.order.resize(train.size);
      std::iota(pr.order.begin(), pr.order.end(), 0u);
      Rng rng;
      rng.set_state(pr.rng);
      rng.shuffle(pr.order);
      pr.rng = rng.state();
      pr.loss_sum = 0, pr.metric_sum = 0;
    } else if (pr.order.size() != train.size || pr.position > train.size) {
      throw Error("resume: the saved run has " + std::to_string(pr.order.size()) +
                  " samples per epoch, this data has " + std::to_string(train.size));
    }
    while (pr.position < train.size) {
      const size_t count = std::min(size_t(config_.batch), train.size - pr.position);
      const double loss = train_step(train, count, lr);
      const bool all_stop = reducer_ && reducer_->stop();  // a rank voted in this step's sum
      if (reducer_ && verify_every_ > 0 && pr.step % verify_every_ == 0) verify_replicas();
      if (on_step) {
        const double seen = double(pr.position);
        const MetricValues running = metric_values(metric_.kind, pr.metric_sum / seen);
        const StepInfo info{pr.epoch,           pr.step,          pr.position, train.size, loss,
                            pr.loss_sum / seen, running.accuracy, lr,          running.mse};
        if (on_step(info) == StepAction::Stop) {
          if (!reducer_) return false;
          stop_vote_ = true;
        }
      }
      if (all_stop) return false;
    }
    EpochMetrics m;
    m.epoch = pr.epoch + 1, m.lr = lr;
    m.train_loss = pr.loss_sum / double(train.size);
    const MetricValues train_metric = metric_values(metric_.kind, pr.metric_sum / double(train.size));
    m.train_accuracy = train_metric.accuracy, m.train_mse = train_metric.mse;
    if (test && lead()) {
      const Evaluation e = evaluate(*test);
      m.test_loss = e.loss, m.test_accuracy = e.accuracy, m.test_mse = e.mse;
    }
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    pr.history.push_back(m);
    pr.position = 0;
    if (on_epoch) {
      ++pr.epoch;  // the callback sees the run as it would resume (e.g. to checkpoint it)
      on_epoch(m);
      --pr.epoch;
    }
    if (stop_after_epoch_) {
      stop_after_epoch_ = false;
      ++pr.epoch;
      return false;
    }
  }
  return true;
}

double Trainer::train_step(const BatchSource& train, size_t count, double lr) {
  if (reducer_) return distributed_step(train, count, lr);
  const double loss = forward_on(train, progress_.position, count);
  check_finite_loss(loss);
  engine_.backward(loss_id_, param_ids_);
  GradRefs grads;
  for (int id : param_ids_) grads[run_graph_.node(id).name] = engine_.grad(id);
  finish_step(grads, lr, count, loss * double(count), metric_in_batch());
  return loss;
}

// Forward in training mode on samples order[start .. start+count) of the step's global batch.
double Trainer::forward_on(const BatchSource& train, size_t start, size_t count) {
  const Progress& pr = progress_;
  Tensor& images = feeds_[config_.image_input];
  train.batch(pr.order, start, count, images, feeds_[config_.label_input]);
  augment_images(config_.augment, config_.seed, uint64_t(pr.epoch), pr.order.data() + start, images);
  ForwardOptions options = ForwardOptions::training(config_.seed, uint64_t(pr.step));
  options.sample_offset = start - pr.position;  // a shard draws the dropout masks of its samples
  engine_.forward(feeds_, params_, options);
  return engine_.value(loss_id_)();
}

void Trainer::finish_step(const GradRefs& grads, double lr, size_t count, double loss_sum,
                          double metric_sum) {
  check_finite_grads(grads);
  optimizer_.step(params_, grads, lr);
  if (reducer_)  // running statistics, updated by the forward pass
    reducer_->store_states(params_);
  else
    engine_.store_states(params_);
  Progress& pr = progress_;
  pr.loss_sum += loss_sum;
  pr.metric_sum += metric_sum;
  pr.position += count;
  ++pr.step;
}

double Trainer::metric_in_batch() const {
  if (metric_.kind == MetricKind::None) return 0;
  return metric_.batch_sum(engine_.value(metric_.predictions), engine_.value(metric_.targets));
}

std::string Trainer::where() const {
  const size_t batch = size_t(config_.batch), n = progress_.order.size();
  return "epoch " + std::to_string(progress_.epoch + 1) + ", step " +
         std::to_string(progress_.position / batch + 1) + " of " + std::to_string((n + batch - 1) / batch) +
         " (step " + std::to_string(progress_.step + 1) + " of the run)";
}

std::string Trainer::first_bad_value() const {
  for (int id = 0; id < run_graph_.size(); ++id)
    if (!all_finite(engine_.value(id))) return describe(run_graph_.node(id));
  return "";
}

void Trainer::check_finite_loss(double loss) const {
  if (std::isfinite(loss)) return;
  const std::string first = first_bad_value();
  throw Error("training stopped: the loss is " + number(loss) + " at " + where() +
              "; first node with a non-finite value: " + (first.empty() ? "none found" : first) +
              ". Weights were not updated; try a lower --lr");
}

void Trainer::check_finite_grads(const GradRefs& grads) const {
  for (const auto& [name, g] : grads) {
    if (!g || all_finite(*g)) continue;
    std::string first = describe(run_graph_.node(run_graph_.id(name)));
    for (int id = loss_id_; id >= 0; --id) {  // backward order: the first gradient that went bad
      const Tensor* gi = engine_.grad(id);
      if (gi && !all_finite(*gi)) {
        first = describe(run_graph_.node(id));
        break;
      }
    }
    const std::string value = first_bad_value();
    throw Error("training stopped: the gradient of param \"" + name + "\" is not finite at " + where() +
                "; first node with a non-finite gradient: " + first +
                (value.empty() ? "" : "; first node with a non-finite value: " + value) +
                ". Weights were not updated; try a lower --lr");
  }
}

int score_output(const Graph& g) {
  if (!g.has_output("logits") && !g.has_output("probs"))
    throw Error("graph \"" + g.name() + "\" has no \"logits\" or \"probs\" output to measure accuracy with");
  const int id = g.output(g.has_output("logits") ? "logits" : "probs");
  if (g.node(id).info.shape.size() != 2)
    throw Error("output \"" + g.node(id).name + "\" has shape " + to_string(g.node(id).info.shape) +
                ", expected [batch, classes]");
  return id;
}

Evaluation evaluate(const Graph& g, const Params& params, const BatchSource& data, int64_t batch,
                    std::string image_input, std::string label_input) {
  fill_data_inputs(g, image_input, label_input);
  if (data.size == 0) throw Error("the evaluation set is empty");
  if (batch < 1) throw Error("evaluation batch must be >= 1, got " + std::to_string(batch));
  const int loss_id = g.output("loss");
  Metric metric = metric_for(g, label_input);
  const InferenceModel folded = fold_for_inference(g, params, {loss_id, metric.predictions, metric.targets});
  batch = cache_batch(folded.graph, batch, num_threads());  // as Predictor runs its passes
  const auto folded_id = [&](int id) { return id < 0 ? id : folded.graph.id(g.node(id).name); };
  metric.predictions = folded_id(metric.predictions), metric.targets = folded_id(metric.targets);
  std::vector<uint32_t> order(data.size);
  std::iota(order.begin(), order.end(), 0u);
  Evaluation e;
  e.metric = metric.kind;
  const bool classes = metric.kind == MetricKind::Accuracy;
  const size_t k = classes ? size_t(folded.graph.node(metric.predictions).info.shape[1]) : 0;
  e.confusion.assign(k, std::vector<int64_t>(k, 0));
  double loss_sum = 0, metric_sum = 0;
  Engine engine(folded.graph);
  Feeds feeds;
  Tensor& images = feeds[image_input];
  Tensor& labels = feeds[label_input];
  for (size_t start = 0; start < data.size; start += size_t(batch)) {
    const size_t count = std::min(size_t(batch), data.size - start);
    data.batch(order, start, count, images, labels);
    engine.forward(feeds, folded.weights, false);
    loss_sum += double(engine.value(folded_id(loss_id))()) * double(count);
    if (metric.kind == MetricKind::None) continue;
    const Tensor& predictions = engine.value(metric.predictions);
    metric_sum += metric.batch_sum(predictions, engine.value(metric.targets));
    for (size_t i = 0; classes && i < count; ++i)
      ++e.confusion.at(true_class(labels, i)).at(row_argmax(predictions.data() + i * k, k));
  }
  e.samples = int64_t(data.size);
  e.loss = loss_sum / double(data.size);
  const MetricValues v = metric_values(metric.kind, metric_sum / double(data.size));
  e.accuracy = v.accuracy, e.mse = v.mse;
  return e;
}

nlohmann::json figures_json(const std::string& prefix, double loss, double accuracy, double mse) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, v] : {std::pair{"loss", loss}, {"accuracy", accuracy}, {"mse", mse}})
    if (std::isfinite(v)) j[prefix + name] = v;
  return j;
}

std::vector<double> Evaluation::class_accuracy() const {
  std::vector<double> out;
  for (size_t c = 0; c < confusion.size(); ++c) {
    int64_t total = 0;
    for (int64_t v : confusion[c]) total += v;
    out.push_back(total ? double(confusion[c][c]) / double(total) : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

void TrainConfig::validate() const {
  if (epochs < 1) throw Error("epochs must be >= 1, got " + std::to_string(epochs));
  if (batch < 1) throw Error("batch size must be >= 1, got " + std::to_string(batch));
  optim.validate();
  schedule.validate();
  augment.validate();
}

nlohmann::json TrainConfig::to_json() const {
  return {{"epochs", epochs},
          {"batch", batch},
          {"seed", seed},
          {"optimizer", optim.to_json()},
          {"schedule", schedule.to_json()},
          {"augment", augment.to_string()}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  Fields f(j, "training settings");
  TrainConfig c;
  c.epochs = f.integer("epochs");
  c.batch = f.integer("batch");
  c.seed = f.unsigned_integer("seed");
  c.optim = OptimConfig::from_json(f.required("optimizer"));
  c.schedule = Schedule::from_json(f.required("schedule"));
  if (f.optional("augment")) {  // absent before augmentation existed: none
    const std::string spec = f.string("augment");
    try {
      c.augment = parse_augmentation(spec);
    } catch (const Error& e) {
      throw Error(f.at("augment") + ": " + e.what());
    }
  }
  f.finish("epochs, batch, seed, optimizer, schedule, augment");
  c.validate();
  return c;
}

}  // namespace xgrad
