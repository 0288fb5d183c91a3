#pragma once
// The one contract every op implements. Ops are stateless: forward and backward are const and
// pure. Anything an op wants to keep from forward to backward (pool argmax, im2col columns) lives
// in a Workspace that the engine owns per node and hands back, so buffers are reused across steps.
#include <cstdint>
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

// Training normalizes with batch statistics and drops units; evaluation uses the stored state.
enum class Mode { Train, Eval };

// The run a forward or backward pass belongs to, for the few ops that behave differently by mode
// (batch_norm, dropout) or draw random numbers (dropout). Other ops never see it.
struct RunContext {
  Mode mode = Mode::Eval;
  bool keep_for_backward = false;  // backward follows: keep what it needs in the workspace
  uint64_t seed = 0;               // the run's seed
  uint64_t step = 0;               // training steps so far: a fresh dropout mask every step
  uint64_t node = 0;               // the node's id: different masks for different nodes
  uint64_t sample_offset = 0;      // index of the batch's first sample in the global batch (a
                                   // data-parallel shard), so a sample's mask is the same either way
};

// One slot per op input: the state tensor to update for inputs that are state nodes, else nullptr.
using States = std::vector<Tensor*>;

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

  // What the engine calls. Ops that depend on the mode or the seed override these; by default the
  // mode is ignored and `training` above means ctx.keep_for_backward.
  virtual void run_forward(const RunContext& ctx, const Inputs& in, Tensor& out, Workspace& ws) const {
    forward(in, out, ws, ctx.keep_for_backward);
  }
  virtual void run_backward(const RunContext& ctx, const Inputs& in, const Tensor& out,
                            const Tensor& grad_out, Workspace& ws, const Grads& grad_in) const {
    (void)ctx;
    backward(in, out, grad_out, ws, grad_in);
  }
  // Train mode only, after the whole forward pass: ops that read state inputs (batch norm's running
  // statistics) write their new values into `states`, which start as the values the forward read.
  virtual void update_states(const RunContext& ctx, const Inputs& in, const Tensor& out, const Workspace& ws,
                             const States& states) const {
    (void)ctx, (void)in, (void)out, (void)ws, (void)states;
  }
  // Whether input `slot` must be a state node: one the op updates itself (batch norm's running
  // statistics). A param there would be trained by the optimizer and never updated by the op.
  virtual bool reads_state(size_t slot) const {
    (void)slot;
    return false;
  }
  // The kernel forward would use for these inputs on this CPU ("" for ops with one way to run), for
  // `xgrad summary --kernels` and the bench.
  virtual std::string kernel_name(const std::vector<ValueInfo>& in) const {
    (void)in;
    return "";
  }
};

// Base of ops whose result depends on the mode (batch_norm, dropout): they implement the RunContext
// entry points, and the plain ones run in train mode when `training` (else eval).
class ModeDependentOp : public Op {
 public:
  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool training) const final {
    run_forward({training ? Mode::Train : Mode::Eval, training}, in, out, ws);
  }
  void backward(const Inputs& in, const Tensor& out, const Tensor& grad_out, Workspace& ws,
                const Grads& grad_in) const final {
    run_backward({Mode::Train, true}, in, out, grad_out, ws, grad_in);
  }
  void run_forward(const RunContext& ctx, const Inputs& in, Tensor& out, Workspace& ws) const override = 0;
  void run_backward(const RunContext& ctx, const Inputs& in, const Tensor& out, const Tensor& grad_out,
                    Workspace& ws, const Grads& grad_in) const override = 0;
};

}  // namespace xgrad
