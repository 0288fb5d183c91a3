#pragma once
// Internal to the Keras import: the loss and the output roles of an imported model.
//   final softmax + (sparse) categorical cross-entropy -> "logits" + softmax_cross_entropy (class ids)
//   final sigmoid + binary cross-entropy               -> "logits" + sigmoid_cross_entropy (float targets)
//   mean squared error                                 -> "output" + mse (float targets)
// With from_logits the final layer's output is the logits. Without a loss in the file, a softmax
// output gets softmax_cross_entropy, a sigmoid output sigmoid_cross_entropy, anything else mse;
// the choice is recorded as a note.
#include <string>

#include <nlohmann/json.hpp>

#include "graph/keras_builder.h"

namespace xgrad {

struct KerasLoss {
  std::string kind;  // "softmax_cross_entropy", "sigmoid_cross_entropy" or "mse"
  bool from_logits = false;
  std::string keras_name;  // as the file spells it
};

// `loss` is a compile_config/training_config "loss": a name, a serialized loss object or function,
// or a one-entry list/dict of those; null means none. Throws Error naming `where` otherwise.
KerasLoss parse_keras_loss(const nlohmann::json& loss, const std::string& where);

void add_keras_loss(KerasBuilder& kb, const KTensor& result, const nlohmann::json& loss,
                    const std::string& source);

}  // namespace xgrad
