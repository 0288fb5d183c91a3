#pragma once
// ONNX both ways, through Debian's ONNX library (its generated protobuf classes, checker and shape
// inference). Optional at build time: without it every function here throws an Error saying so.
//
// Export: the graph up to its inference output ("logits" or "probs"), the loss and labels left out;
// a dynamic batch dimension "N"; weights (and states) as initializers; xgrad's node and tensor
// names kept; producer "xgrad" and the model's meta in metadata_props. An op with no exact ONNX
// form at the chosen opset is an Error naming the node.
//
// Import: files written by torch.onnx.export (opsets 11-17) and tf2onnx (NCHW), fixed or dynamic
// batch. Initializers become params with their names; exporter plumbing that computes constants
// (Constant, zero Pad, Shape/Gather/Unsqueeze/Concat shape chains) is folded. Anything else xgrad
// cannot express is an Error naming the node and its op type.
#include <string>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/params.h"
#include "graph/serialize.h"

namespace xgrad {

constexpr int kOnnxMinOpset = 11;
constexpr int kOnnxMaxOpset = 17;  // the newest opset of ONNX 1.12

// False when xgrad was built without ONNX.
bool onnx_available();

struct OnnxExportOptions {
  int opset = 13;
  std::string output;  // the output role to export; empty: "logits" if the graph has it, else "probs"
};

// The serialized ModelProto, checked by onnx::checker with full shape inference. `weights` must hold
// every param (and state) the exported output depends on.
std::string onnx_export_bytes(const Graph& g, const Params& weights, const nlohmann::json& meta,
                              const OnnxExportOptions& options = {});
// Atomic write of onnx_export_bytes.
void export_onnx(const std::string& path, const Graph& g, const Params& weights, const nlohmann::json& meta,
                 const OnnxExportOptions& options = {});

struct OnnxImportOptions {
  // The name given to the model's one float input (xgrad train and eval feed "image"); empty keeps
  // the ONNX name. The original name is kept in meta.onnx.inputs.
  std::string input_name = "image";
  // Adds int32 input `label_name` and output "loss" = softmax_cross_entropy(logits, label), so the
  // model trains as it is. Only when the model's output is logits (not probabilities).
  bool add_loss = true;
  std::string label_name = "label";
};

// `source` names the file in errors: "m.onnx: node 3 \"Conv_7\" (Conv): ...".
Model onnx_import_bytes(const std::string& bytes, const std::string& source,
                        const OnnxImportOptions& options = {});
Model import_onnx(const std::string& path, const OnnxImportOptions& options = {});

}  // namespace xgrad
