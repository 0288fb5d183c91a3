#pragma once
// Training curves as a standalone SVG: loss (left panel) and accuracy (right panel) per epoch,
// train and test. Needs no plotting library; any browser shows it.
#include <string>
#include <vector>

#include "graph/train.h"

namespace xgrad::cli {

std::string svg_curves(const std::vector<EpochMetrics>& history, const std::string& title);

// One row per epoch: epoch,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds.
std::string csv_curves(const std::vector<EpochMetrics>& history);

}  // namespace xgrad::cli
