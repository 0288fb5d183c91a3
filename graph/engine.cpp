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

}  // namespace

Engine::Engine(const Graph& g)
    : graph_(g),
      owned_(size_t(g.size())),
      values_(size_t(g.size()), nullptr),
      workspaces_(size_t(g.size())),
      grads_(size_t(g.size())),
      has_grad_(size_t(g.size()), 0),
      scratch_(size_t(g.size())),
      op_times_(size_t(g.size())) {}

void Engine::forward(const Feeds& feeds, const Params& params, bool training) {
  forward_done_ = false;
  int64_t batch = -1;
  size_t inputs_used = 0;
  std::vector<ValueInfo> infos;
  for (int id = 0; id < graph_.size(); ++id) {
    const Node& n = graph_.node(id);
    if (n.kind == NodeKind::Input) {
      auto it = feeds.find(n.name);
      if (it == feeds.end()) throw Error("no value given for input \"" + n.name + "\"");
      ++inputs_used;
      const Shape s = shape_of(it->second);
      if (!shape_matches(n.info.shape, s))
        throw Error("input \"" + n.name + "\" has shape " + to_string(s) + ", expected " +
                    to_string(n.info.shape));
      if (!s.empty() && n.info.shape[0] == -1) {
        if (batch != -1 && s[0] != batch)
          throw Error("input \"" + n.name + "\" has batch size " + std::to_string(s[0]) +
                      ", other inputs have " + std::to_string(batch));
        batch = s[0];
      }
      if (n.info.dtype == DType::Int32) check_integers(n.name, it->second);
      values_[size_t(id)] = &it->second;
    } else if (n.kind == NodeKind::Param) {
      auto it = params.find(n.name);
      if (it == params.end()) throw Error("no weights for param \"" + n.name + "\"");
      if (shape_of(it->second) != n.info.shape)
        throw Error("param \"" + n.name + "\" has shape " + to_string(shape_of(it->second)) + ", expected " +
                    to_string(n.info.shape));
      values_[size_t(id)] = &it->second;
    } else {
      infos.clear();
      Inputs in;
      for (int src : n.inputs) {
        in.push_back(values_[size_t(src)]);
        infos.push_back({shape_of(*in.back()), graph_.node(src).info.dtype});
      }
      Tensor& out = owned_[size_t(id)];
      try {
        ensure_shape(out, n.op->infer_shape(infos));
        const auto start = std::chrono::steady_clock::now();
        n.op->forward(in, out, workspaces_[size_t(id)], training);
        if (profiling_) op_times_[size_t(id)].forward = seconds_since(start);
      } catch (const std::exception& e) {
        throw Error("node \"" + n.name + "\" (" + std::string(n.op->type()) + "): " + e.what());
      }
      values_[size_t(id)] = &out;
    }
  }
  if (inputs_used != feeds.size())
    for (const auto& [name, t] : feeds)
      if (graph_.find(name) < 0 || graph_.node(graph_.id(name)).kind != NodeKind::Input)
        throw Error("a value was given for \"" + name + "\", which is not an input of the graph");
  training_ = training;
  forward_done_ = true;
}

void Engine::backward(int loss, std::vector<int> targets) {
  if (!forward_done_ || !training_) throw Error("backward needs a forward pass in training mode first");
  if (loss < 0 || loss >= graph_.size()) throw Error("backward: no such loss node");
  const Node& loss_node = graph_.node(loss);
  if (!loss_node.info.shape.empty())
    throw Error("backward: loss \"" + loss_node.name + "\" has shape " + to_string(loss_node.info.shape) +
                ", expected a scalar");
  if (targets.empty())
    for (int id = 0; id < graph_.size(); ++id) {
      const Node& n = graph_.node(id);
      if (n.kind == NodeKind::Param || (n.kind == NodeKind::Input && n.info.dtype == DType::Float32))
        targets.push_back(id);
    }

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
      n.op->backward(in, *values_[size_t(id)], grads_[size_t(id)], workspaces_[size_t(id)], wanted);
      if (profiling_) op_times_[size_t(id)].backward = seconds_since(start);
    } catch (const std::exception& e) {
      throw Error("node \"" + n.name + "\" (" + std::string(n.op->type()) + ") backward: " + e.what());
    }
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!wanted[i]) continue;
      const size_t src = size_t(n.inputs[i]);
      if (shape_of(scratch[i]) != shape_of(*in[i]))
        throw Error("node \"" + n.name + "\" (" + std::string(n.op->type()) +
                    ") returned a gradient of shape " + to_string(shape_of(scratch[i])) + " for input " +
                    std::to_string(i) + ", expected " + to_string(shape_of(*in[i])));
      if (has_grad_[src]) {
        add_into(grads_[src], scratch[i]);
      } else {
        std::swap(grads_[src], scratch[i]);  // no copy; the old buffer is reused next step
        has_grad_[src] = 1;
      }
    }
  }
}

const Tensor& Engine::value(int id) const {
  if (!forward_done_) throw Error("no value yet: run forward first");
  return *values_.at(size_t(id));
}

const Tensor* Engine::grad(int id) const { return has_grad_.at(size_t(id)) ? &grads_[size_t(id)] : nullptr; }

}  // namespace xgrad
