#include "graph/fold.h"

#include <cmath>

#include "ops/registry.h"

namespace xgrad {
namespace {

enum { kX, kGamma, kBeta, kMean, kVar };  // batch_norm's inputs

bool is_op(const Node& n, std::string_view type) { return n.kind == NodeKind::Op && n.op->type() == type; }

// The value of node `id` when it is a param or state that `weights` holds with the node's shape.
const Tensor* weight_of(const Graph& g, const Params& weights, int id) {
  const Node& n = g.node(id);
  if (n.kind != NodeKind::Param && n.kind != NodeKind::State) return nullptr;
  const auto it = weights.find(n.name);
  return it != weights.end() && shape_of(it->second) == n.info.shape ? &it->second : nullptr;
}

// How many node inputs, output roles and `keep` entries read each node.
std::vector<int> reader_counts(const Graph& g, const std::vector<int>& keep) {
  std::vector<int> readers(size_t(g.size()), 0);
  for (const Node& n : g.nodes())
    for (int i : n.inputs) ++readers[size_t(i)];
  for (const auto& [role, id] : g.outputs()) ++readers[size_t(id)];
  for (int id : keep)
    if (id >= 0) ++readers.at(size_t(id));
  return readers;
}

bool has_activation(const Node& n) { return n.op->attrs().value("activation", "none") != "none"; }

// The conv2d or matmul that batch norm `norm` can absorb, or -1.
int producer_to_fold(const Graph& g, const Params& weights, const std::vector<int>& readers, int norm) {
  const Node& bn = g.node(norm);
  if (!is_op(bn, "batch_norm")) return -1;
  const int p = bn.inputs[kX];
  const Node& producer = g.node(p);
  const bool conv = is_op(producer, "conv2d") && !has_activation(producer);
  const bool dense = is_op(producer, "matmul") && producer.info.shape.size() == 2;
  if (readers[size_t(p)] != 1 || !(conv || dense)) return -1;
  for (size_t i = 1; i < producer.inputs.size(); ++i)
    if (!weight_of(g, weights, producer.inputs[i])) return -1;
  for (int i = kGamma; i <= kVar; ++i)
    if (!weight_of(g, weights, bn.inputs[size_t(i)])) return -1;
  return p;
}

struct FoldedWeights {
  Tensor w, b;
};

// w' = s·w and b' = s·(b − μ) + β per output channel, s = γ/√(σ² + ε), in double. The output
// channel o is w's first dim for conv2d ([O, C/groups, KH, KW]) and its last for matmul ([K, N]).
FoldedWeights folded_weights(const Graph& g, const Params& weights, int producer, int norm) {
  const Node &p = g.node(producer), &bn = g.node(norm);
  const auto value = [&](int id) { return weight_of(g, weights, id)->data(); };
  const float *gamma = value(bn.inputs[kGamma]), *beta = value(bn.inputs[kBeta]);
  const float *mean = value(bn.inputs[kMean]), *var = value(bn.inputs[kVar]);
  const float* bias = p.inputs.size() == 3 ? value(p.inputs[2]) : nullptr;
  const double eps = bn.op->attrs().at("epsilon").get<double>();
  const Tensor& w = *weight_of(g, weights, p.inputs[1]);
  const size_t channels = size_t(bn.info.shape[1]), run = is_op(p, "conv2d") ? w.size() / channels : 1;
  std::vector<double> s(channels);
  FoldedWeights f{w, make_tensor({int64_t(channels)})};
  for (size_t o = 0; o < channels; ++o) {
    s[o] = double(gamma[o]) / std::sqrt(double(var[o]) + eps);
    f.b.data()[o] = float(s[o] * ((bias ? double(bias[o]) : 0.0) - double(mean[o])) + double(beta[o]));
  }
  for (size_t i = 0; i < w.size(); ++i) f.w.data()[i] = float(double(w.data()[i]) * s[i / run % channels]);
  return f;
}

// What a node absorbs: a conv2d or matmul the batch norm after it; a conv2d the relu, sigmoid or tanh
// after it, a batch_norm or add the relu (a conv2d also the activation after the batch norm it absorbs). The
// node it becomes takes the name of the last node it absorbs.
struct Absorbed {
  int norm = -1, act = -1;
  int last(int self) const { return act >= 0 ? act : norm >= 0 ? norm : self; }
};

// Whether node p (a conv2d, batch_norm or add without an activation) can run activation node a's op.
bool takes_activation(const Node& p, const Node& a) {
  if (p.kind != NodeKind::Op || has_activation(p)) return false;
  if (is_op(p, "conv2d")) return is_op(a, "relu") || is_op(a, "sigmoid") || is_op(a, "tanh");
  return (is_op(p, "batch_norm") || is_op(p, "add")) && is_op(a, "relu");
}

// Which node absorbs which (indexed by the absorbing node); `removed` marks the absorbed ones.
// Batch norms fold only when `weights` is given.
std::vector<Absorbed> plan(const Graph& g, const Params* weights, const std::vector<int>& keep,
                           std::vector<char>& removed) {
  const std::vector<int> readers = reader_counts(g, keep);
  std::vector<Absorbed> absorbed(size_t(g.size()));
  std::vector<int> owner(size_t(g.size()), -1);  // an absorbed node's absorbing node
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    int p = weights ? producer_to_fold(g, *weights, readers, id) : -1;
    if (p >= 0) {
      absorbed[size_t(p)].norm = id, owner[size_t(id)] = p, removed[size_t(id)] = 1;
      continue;
    }
    if (n.kind != NodeKind::Op || n.inputs.size() != 1) continue;
    const int in = n.inputs[0];
    p = owner[size_t(in)] >= 0 ? owner[size_t(in)] : in;
    if (readers[size_t(in)] == 1 && takes_activation(g.node(p), n) && absorbed[size_t(p)].act < 0)
      absorbed[size_t(p)].act = id, owner[size_t(id)] = p, removed[size_t(id)] = 1;
  }
  return absorbed;
}

// `name`, or `name` with underscores appended until no node of `g` or `out` has it.
std::string fresh_name(const Graph& g, const Graph& out, std::string name) {
  while (g.find(name) >= 0 || out.find(name) >= 0) name += "_";
  return name;
}

// The rewritten graph: with `weights`, the inference form and its weights; without, only activations fused
// and every param and state kept (in order), so training sees the same params.
InferenceModel rewrite(const Graph& g, const Params* weights, const std::vector<int>& keep) {
  std::vector<char> removed(size_t(g.size()), 0), used(size_t(g.size()), 0);
  const std::vector<Absorbed> absorbed = plan(g, weights, keep, removed);
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (removed[size_t(id)]) continue;
    const size_t reads = absorbed[size_t(id)].norm >= 0 ? 1 : n.inputs.size();  // a folded node reads only x
    for (size_t i = 0; i < reads; ++i) used[size_t(n.inputs[i])] = 1;
  }
  for (const auto& [role, id] : g.outputs()) used[size_t(id)] = 1;

