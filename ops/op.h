#pragma once
// The one contract every op implements. Ops are stateless: forward and backward are const and
// pure. Anything an op wants to keep from forward to backward (pool argmax, im2col columns) lives
// in a Workspace that the engine owns per node and hands back, so buffers are reused across steps.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace xgrad {

using json = nlohmann::json;

// What is known about a value before it exists: its shape (-1 = batch of any size) and dtype.
struct ValueInfo {
  Shape shape;
  DType dtype = DType::Float32;
};

// Scratch space of one node, kept by the engine between forward and backward and across steps.
struct Workspace {
  std::vector<Tensor> tensors;
  std::vector<int32_t> indices;
};

using Inputs = std::vector<const Tensor*>;
// One slot per input: nullptr when that gradient is not wanted (labels, frozen or pruned inputs).
// An op resizes each wanted slot to its input's shape and overwrites it; it never accumulates.
using Grads = std::vector<Tensor*>;

struct Arity {
  int min;
  int max;
};

class Op {
 public:
  virtual ~Op() = default;

  // The op's one name: builder method, registry key, JSON "op" field, CLI and errors.
  virtual std::string_view type() const = 0;
  virtual Arity arity() const = 0;
  // Output shape (dtype is always float32) from input infos; -1 batch dims propagate. Throws Error
  // saying what was expected; the graph adds the node name and all shapes.
  virtual Shape infer_shape(const std::vector<ValueInfo>& in) const = 0;
  // `out` already has the inferred shape. `training` says backward will follow: keep what it needs.
  virtual void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const = 0;
  virtual void backward(const Inputs& in, const Tensor& out, const Tensor& grad_out, Workspace& ws,
                        const Grads& grad_in) const = 0;
  // Every attribute, defaults included, so a written graph says exactly what it computes.
  virtual json attrs() const { return json::object(); }
  // The kernel forward would use for these inputs on this CPU ("" for ops with one way to run), for
  // `xgrad summary --kernels` and the bench.
  virtual std::string kernel_name(const std::vector<ValueInfo>& in) const {
    (void)in;
    return "";
  }
};

}  // namespace xgrad
