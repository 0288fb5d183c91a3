#include "graph/metric.h"

#include "core/error.h"

namespace xgrad {
namespace {

// Elements per sample of [N, ...] values (1 for [N]).
size_t per_sample(const Tensor& t) {
  return t.dimension() == 0 || t.shape()[0] == 0 ? 1 : t.size() / t.shape()[0];
}

double accuracy_sum(const Tensor& scores, const Tensor& labels) {
  const size_t n = scores.shape()[0], k = per_sample(scores);
  double correct = 0;
  for (size_t i = 0; i < n; ++i) correct += row_argmax(scores.data() + i * k, k) == true_class(labels, i);
  return correct;
}

// Σ over samples of the mean over the sample's elements of f(prediction, target).
template <class F>
double sum_of_sample_means(const Tensor& predictions, const Tensor& targets, F f) {
  const size_t m = per_sample(predictions), total = predictions.size();
  const float *p = predictions.data(), *t = targets.data();
  double sum = 0;
  for (size_t i = 0; i < total; i += m) {
    double sample = 0;
    for (size_t j = i; j < i + m; ++j) sample += f(double(p[j]), double(t[j]));
    sum += sample / double(m);
  }
  return sum;
}

// A composed loss: accuracy of the score output against the label input, when both fit.
Metric fallback_metric(const Graph& g, const std::string& label_input) {
  Metric m;
  const int labels = g.find(label_input);
  for (const char* role : {"logits", "probs"}) {
    if (!g.has_output(role) || labels < 0 || g.node(labels).kind != NodeKind::Input) continue;
    if (g.node(g.output(role)).info.shape.size() != 2) continue;
    m.kind = MetricKind::Accuracy, m.predictions = g.output(role), m.targets = labels;
    return m;
  }
  return m;
}

}  // namespace

const char* metric_name(MetricKind kind) {
  switch (kind) {
    case MetricKind::Accuracy:
      return "accuracy";
    case MetricKind::BinaryAccuracy:
      return "binary_accuracy";
    case MetricKind::MeanSquaredError:
      return "mse";
    case MetricKind::None:
      break;
  }
  return "none";
}

double Metric::batch_sum(const Tensor& p, const Tensor& t) const {
  switch (kind) {
    case MetricKind::Accuracy:
      return accuracy_sum(p, t);
    case MetricKind::BinaryAccuracy:  // σ(x) >= 0.5 exactly when x >= 0: no σ needed
      return sum_of_sample_means(p, t, [](double x, double y) { return double((x >= 0) == (y >= 0.5)); });
    case MetricKind::MeanSquaredError:
      return sum_of_sample_means(p, t, [](double x, double y) { return (x - y) * (x - y); });
    case MetricKind::None:
      break;
  }
  return 0;
}

Metric metric_for(const Graph& g, const std::string& label_input) {
  const Node& loss = g.node(g.output("loss"));
  const std::string op = loss.kind == NodeKind::Op ? std::string(loss.op->type()) : "";
  Metric m;
  if (op == "softmax_cross_entropy") m.kind = MetricKind::Accuracy;
  if (op == "sigmoid_cross_entropy") m.kind = MetricKind::BinaryAccuracy;
  if (op == "mse") m.kind = MetricKind::MeanSquaredError;
  if (m.kind == MetricKind::None) return fallback_metric(g, label_input);
  m.predictions = loss.inputs.at(0), m.targets = loss.inputs.at(1);
  const Shape& shape = g.node(m.predictions).info.shape;
  if (m.kind == MetricKind::Accuracy && shape.size() != 2)
    throw Error("the input \"" + g.node(m.predictions).name + "\" of the loss has shape " + to_string(shape) +
                ", expected [batch, classes]");
  if (shape.empty())
    throw Error("the input \"" + g.node(m.predictions).name +
                "\" of the loss is a scalar, expected [batch, ...]");
  return m;
}

int prediction_output(const Graph& g) {
  for (const char* role : {"probs", "logits"})
    if (g.has_output(role)) return g.output(role);
  if (g.has_output("loss")) {
    const Node& loss = g.node(g.output("loss"));
    if (loss.kind == NodeKind::Op && !loss.inputs.empty()) return loss.inputs[0];
  }
  throw Error("graph \"" + g.name() + "\" has no \"probs\", \"logits\" or \"loss\" output to predict with");
}

MetricValues metric_values(MetricKind kind, double value) {
  MetricValues v;
  if (kind == MetricKind::Accuracy || kind == MetricKind::BinaryAccuracy) v.accuracy = value;
  if (kind == MetricKind::MeanSquaredError) v.mse = value;
  return v;
}

double MetricValues::of(MetricKind kind) const {
  if (kind == MetricKind::MeanSquaredError) return mse;
  return kind == MetricKind::None ? std::numeric_limits<double>::quiet_NaN() : accuracy;
}

size_t row_argmax(const float* row, size_t k) {
  size_t best = 0;
  for (size_t j = 1; j < k; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

size_t true_class(const Tensor& labels, size_t i) {
  if (labels.dimension() < 2) return size_t(labels.data()[i]);
  const size_t k = labels.size() / size_t(labels.shape()[0]);
  return row_argmax(labels.data() + i * k, k);
}

}  // namespace xgrad
