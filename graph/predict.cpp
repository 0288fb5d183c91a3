#include "graph/predict.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
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

}  // namespace

Tensor predict_output(const Graph& g, const Params& weights, const Tensor& images, int output,
                      const PredictOptions& options) {
  if (options.batch < 1) throw Error("predict: batch must be >= 1, got " + std::to_string(options.batch));
  const std::string name = options.input.empty() ? data_inputs(g).data : options.input;
  const int input = g.find(name);
  if (input < 0 || g.node(input).kind != NodeKind::Input)
    throw Error("graph \"" + g.name() + "\" has no input \"" + name + "\"");
  const Shape& expected = g.node(input).info.shape;
  Shape sample = shape_of(images);
  if (sample.empty() || !shape_matches(expected, sample))
    throw Error("images have shape " + to_string(sample) + ", the input \"" + name + "\" is " +
                to_string(expected));
  Shape out_shape = g.node(output).info.shape;
  if (out_shape.empty() || out_shape[0] != -1)
    throw Error("output \"" + g.node(output).name + "\" has shape " + to_string(out_shape) +
                ", expected one row per sample [N, ...]");
  const size_t n = size_t(sample[0]), per_sample = n ? images.size() / n : 0;
  out_shape[0] = int64_t(n);
  Tensor out = make_tensor(out_shape);
  const size_t per_row = n ? out.size() / n : 0;
  const InferenceModel folded = fold_for_inference(g, weights, {output});
  const int folded_output = folded.graph.id(g.node(output).name);
  Engine engine(folded.graph);
  Feeds feeds;
  Tensor& batch = feeds[name];
  for (size_t first = 0; first < n; first += size_t(options.batch)) {
    const size_t count = std::min(size_t(options.batch), n - first);
    sample[0] = int64_t(count);
    ensure_shape(batch, sample);
    std::memcpy(batch.data(), images.data() + first * per_sample, count * per_sample * sizeof(float));
    engine.forward(feeds, folded.weights, ForwardOptions::inference({folded_output}));
    std::memcpy(out.data() + first * per_row, engine.value(folded_output).data(),
                count * per_row * sizeof(float));
  }
  return out;
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
