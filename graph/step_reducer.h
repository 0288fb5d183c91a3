#pragma once
// One training step of a data-parallel run, summed over the ranks with one allreduce of one buffer:
//   [every param's gradient][every state's new value][has-gradient/updated flags][loss sum, metric sum, stop]
// Each rank scales its gradient (of the mean loss over its shard) and its new running statistics
// by its share of the global batch, count_r / count, so the sum is the gradient of the global
// batch's mean loss and the statistics are their shard-size-weighted average: batch norm normalises
// with its own shard's batch statistics, but the running statistics stay the same on every rank.
#include <cstdint>
#include <string>
#include <vector>

#include "graph/distributed.h"
#include "graph/engine.h"
#include "graph/optim.h"

namespace xgrad {

// What one rank computed in a step.
struct LocalStep {
  const Engine* engine = nullptr;  // after backward; nullptr when this rank's shard was empty
  double share = 0;                // count_r / count
  double loss_sum = 0;             // mean loss over the shard * count_r
  double metric_sum = 0;           // Metric::batch_sum of the shard (correct samples for accuracy)
  bool stop = false;               // this rank asks every rank to stop after this step
};

struct ReduceStats {
  int64_t steps = 0;
  size_t floats = 0;   // summed per step
  double seconds = 0;  // in the allreduce, waiting for the slowest rank included
};

class StepReducer {
 public:
  StepReducer(const Graph& g, Communicator& comm);

  // Every rank calls it once per step, with its part; afterwards the accessors hold the sums.
  void reduce(const LocalStep& local);
  const GradRefs& grads() const { return grads_; }  // null for a param no rank had a gradient for
  void store_states(Params& weights) const;         // the averaged new state values
  double loss_sum() const { return buffer_[metrics_]; }
  double metric_sum() const { return buffer_[metrics_ + 1]; }
  bool stop() const { return buffer_[metrics_ + 2] > 0; }
  const ReduceStats& stats() const { return stats_; }

 private:
  struct Slot {
    std::string name;
    int node;
    size_t offset, size;
  };
  void pack(const LocalStep& local);
  void unpack();

  Communicator& comm_;
  std::vector<Slot> params_, states_;
  size_t flags_ = 0, metrics_ = 0;  // offsets in buffer_
  std::vector<float> buffer_;
  std::vector<Tensor> summed_;  // per param, then per state: the reduced values
  GradRefs grads_;
  ReduceStats stats_;
};

}  // namespace xgrad
