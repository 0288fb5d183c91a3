#pragma once
// Model builders. LeNet is the reference network: Conv 6@5x5 -> act -> MaxPool 2/2 -> Conv 16@5x5
// -> act -> MaxPool 2/2 -> Flatten 256 -> Dense 120 -> act -> Dense 84 -> act -> Dense 10, with
// Keras' defaults (glorot_uniform weights, zero biases).
#include <string>
#include <vector>

#include "graph/graph.h"

namespace xgrad {

// activation: "sigmoid" (the reference) or "relu"/"tanh". Outputs: "logits", "probs", "loss".
Graph lenet(const std::string& activation = "sigmoid");

// A multilayer perceptron on 28x28x1 images: Flatten -> Dense(h) -> act ... -> Dense(classes).
Graph mlp(const std::vector<int64_t>& hidden = {128}, const std::string& activation = "relu",
          int64_t classes = 10);

}  // namespace xgrad
