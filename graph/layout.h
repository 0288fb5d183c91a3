#pragma once
// Weights as other frameworks lay them out, for export to and import from NumPy .npz files:
//   xgrad: the params and states as they are, by name (conv OIHW, dense [in, out]).
//   torch: the state_dict of the equivalent nn.Module: "<layer>.weight"/".bias"/".running_mean"/
//          ".running_var", conv OIHW, Linear weight [out, in].
//   keras: get_weights() order, "<layer>/kernel"/"bias"/"gamma"/"beta"/"moving_mean"/
//          "moving_variance", conv kernels HWIO, dense kernels [in, out] with the rows of a Dense
//          after a Flatten of [C, H, W] in Keras' (H, W, C) order.
// A param's role comes from the op that consumes it (conv2d, matmul, batch_norm); its layer is the
// param name before the last '.', or that op's name.
#include <string>
#include <vector>

#include "core/npz.h"
#include "graph/graph.h"
#include "graph/params.h"

namespace xgrad {

enum class WeightLayout { Xgrad, Torch, Keras };

WeightLayout weight_layout_from_name(const std::string& name);  // "xgrad", "torch", "keras"
const char* weight_layout_name(WeightLayout layout);

// How one param or state of the graph appears in a layout.
struct LayoutEntry {
  enum class Transform { Identity, Transpose2d, OihwToHwio, FlattenRows };
  std::string param;  // xgrad name, e.g. "fc1.w"
  std::string name;   // name in the layout, e.g. "fc1.weight"
  Shape shape;        // shape in the layout
  Transform transform = Transform::Identity;
  Shape chw;  // FlattenRows: the [C, H, W] that the Flatten before the dense layer took
};

// Every param and state of `g`, in the layout's order (xgrad: graph order; torch and keras: the
// order of the layers that use them).
std::vector<LayoutEntry> weight_layout(const Graph& g, WeightLayout layout);

// An xgrad tensor in the entry's layout, and back.
Tensor to_layout(const LayoutEntry& e, const Tensor& value);
Tensor from_layout(const LayoutEntry& e, const Tensor& value);

// One float32 array per param and state of `g` (all must be in `weights`).
NpzArrays export_weights(const Graph& g, const Params& weights, WeightLayout layout);

// The params and states of `g` from `arrays` in `layout`. Strict: every array the layout expects
// must be there with its shape and finite values, and nothing else (torch's num_batches_tracked
// excepted); otherwise one Error "<source>: does not match the model (layout L): missing ...;
// unexpected ...; ... has shape ..., expected ..." lists every problem.
Params import_weights(const Graph& g, const NpzArrays& arrays, WeightLayout layout,
                      const std::string& source);

}  // namespace xgrad
