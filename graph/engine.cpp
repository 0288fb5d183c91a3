#include "graph/engine.h"

#include <chrono>
#include <cmath>

#include "core/error.h"

namespace xgrad {
namespace {

void add_into(Tensor& acc, const Tensor& g) {
  float* a = acc.data();
  const float* b = g.data();
  for (size_t i = 0, n = acc.size(); i < n; ++i) a[i] += b[i];
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void check_integers(const std::string& name, const Tensor& t) {
  for (float v : t)
    if (!(v == std::floor(v)) || std::fabs(v) > 16777216.0f)
      throw Error("input \"" + name + "\" is int32 but holds " + std::to_string(v));
}

std::string describe(const Node& n) { return "node \"" + n.name + "\" (" + std::string(n.op->type()) + ")"; }

}  // namespace

ForwardOptions ForwardOptions::training(uint64_t seed, uint64_t step) {
  ForwardOptions o;
  o.mode = Mode::Train;
  o.backward = true;
  o.seed = seed;
  o.step = step;
  return o;
}

ForwardOptions ForwardOptions::inference(std::vector<int> outputs) {
  ForwardOptions o;
  o.outputs = std::move(outputs);
  return o;
}

Engine::Engine(const Graph& g)
    : graph_(g),
      owned_(size_t(g.size())),
      values_(size_t(g.size()), nullptr),
      workspaces_(size_t(g.size())),
      grads_(size_t(g.size())),
      has_grad_(size_t(g.size()), 0),
      scratch_(size_t(g.size())),
      op_times_(size_t(g.size())) {}

void Engine::forward(const Feeds& feeds, const Params& weights, bool training) {
  forward(feeds, weights, training ? ForwardOptions::training() : ForwardOptions::inference());
}

void Engine::forward(Feeds&& feeds, const Params& weights, bool training) {
  forward(std::move(feeds), weights, training ? ForwardOptions::training() : ForwardOptions::inference());
}

void Engine::forward(Feeds&& feeds, const Params& weights, const ForwardOptions& options) {
  kept_feeds_ = std::move(feeds);
  forward(static_cast<const Feeds&>(kept_feeds_), weights, options);
}

// Nodes some wanted output depends on (every node when none is named).
std::vector<char> Engine::needed_nodes(const std::vector<int>& outputs) const {
  std::vector<char> needed(size_t(graph_.size()), outputs.empty());
  for (int id : outputs) {
    if (id < 0 || id >= graph_.size())
      throw Error("forward: output id " + std::to_string(id) + " does not exist");
    needed[size_t(id)] = 1;
  }
  for (int id = graph_.size() - 1; id >= 0; --id)
    if (needed[size_t(id)])
      for (int src : graph_.node(id).inputs) needed[size_t(src)] = 1;
  return needed;
}

void Engine::forward(const Feeds& feeds, const Params& weights, const ForwardOptions& options) {
  forward_done_ = false;
  options_ = options;
  updated_states_.clear();
  const std::vector<char> needed = needed_nodes(options.outputs);
  std::fill(values_.begin(), values_.end(), nullptr);
  int64_t batch = -1;
  for (int id = 0; id < graph_.size(); ++id) {
    if (!needed[size_t(id)]) continue;
    const NodeKind kind = graph_.node(id).kind;
    if (kind == NodeKind::Input)
      bind_input(id, feeds, batch);
    else if (kind == NodeKind::Op)
      run_op(id);
    else
      bind_weight(id, weights);
  }
  for (const auto& [name, t] : feeds)
    if (graph_.find(name) < 0 || graph_.node(graph_.id(name)).kind != NodeKind::Input)
      throw Error("a value was given for \"" + name + "\", which is not an input of the graph");
  if (options.mode == Mode::Train) update_states();
  forward_done_ = true;
}

void Engine::bind_input(int id, const Feeds& feeds, int64_t& batch) {
  const Node& n = graph_.node(id);
  auto it = feeds.find(n.name);
  if (it == feeds.end()) throw Error("no value given for input \"" + n.name + "\"");
  const Shape s = shape_of(it->second);
  if (!shape_matches(n.info.shape, s))
    throw Error("input \"" + n.name + "\" has shape " + to_string(s) + ", expected " +
                to_string(n.info.shape));
  if (!s.empty() && n.info.shape[0] == -1) {
    if (batch != -1 && s[0] != batch)
      throw Error("input \"" + n.name + "\" has batch size " + std::to_string(s[0]) + ", other inputs have " +
                  std::to_string(batch));
    batch = s[0];
  }
  if (n.info.dtype == DType::Int32) check_integers(n.name, it->second);
  values_[size_t(id)] = &it->second;
}

void Engine::bind_weight(int id, const Params& weights) {
  const Node& n = graph_.node(id);
  auto it = weights.find(n.name);
  if (it == weights.end())
    throw Error(std::string(n.kind == NodeKind::Param ? "no weights for param \"" : "no value for state \"") +
                n.name + "\"");
  if (shape_of(it->second) != n.info.shape)
    throw Error(std::string(kind_name(n.kind)) + " \"" + n.name + "\" has shape " +
                to_string(shape_of(it->second)) + ", expected " + to_string(n.info.shape));
  values_[size_t(id)] = &it->second;
}

RunContext Engine::context(int id) const {
  return {options_.mode, options_.backward, options_.seed,
          options_.step, uint64_t(id),      options_.sample_offset};
}

void Engine::run_op(int id) {
  const Node& n = graph_.node(id);
  std::vector<ValueInfo> infos;
  Inputs in;
  for (int src : n.inputs) {
    in.push_back(values_[size_t(src)]);
    infos.push_back({shape_of(*in.back()), graph_.node(src).info.dtype});
  }
  Tensor& out = owned_[size_t(id)];
  try {
    ensure_shape(out, n.op->infer_shape(infos));
    const auto start = std::chrono::steady_clock::now();
    n.op->run_forward(context(id), in, out, workspaces_[size_t(id)]);
    if (profiling_) op_times_[size_t(id)].forward = seconds_since(start);
  } catch (const std::exception& e) {
    throw Error(describe(n) + ": " + e.what());
  }
  values_[size_t(id)] = &out;
}

// After the whole pass, so every op read the states as they were before this step.
void Engine::update_states() {
  for (int id = 0; id < graph_.size(); ++id) {
    const Node& n = graph_.node(id);
    if (n.kind != NodeKind::Op || !values_[size_t(id)]) continue;
    Inputs in;
    States states;
    for (int src : n.inputs) {
      in.push_back(values_[size_t(src)]);
      const Node& s = graph_.node(src);
      if (s.kind != NodeKind::State) {
        states.push_back(nullptr);
        continue;
      }
      auto [it, fresh] = updated_states_.emplace(s.name, Tensor());
      if (fresh) it->second = *values_[size_t(src)];
      states.push_back(&it->second);
    }
    try {
      n.op->update_states(context(id), in, *values_[size_t(id)], workspaces_[size_t(id)], states);
    } catch (const std::exception& e) {
      throw Error(describe(n) + ": " + e.what());
    }
  }
}

void Engine::store_states(Params& weights) const {
  for (const auto& [name, t] : updated_states_) weights[name] = t;
}

void Engine::backward(int loss, std::vector<int> targets) {
  if (!forward_done_ || !options_.backward)
    throw Error("backward needs a forward pass that keeps what backward needs (training) first");
  if (loss < 0 || loss >= graph_.size()) throw Error("backward: no such loss node");
  const Node& loss_node = graph_.node(loss);
  if (!values_[size_t(loss)])
    throw Error("backward: the last forward did not compute \"" + loss_node.name + "\"");
  if (!loss_node.info.shape.empty())
    throw Error("backward: loss \"" + loss_node.name + "\" has shape " + to_string(loss_node.info.shape) +
                ", expected a scalar");
  if (targets.empty())
    for (int id = 0; id < graph_.size(); ++id) {
      const Node& n = graph_.node(id);
      if (n.kind == NodeKind::Param || (n.kind == NodeKind::Input && n.info.dtype == DType::Float32))
        targets.push_back(id);
    }
  for (int t : targets)
    if (graph_.node(t).kind == NodeKind::State)
      throw Error("backward: \"" + graph_.node(t).name + "\" is a state, which gets no gradient");

  // Visit only nodes that depend on a target and that the loss depends on.
  const size_t count = size_t(graph_.size());
  std::vector<char> from_target(count, 0), to_loss(count, 0);
  for (int t : targets) from_target.at(size_t(t)) = 1;
  for (size_t id = 0; id < count; ++id)
    for (int src : graph_.node(int(id)).inputs) from_target[id] |= from_target[size_t(src)];
  to_loss[size_t(loss)] = 1;
  for (int id = loss; id >= 0; --id)
    if (to_loss[size_t(id)])
      for (int src : graph_.node(id).inputs) to_loss[size_t(src)] = 1;

  std::fill(has_grad_.begin(), has_grad_.end(), 0);
  ensure_shape(grads_[size_t(loss)], {});
  grads_[size_t(loss)].fill(1.0f);
  has_grad_[size_t(loss)] = 1;

  for (int id = loss; id >= 0; --id) {
    const Node& n = graph_.node(id);
    if (n.kind != NodeKind::Op || !has_grad_[size_t(id)] || !from_target[size_t(id)]) continue;
    auto& scratch = scratch_[size_t(id)];
    scratch.resize(n.inputs.size());
    Inputs in;
    Grads wanted;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const int src = n.inputs[i];
      in.push_back(values_[size_t(src)]);
      const bool want =
          from_target[size_t(src)] && to_loss[size_t(src)] && graph_.node(src).info.dtype == DType::Float32;
      wanted.push_back(want ? &scratch[i] : nullptr);
    }
    try {
      const auto start = std::chrono::steady_clock::now();
      n.op->run_backward(context(id), in, *values_[size_t(id)], grads_[size_t(id)], workspaces_[size_t(id)],
                         wanted);
      if (profiling_) op_times_[size_t(id)].backward = seconds_since(start);
    } catch (const std::exception& e) {
      throw Error(describe(n) + " backward: " + e.what());
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!wanted[i]) continue;
      const size_t src = size_t(n.inputs[i]);
      if (shape_of(scratch[i]) != shape_of(*in[i]))
        throw Error(describe(n) + " returned a gradient of shape " + to_string(shape_of(scratch[i])) +
                    " for input " + std::to_string(i) + ", expected " + to_string(shape_of(*in[i])));
      if (has_grad_[src]) {
        add_into(grads_[src], scratch[i]);
      } else {
        std::swap(grads_[src], scratch[i]);  // no copy; the old buffer is reused next step
        has_grad_[src] = 1;
      }
    }
  }
}

bool Engine::computed(int id) const { return forward_done_ && values_.at(size_t(id)) != nullptr; }

const Tensor& Engine::value(int id) const {
  if (!forward_done_) throw Error("no value yet: run forward first");
  const Tensor* v = values_.at(size_t(id));
  if (!v)
    throw Error("\"" + graph_.node(id).name +
                "\" was not computed: the last forward's outputs do not need it");
  return *v;
}

const Tensor* Engine::grad(int id) const { return has_grad_.at(size_t(id)) ? &grads_[size_t(id)] : nullptr; }

}  // namespace xgrad
