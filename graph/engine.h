#pragma once
// Runs a graph: forward over a batch in graph order, then reverse mode from a scalar node. The
// backward walk visits only nodes on a path from a wanted target to the loss, uses no recursion,
// checks each gradient an op returns and is the only place where gradients are summed. Buffers
// (values, gradients, op workspaces) are kept and reused while the batch size stays the same.
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/params.h"

namespace xgrad {

class Engine {
 public:
  explicit Engine(const Graph& g);

  // Binds inputs and weights (by reference: both must outlive the next backward) and runs every
  // op node. `training` keeps what backward needs; inference keeps nothing for it.
  void forward(const Feeds& feeds, const Params& params, bool training = false);

  // Gradient of scalar node `loss` w.r.t. `targets` (default: every param and float input).
  // Gradients of intermediate nodes on the way are available too.
  void backward(int loss, std::vector<int> targets = {});
  // The same by node names, like value() and grad(): backward("loss", {"conv1.w"}).
  void backward(const std::string& loss, const std::vector<std::string>& targets = {}) {
    std::vector<int> ids;
    for (const std::string& t : targets) ids.push_back(graph_.id(t));
    backward(graph_.id(loss), ids);
  }

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
  const Graph& graph_;
  std::vector<Tensor> owned_;          // op node outputs
  std::vector<const Tensor*> values_;  // every node's value: op outputs, feeds, weights
  std::vector<Workspace> workspaces_;
  std::vector<Tensor> grads_;
  std::vector<char> has_grad_;
  std::vector<std::vector<Tensor>> scratch_;  // per node, per input: what backward returned
  std::vector<OpTime> op_times_;
  bool profiling_ = false;
  bool forward_done_ = false;
  bool training_ = false;
};

}  // namespace xgrad
