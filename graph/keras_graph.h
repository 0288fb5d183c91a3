#pragma once
// A Keras model (graph/keras_config.h) as an xgrad graph. Keras is NHWC, xgrad NCHW: image tensors
// are transposed at the input, conv kernels are read HWIO -> OIHW, and a Dense fed by a Flatten of
// an image has its kernel rows permuted from H,W,C to C,H,W order. Params and states are named
// "<Keras layer>.<role>" (conv2d.w, conv2d.b, batch_normalization.gamma, ...). The single data
// input is "image" and the labels/targets "label", as xgrad's trainer expects; the outputs are
// "logits"/"probs" (or "output") and "loss".
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/keras_config.h"
#include "graph/params.h"

namespace xgrad {

// Where one Keras variable goes in xgrad.
struct KerasWeightSlot {
  enum class Layout {
    AsIs,           // vectors and Dense kernels [in, out]
    ConvHWIO,       // Conv2D kernel [kh, kw, in/groups, out] -> [out, in/groups, kh, kw]
    DepthwiseHWCM,  // DepthwiseConv2D kernel [kh, kw, C, M] -> [C*M, 1, kh, kw]
    DenseRowsHWC,   // Dense kernel after Flatten: rows in H,W,C order -> C,H,W order
  };
  std::string role;   // the Keras variable: kernel, bias, gamma, beta, moving_mean, ...
  std::string param;  // xgrad param or state name
  Shape keras_shape;  // the shape Keras stores
  Layout layout = Layout::AsIs;
  Shape hwc;  // DenseRowsHWC: the flattened image [H, W, C]
};

// Every layer of the model (in the config's order) with its variables in Keras' order
// (trainable then non-trainable, as Keras writes them).
struct KerasLayerWeights {
  std::string layer, class_name, where;
  std::vector<KerasWeightSlot> slots;
};

struct KerasGraph {
  Graph graph;
  std::vector<KerasLayerWeights> layers;
  std::vector<std::string> notes;  // choices the user should know about (the loss picked, ignored fields)
};

KerasGraph keras_to_graph(const KerasModel& model);

// A Keras variable's values in xgrad's layout; throws Error naming `where` if the shape differs.
Tensor keras_to_xgrad(const KerasWeightSlot& slot, const Tensor& keras_values, const std::string& where);

}  // namespace xgrad
