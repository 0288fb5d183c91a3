#pragma once
// Runs a graph: forward over a batch in graph order, then reverse mode from a scalar node. The
// forward runs in training or eval mode and only the nodes the wanted outputs need; the backward
// walk visits only nodes on a path from a wanted target to the loss, uses no recursion, checks each
// gradient an op returns and is the only place where gradients are summed. Buffers (values,
// gradients, op workspaces) are kept and reused while the batch size stays the same.
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/params.h"

namespace xgrad {

struct ForwardOptions {
  Mode mode = Mode::Eval;
  bool backward = false;        // keep what backward needs (in either mode)
  std::vector<int> outputs;     // run only the nodes these need (other inputs need no feed); empty: all
  uint64_t seed = 0, step = 0;  // randomness (dropout masks) is a function of seed, step and node
  uint64_t sample_offset = 0;   // the batch's first sample in a larger batch split over processes

  // Train mode with backward to follow; `step` should count the run's optimizer steps.
  static ForwardOptions training(uint64_t seed = 0, uint64_t step = 0);
  // Eval mode, no backward, only what `outputs` need.
  static ForwardOptions inference(std::vector<int> outputs = {});
};

class Engine {
 public:
  explicit Engine(const Graph& g);

  // Binds inputs and weights (by reference: both must outlive the next backward) and runs the op
  // nodes. Weights are never changed: in train mode the new state values (running statistics)
  // go to updated_states(). `training` is ForwardOptions::training(), else inference().
  void forward(const Feeds& feeds, const Params& weights, bool training = false);
  void forward(const Feeds& feeds, const Params& weights, const ForwardOptions& options);
  // Feeds given as a temporary (`forward({{"x", t}}, ...)`) are moved into the engine, not
  // copied, so a backward after it still reads them.
  void forward(Feeds&& feeds, const Params& weights, bool training = false);
  void forward(Feeds&& feeds, const Params& weights, const ForwardOptions& options);

  // Gradient of scalar node `loss` w.r.t. `targets` (default: every param and float input). States
  // get no gradient. Gradients of intermediate nodes on the way are available too.
  void backward(int loss, std::vector<int> targets = {});
  // The same by node names, like value() and grad(): backward("loss", {"conv1.w"}).
  void backward(const std::string& loss, const std::vector<std::string>& targets = {}) {
    std::vector<int> ids;
    for (const std::string& t : targets) ids.push_back(graph_.id(t));
    backward(graph_.id(loss), ids);
  }

  // After a train-mode forward: the new value of every state an op updated, by state name.
  const Params& updated_states() const { return updated_states_; }
  // Copies updated_states() into `weights` (a training step does this after the optimizer step).
  void store_states(Params& weights) const;

  bool computed(int id) const;  // whether the last forward computed or bound this node
  const Tensor& value(int id) const;
  const Tensor& value(const std::string& name) const { return value(graph_.id(name)); }
  // nullptr when the last backward gave this node no gradient.
  const Tensor* grad(int id) const;
  const Tensor* grad(const std::string& name) const { return grad(graph_.id(name)); }
  const Graph& graph() const { return graph_; }

  // Seconds each op node took in the last forward and backward (by node id), measured only while
  // profiling is on; `xgrad bench` prints them.
  struct OpTime {
    double forward = 0, backward = 0;
  };
  void set_profiling(bool on) { profiling_ = on; }
  const std::vector<OpTime>& op_times() const { return op_times_; }

 private:
  std::vector<char> needed_nodes(const std::vector<int>& outputs) const;
  void bind_input(int id, const Feeds& feeds, int64_t& batch);
  void bind_weight(int id, const Params& weights);
  void run_op(int id);
  void update_states();
  RunContext context(int id) const;

  const Graph& graph_;
  Feeds kept_feeds_;                   // the last feeds given as a temporary
  std::vector<Tensor> owned_;          // op node outputs
  std::vector<const Tensor*> values_;  // every computed node's value: op outputs, feeds, weights
  std::vector<Workspace> workspaces_;
  std::vector<Tensor> grads_;
  std::vector<char> has_grad_;
  std::vector<std::vector<Tensor>> scratch_;  // per node, per input: what backward returned
  std::vector<OpTime> op_times_;
  Params updated_states_;
  ForwardOptions options_;  // of the last forward
  bool profiling_ = false;
  bool forward_done_ = false;
};

}  // namespace xgrad
