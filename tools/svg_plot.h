#pragma once
// Training curves as a standalone SVG: loss (left panel) and accuracy (right panel) per epoch,
// train and test. Needs no plotting library; any browser shows it.
#include <string>
#include <vector>

#include "graph/train.h"

namespace xgrad::cli {

// The right panel shows the metric (accuracy, binary accuracy or mse); none: the loss alone.
std::string svg_curves(const std::vector<EpochMetrics>& history, const std::string& title,
                       MetricKind metric = MetricKind::Accuracy);

// One row per epoch: epoch,lr,train_loss,train_M,test_loss,test_M,seconds with M the metric's name
// (accuracy, binary_accuracy, mse); without a metric: epoch,lr,train_loss,test_loss,seconds.
std::string csv_curves(const std::vector<EpochMetrics>& history, MetricKind metric = MetricKind::Accuracy);

}  // namespace xgrad::cli
