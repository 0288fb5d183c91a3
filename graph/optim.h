#pragma once
// Optimizers with PyTorch's update rules, state kept by param name outside the graph.
//   sgd:   g = grad + wd*p; buf = g (first step) or momentum*buf + g; g = g + momentum*buf (Nesterov)
//          or buf; p -= lr*g                                                 (torch.optim.SGD)
//   adam:  g = grad + wd*p (L2 decay, coupled);                               (torch.optim.Adam)
//   adamw: p *= 1 - lr*wd (decoupled decay) and g = grad;                      (torch.optim.AdamW)
//          then m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
//          p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "graph/params.h"

namespace xgrad {

struct OptimConfig {
  std::string type = "sgd";  // sgd, adam, adamw
  double lr = 0.01;
  double momentum = 0.0;                          // sgd
  bool nesterov = false;                          // sgd; needs momentum > 0
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double weight_decay = 0.0;

  // Throws Error saying which setting is bad, its value and the valid range.
  void validate() const;
  nlohmann::json to_json() const;  // only the settings that apply to `type`
  static OptimConfig from_json(const nlohmann::json& j);
};

// Gradients to apply, by param name; a param missing here (or null) is left as is this step.
using GradRefs = std::map<std::string, const Tensor*>;

class Optimizer {
 public:
  explicit Optimizer(OptimConfig config);  // validates

  // One update of every param that has a gradient. `lr` is this step's rate (from the schedule).
  void step(Params& params, const GradRefs& grads, double lr);

  const OptimConfig& config() const { return config_; }
  // Exact state (buffers stored bit for bit) for checkpoints.
  nlohmann::json state_to_json() const;
  // Throws Error when the state is malformed, for another optimizer, or does not fit `params`.
  void load_state(const nlohmann::json& j, const Params& params);

 private:
  struct Slot {
    int64_t steps = 0;
    Tensor m;  // sgd: momentum buffer; adam: first moment
    Tensor v;  // adam: second moment
  };
  void sgd(Tensor& p, const Tensor& g, Slot& s, float lr) const;
  void adam(Tensor& p, const Tensor& g, Slot& s, float lr) const;

  OptimConfig config_;
  std::map<std::string, Slot> slots_;
};

}  // namespace xgrad
