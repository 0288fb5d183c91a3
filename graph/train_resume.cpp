// The link between a Trainer and its Checkpoint: what an exact resume checks and restores.
#include <algorithm>

#include "core/error.h"
#include "graph/checkpoint.h"
#include "graph/train.h"

namespace xgrad {
namespace {

// The first setting that differs, as "optimizer.lr = 0.1, this run asks for 0.2", or "".
std::string first_difference(const TrainConfig& saved_config, const TrainConfig& asked_config) {
  auto saved = saved_config.to_json(), asked = asked_config.to_json();
  saved.erase("epochs"), asked.erase("epochs");  // a run may be extended
  for (const auto& change : nlohmann::json::diff(saved, asked)) {
    const nlohmann::json::json_pointer at(change.at("path").get<std::string>());
    std::string name = at.to_string().substr(1);
    std::replace(name.begin(), name.end(), '/', '.');
    return name + " = " + (saved.contains(at) ? saved.at(at).dump() : "(unset)") + ", this run asks for " +
           (asked.contains(at) ? asked.at(at).dump() : "(unset)");
  }
  return "";
}

}  // namespace

void Trainer::resume(const Checkpoint& c) {
  if (c.model != graph_.name())
    throw Error("checkpoint of model \"" + c.model + "\", this run trains \"" + graph_.name() + "\"");
  const std::string difference = first_difference(c.config, config_);
  if (!difference.empty())
    throw Error("the checkpoint was made with " + difference + "; resume with the same settings");
  if (c.progress.epoch > config_.epochs)
    throw Error("the checkpoint is at epoch " + std::to_string(c.progress.epoch) + ", past the " +
                std::to_string(config_.epochs) + " epochs of this run");
  check_params(graph_, c.weights);
  Optimizer optimizer(config_.optim);
  optimizer.load_state(c.optimizer, c.weights);
  set_progress(c.progress);
  optimizer_ = std::move(optimizer);
  params_ = c.weights;
}

Checkpoint Trainer::checkpoint() const {
  return {graph_.name(), config_, params_, optimizer_.state_to_json(), progress_};
}

}  // namespace xgrad
