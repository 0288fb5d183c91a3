#pragma once
// Keras weights from HDF5, in xgrad's layout and names. Two layouts exist:
//   Keras 2 (model.save("m.h5") under /model_weights, save_weights("w.h5") at the root): the
//     attribute layer_names lists the layers; each layer's group lists its variables in the
//     attribute weight_names (e.g. "conv2d/kernel:0", a dataset path inside the group). Layers
//     with weights are matched to the model's in order, as Keras' load_weights does.
//   Keras 3 (model.weights.h5 inside a .keras archive, or save_weights("x.weights.h5")):
//     /layers/<snake_case class name>[_<n>]/vars/<i>, the n-th layer of that class in the model's
//     layer list (a Sequential model's list leaves out its InputLayer), variables numbered in order.
#include <string>

#include "core/hdf5.h"
#include "graph/keras_graph.h"

namespace xgrad {

// Every Keras variable of `kg`, converted; throws Error naming the file, the HDF5 path and the
// layer on a missing, extra or mis-shaped variable.
Params read_keras_weights(const hdf5::Group& root, const KerasGraph& kg, bool sequential);

}  // namespace xgrad
