#pragma once
// The inference form of a trained graph, as deployment tools build it (PyTorch's fuse_conv_bn_eval,
// ONNX Runtime's Conv + BatchNormalization fusion): an eval-mode batch_norm whose only input a
// conv2d or a matmul computes for it alone is folded into that node's weights and bias,
//   s = γ/√(σ² + ε);  w'[o] = s[o]·w[o];  b'[o] = s[o]·(b[o] − μ[o]) + β[o]   (o: output channel)
// so inference skips one pass over every normalized activation. A relu, sigmoid or tanh that only reads
// a conv2d (folded or not), or a relu that only reads a batch_norm or an add (a residual block's), becomes
// that node's "activation": it runs while the output is in cache. The node that absorbs others takes the last
// one's name, and folded weights are new params, so every node name left in the graph has the value it had
// (up to float rounding) and the original weights are untouched. Predict and evaluate run this form; a graph
// with nothing to fold or fuse comes back as it was.
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/params.h"

namespace xgrad {

struct InferenceModel {
  Graph graph;
  Params weights;  // exactly the new graph's params and states
  int folded = 0;  // batch norms folded away
  int fused = 0;   // activations fused into the conv2d or batch_norm before them
};

// Nodes in `keep` (ids of `g`; -1 entries are ignored) and every output role keep their own values: a conv2d
// in `keep` is never folded into the batch norm after it. A pair whose weights `weights` lacks (or holds with
// other shapes) stays as it is, so running the result reports them as running `g` would.
InferenceModel fold_for_inference(const Graph& g, const Params& weights, const std::vector<int>& keep = {});

// The graph with only the activations fused (into the conv2d or batch_norm that alone feeds each, as
// above), for training: params and states keep their names, shapes and order, values and gradients are
// those of `g` (the Trainer runs this form). Nodes in `keep` and output roles keep their own values.
Graph fuse_activations(const Graph& g, const std::vector<int>& keep = {});

}  // namespace xgrad
