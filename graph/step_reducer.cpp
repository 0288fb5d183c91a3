#include "graph/step_reducer.h"

#include <algorithm>
#include <chrono>

namespace xgrad {
namespace {

void scaled_copy(const Tensor& from, float scale, float* to) {
  const float* p = from.data();
  for (size_t i = 0, n = from.size(); i < n; ++i) to[i] = p[i] * scale;
}

}  // namespace

StepReducer::StepReducer(const Graph& g, Communicator& comm) : comm_(comm) {
  size_t offset = 0;
  for (auto [ids, slots] : {std::pair{g.params(), &params_}, std::pair{g.states(), &states_}})
    for (int id : ids) {
      const Node& n = g.node(id);
      slots->push_back({n.name, id, offset, size_t(numel(n.info.shape))});
      summed_.push_back(make_tensor(n.info.shape));
      offset += slots->back().size;
    }
  flags_ = offset;
  metrics_ = flags_ + params_.size() + states_.size();
  buffer_.assign(metrics_ + 3, 0.0f);
  stats_.floats = buffer_.size();
}

void StepReducer::reduce(const LocalStep& local) {
  pack(local);
  const auto start = std::chrono::steady_clock::now();
  comm_.allreduce_sum(buffer_.data(), buffer_.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++stats_.steps;
  unpack();
}

void StepReducer::pack(const LocalStep& local) {
  std::fill(buffer_.begin(), buffer_.end(), 0.0f);
  if (local.engine) {
    const float share = float(local.share);
    for (size_t i = 0; i < params_.size(); ++i) {
      const Tensor* g = local.engine->grad(params_[i].node);
      if (!g) continue;
      scaled_copy(*g, share, &buffer_[params_[i].offset]);
      buffer_[flags_ + i] = 1;
    }
    const Params& updated = local.engine->updated_states();
    for (size_t i = 0; i < states_.size(); ++i) {
      const auto it = updated.find(states_[i].name);
      if (it == updated.end()) continue;
      scaled_copy(it->second, share, &buffer_[states_[i].offset]);
      buffer_[flags_ + params_.size() + i] = 1;
    }
  }
  buffer_[metrics_] = float(local.loss_sum);
  buffer_[metrics_ + 1] = float(local.metric_sum);
  buffer_[metrics_ + 2] = local.stop ? 1.0f : 0.0f;
}

void StepReducer::unpack() {
  for (size_t i = 0; i < params_.size() + states_.size(); ++i) {
    const Slot& s = i < params_.size() ? params_[i] : states_[i - params_.size()];
    std::copy_n(&buffer_[s.offset], s.size, summed_[i].data());
  }
  for (size_t i = 0; i < params_.size(); ++i)
    grads_[params_[i].name] = buffer_[flags_ + i] > 0 ? &summed_[i] : nullptr;
}

void StepReducer::store_states(Params& weights) const {
  for (size_t i = 0; i < states_.size(); ++i)
    if (buffer_[flags_ + params_.size() + i] > 0) weights[states_[i].name] = summed_[params_.size() + i];
}

}  // namespace xgrad