  InferenceModel m{Graph(g.name()), {}, 0, 0};
  std::vector<int> new_id(size_t(g.size()), -1);
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    const bool weight = n.kind == NodeKind::Param || n.kind == NodeKind::State;
    if (removed[size_t(id)] || (weight && weights && !used[size_t(id)])) continue;
    std::vector<int> inputs;
    for (int i : n.inputs) inputs.push_back(new_id[size_t(i)]);
    if (n.kind == NodeKind::Input) {
      new_id[size_t(id)] = m.graph.add_input(n.name, n.info.shape, n.info.dtype);
    } else if (weight) {
      new_id[size_t(id)] = n.kind == NodeKind::Param ? m.graph.add_param(n.name, n.info.shape, n.init)
                                                     : m.graph.add_state(n.name, n.info.shape, n.init);
      const auto it = weights ? weights->find(n.name) : Params::const_iterator{};
      if (weights && it != weights->end()) m.weights[n.name] = it->second;
    } else if (const Absorbed& a = absorbed[size_t(id)]; a.norm >= 0 || a.act >= 0) {
      const std::string& name = g.node(a.last(id)).name;
      if (a.norm >= 0) {
        FoldedWeights f = folded_weights(g, *weights, id, a.norm);
        const std::string wn = fresh_name(g, m.graph, name + ".folded_w");
        inputs = {inputs[0], m.graph.add_param(wn, shape_of(f.w), Init{})};
        m.weights[wn] = std::move(f.w);
        const std::string bn = fresh_name(g, m.graph, name + ".folded_b");
        inputs.push_back(m.graph.add_param(bn, shape_of(f.b), Init{}));
        m.weights[bn] = std::move(f.b);
        ++m.folded;
      }
      json attrs = n.op->attrs();
      if (a.act >= 0) attrs["activation"] = g.node(a.act).op->type(), ++m.fused;
      const int op = m.graph.add_op(name, registry().make(std::string(n.op->type()), attrs), inputs);
      for (int absorbed_id : {id, a.norm, a.act})
        if (absorbed_id >= 0) new_id[size_t(absorbed_id)] = op;
    } else {
      new_id[size_t(id)] =
          m.graph.add_op(n.name, registry().make(std::string(n.op->type()), n.op->attrs()), inputs);
    }
  }
  for (const auto& [role, id] : g.outputs()) m.graph.set_output(role, new_id[size_t(id)]);
  return m;
}

}  // namespace

InferenceModel fold_for_inference(const Graph& g, const Params& weights, const std::vector<int>& keep) {
  return rewrite(g, &weights, keep);
}

Graph fuse_activations(const Graph& g, const std::vector<int>& keep) {
  return rewrite(g, nullptr, keep).graph;
}

}  // namespace xgrad
