#pragma once
// The figure training and evaluation report besides the loss, chosen from the loss op, so a model
// is measured by what it was trained for (as Keras' compile(metrics=...) would be written by hand):
//   softmax_cross_entropy  -> accuracy (argmax of the logits = the label, or its largest target)
//   sigmoid_cross_entropy  -> binary accuracy (σ(logit) >= 0.5 ⇔ target >= 0.5, per element)
//   mse                    -> mean squared error (no accuracy: a regression has no classes)
// Any other loss (a composed one) is measured by accuracy when the graph has a "logits" or
// "probs" output [N, K] and a label input, else by its loss alone.
#include <limits>
#include <string>

#include "graph/graph.h"

namespace xgrad {

enum class MetricKind { None, Accuracy, BinaryAccuracy, MeanSquaredError };

// "accuracy", "binary_accuracy", "mse", "none".
const char* metric_name(MetricKind kind);

struct Metric {
  MetricKind kind = MetricKind::None;
  int predictions = -1, targets = -1;  // the node ids whose values it compares
  // Σ over the batch's samples of each sample's figure: 1 or 0 (accuracy), the fraction of its
  // elements on the right side of 0.5 (binary), the mean of its squared errors (mse). Divided by
  // the number of samples, that is the metric (every sample has as many elements).
  double batch_sum(const Tensor& predictions, const Tensor& targets) const;
};

// The metric of `g`'s "loss" output (see above); `label_input` is the input the targets are fed
// to, used for a composed loss. Throws Error when the shapes do not fit the metric.
Metric metric_for(const Graph& g, const std::string& label_input = "label");

// What a model predicts for an input: its "probs" output, else "logits", else the first input of
// the loss op (a regression's output). Throws Error when there is none of them.
int prediction_output(const Graph& g);

// The two metric figures of a run, NaN where the metric is another: `value` of `kind` split into
// accuracy (plain or binary) and mse.
struct MetricValues {
  double accuracy = std::numeric_limits<double>::quiet_NaN(), mse = accuracy;
  double of(MetricKind kind) const;  // the figure of `kind` (NaN for None)
};
MetricValues metric_values(MetricKind kind, double value);

// Index of the largest of `k` scores (the first on ties, as argmax does).
size_t row_argmax(const float* row, size_t k);
// Sample i's class: its id, or for float targets [N, K] (one-hot or soft) the largest target's index.
size_t true_class(const Tensor& labels, size_t i);

}  // namespace xgrad
