#include "graph/predict.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "graph/data_fit.h"
#include "graph/fold.h"
#include "graph/metric.h"
#include "graph/train.h"

namespace xgrad {
namespace {

std::string loss_op(const Graph& g) {
  if (!g.has_output("loss")) return "";
  const Node& loss = g.node(g.output("loss"));
  return loss.kind == NodeKind::Op ? std::string(loss.op->type()) : "";
}

// As graph/metric.h measures it: by the loss op, else by a "probs"/"logits" output [N, K].
bool is_classifier(const Graph& g) {
  const std::string loss = loss_op(g);
  if (loss == "softmax_cross_entropy") return true;
  if (loss == "sigmoid_cross_entropy" || loss == "mse") return false;
  for (const char* role : {"probs", "logits"})
    if (g.has_output(role)) return g.node(g.output(role)).info.shape.size() == 2;
  return false;
}

// Row-wise softmax of [rows, k] scores into `out`, in double (max subtracted first).
void softmax_rows(const float* scores, size_t rows, size_t k, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* s = scores + r * k;
    const float top = *std::max_element(s, s + k);
    double sum = 0;
    for (size_t j = 0; j < k; ++j) sum += std::exp(double(s[j]) - top);
    for (size_t j = 0; j < k; ++j) out[r * k + j] = float(std::exp(double(s[j]) - top) / sum);
  }
}

// Floats of one sample of node `id`'s value: 0 for what is not per sample (params, states).
int64_t per_sample(const Graph& g, int id) {
  const Shape& s = g.node(id).info.shape;
  if (s.empty() || s[0] != -1) return 0;
  int64_t n = 1;
  for (size_t i = 1; i < s.size(); ++i) n *= s[i];
  return n;
}

}  // namespace

int64_t cache_batch(const Graph& g, int64_t batch, int threads) {
  const int64_t budget = (int64_t(2) << 20) * threads;  // bytes: a thread's L2 and share of the L3
  const int64_t floor = std::min(batch, 16 * int64_t(threads));
  // Per op: the bytes of one sample's activations (its per-sample inputs and its output) and of the
  // weights it reads (its other inputs).
  std::vector<std::pair<int64_t, int64_t>> ops;
  for (int id = 0; id < g.size(); ++id) {
    if (g.node(id).kind != NodeKind::Op) continue;
    int64_t sample = per_sample(g, id), weights = 0;
    for (int in : g.node(id).inputs) {
      sample += per_sample(g, in);
      if (g.node(in).kind == NodeKind::Param || g.node(in).kind == NodeKind::State)
        weights += numel(g.node(in).info.shape);
    }
    ops.emplace_back(sample * int64_t(sizeof(float)), weights * int64_t(sizeof(float)));
  }
  // Bytes per image a pass of b images moves beyond the caches: each op whose b samples overflow
  // the budget its activations, each op whose weights overflow it those weights once a pass.
  const auto traffic = [&](int64_t b) {
    double bytes = 0;
    for (const auto& [sample, weights] : ops) {
      if (sample * b > budget) bytes += double(sample);
      if (weights > budget) bytes += double(weights) / double(b);
    }
    return bytes;
  };
  // Passes where the op that moves the most per sample fits (the fewest images, at least `floor`),
  // unless more images move less: that is at `batch` or where another op's activations just fit.
  int64_t widest = 0;
  for (const auto& op : ops) widest = std::max(widest, op.first);
  const auto fitting = [&](int64_t sample) {
    return std::clamp<int64_t>(sample > 0 ? budget / sample : batch, floor, batch);
  };
  int64_t best = fitting(widest);
  for (const auto& op : ops)
    for (const int64_t b : {fitting(op.first), batch})
      if (traffic(b) < traffic(best) || (traffic(b) == traffic(best) && b < best)) best = b;
  return best;
}

