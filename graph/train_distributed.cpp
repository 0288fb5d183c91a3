// The data-parallel side of the Trainer (graph/distributed.h): each rank runs forward and backward
// on its shard of the global batch, one StepReducer sum gives every rank the same gradient and
// running statistics, and every rank then takes the same optimizer step.
#include "graph/distributed.h"
#include "graph/serialize.h"
#include "graph/step_reducer.h"
#include "graph/train.h"

namespace xgrad {

void Trainer::distribute(Communicator& comm, int64_t verify_every) {
  if (verify_every < 0) throw Error("verify_every must be >= 0, got " + std::to_string(verify_every));
  comm_ = &comm;
  reducer_ = std::make_unique<StepReducer>(run_graph_, comm);
  verify_every_ = verify_every;
}

bool Trainer::lead() const { return !comm_ || comm_->rank() == 0; }

const ReduceStats* Trainer::reduce_stats() const { return reducer_ ? &reducer_->stats() : nullptr; }

double Trainer::distributed_step(const BatchSource& train, size_t count, double lr) {
  const Shard shard = shard_of(progress_.position, count, comm_->rank(), comm_->size());
  LocalStep local;
  local.stop = stop_vote_;
  if (shard.count > 0) {
    // A non-finite loss is caught after the sum, on every rank alike.
    const double loss = forward_on(train, shard.start, shard.count);
    engine_.backward(loss_id_, param_ids_);
    local.engine = &engine_;
    local.share = double(shard.count) / double(count);
    local.loss_sum = loss * double(shard.count);
    local.metric_sum = metric_in_batch();
  }
  reducer_->reduce(local);
  const double loss = reducer_->loss_sum() / double(count);
  try {  // the checks read summed values, the same on every rank
    check_finite_loss(loss);
    finish_step(reducer_->grads(), lr, count, reducer_->loss_sum(), reducer_->metric_sum());
  } catch (const Error& e) {
    throw CollectiveError(e.what());
  }
  return loss;
}

void Trainer::verify_replicas() const {
  uint64_t h = 0;
  for (const auto& [name, t] : params_)
    h = fingerprint(t.data(), t.size() * sizeof(float), fingerprint(name, h));
  const std::vector<uint64_t> all = comm_->allgather({h});
  for (int r = 1; r < comm_->size(); ++r)
    if (all[size_t(r)] != all[0])
      throw CollectiveError("after step " + std::to_string(progress_.step) + " the weights of rank " +
                            std::to_string(r) + " differ from rank 0's: the ranks' sums disagree");
}

std::vector<std::pair<std::string, uint64_t>> Trainer::run_identity(const BatchSource& train,
                                                                    const BatchSource* test) const {
  const Progress& pr = progress_;
  const std::string position =
      std::to_string(pr.epoch) + "/" + std::to_string(pr.position) + "/" + std::to_string(pr.step);
  return {
      {"model (graph and weights)", fingerprint(model_to_string(graph_, &params_, nlohmann::json::object()))},
      {"training data", fingerprint(train)},
      {"test data", test ? fingerprint(*test) : 0},
      {"settings (seed, batch, optimizer, schedule, epochs)", fingerprint(config_.to_json().dump())},
      {"position of the run (epoch/sample/step)", fingerprint(position)},
      {"xgrad version", fingerprint(std::string(XGRAD_VERSION))}};
}

}  // namespace xgrad