Predictor::Predictor(const Graph& g, const Params& weights, int output, const PredictOptions& options)
    : input_(options.input.empty() ? data_inputs(g).data : options.input),
      output_name_(g.node(output).name),
      output_shape_(g.node(output).info.shape),
      batch_(options.batch) {
  if (batch_ < 1) throw Error("predict: batch must be >= 1, got " + std::to_string(batch_));
  const int input = g.find(input_);
  if (input < 0 || g.node(input).kind != NodeKind::Input)
    throw Error("graph \"" + g.name() + "\" has no input \"" + input_ + "\"");
  input_shape_ = g.node(input).info.shape;
  if (output_shape_.empty() || output_shape_[0] != -1)
    throw Error("output \"" + output_name_ + "\" has shape " + to_string(output_shape_) +
                ", expected one row per sample [N, ...]");
  model_ = std::make_unique<InferenceModel>(fold_for_inference(g, weights, {output}));
  if (options.fit_cache) batch_ = cache_batch(model_->graph, batch_, num_threads());
  engine_ = std::make_unique<Engine>(model_->graph);
  output_ = model_->graph.id(output_name_);
}

Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Tensor Predictor::operator()(const Tensor& images) {
  Shape sample = shape_of(images);
  if (sample.empty() || !shape_matches(input_shape_, sample))
    throw Error("images have shape " + to_string(sample) + ", the input \"" + input_ + "\" is " +
                to_string(input_shape_));
  const size_t n = size_t(sample[0]), per_sample = n ? images.size() / n : 0;
  Shape out_shape = output_shape_;
  out_shape[0] = int64_t(n);
  Tensor out = make_tensor(out_shape);
  const size_t per_row = n ? out.size() / n : 0;
  Tensor& batch = feeds_[input_];
  for (size_t first = 0; first < n; first += size_t(batch_)) {
    const size_t count = std::min(size_t(batch_), n - first);
    sample[0] = int64_t(count);
    ensure_shape(batch, sample);
    std::memcpy(batch.data(), images.data() + first * per_sample, count * per_sample * sizeof(float));
    engine_->forward(feeds_, model_->weights, ForwardOptions::inference({output_}));
    std::memcpy(out.data() + first * per_row, engine_->value(output_).data(),
                count * per_row * sizeof(float));
  }
  return out;
}

Tensor predict_output(const Graph& g, const Params& weights, const Tensor& images, int output,
                      const PredictOptions& options) {
  return Predictor(g, weights, output, options)(images);
}

Predictions predict(const Graph& g, const Params& weights, const Tensor& images,
                    const PredictOptions& options) {
  const bool has_probs = g.has_output("probs");
  const int score = has_probs ? g.output("probs") : score_output(g);
  if (g.node(score).info.shape.size() != 2)
    throw Error("output \"" + g.node(score).name + "\" has shape " + to_string(g.node(score).info.shape) +
                ", expected [batch, classes]");
  Predictions p;
  p.probs = predict_output(g, weights, images, score, options);
  const size_t n = p.probs.shape()[0], k = p.probs.shape()[1];
  if (!has_probs) {
    const Tensor logits = p.probs;
    softmax_rows(logits.data(), n, k, p.probs.data());
  }
  for (size_t r = 0; r < n; ++r) {
    const float* row = p.probs.data() + r * k;
    p.classes.push_back(int64_t(std::max_element(row, row + k) - row));
  }
  return p;
}

ModelPredictions predict_model(const Graph& g, const Params& weights, const Tensor& images,
                               const PredictOptions& options) {
  ModelPredictions m;
  m.classifier = is_classifier(g);
  if (m.classifier) {
    m.classes = predict(g, weights, images, options);
    return m;
  }
  const int output = prediction_output(g);
  m.output = g.node(output).name;
  m.values = predict_output(g, weights, images, output, options);
  m.probabilities = loss_op(g) == "sigmoid_cross_entropy";
  if (m.probabilities)
    for (float& v : m.values) v = float(1.0 / (1.0 + std::exp(-double(v))));
  return m;
}

std::vector<std::string> class_names(const nlohmann::json& meta, size_t k) {
  const auto it = meta.find("classes");
  bool usable = it != meta.end() && it->is_array() && it->size() == k;
  for (size_t c = 0; usable && c < k; ++c) usable = (*it)[c].is_string();
  std::vector<std::string> names;
  for (size_t c = 0; c < k; ++c)
    names.push_back(usable ? (*it)[c].get<std::string>() : "class " + std::to_string(c));
  return names;
}

}  // namespace xgrad
