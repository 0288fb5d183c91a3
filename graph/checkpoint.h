#pragma once
// Training state on disk. Tensors in a checkpoint are stored bit for bit: little-endian float32
// bytes in base64 ({"shape": [...], "f32le": "..."}), so a resumed run continues from exactly the
// numbers it stopped at (NaN and Inf included), unlike decimal text.
#include <string>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/tensor.h"
#include "graph/train.h"

namespace xgrad {

nlohmann::json tensor_to_state(const Tensor& t);
// Throws Error naming `where` when the object is malformed or its byte count does not fit the shape.
Tensor tensor_from_state(const nlohmann::json& j, const std::string& where);

// Everything a stopped run needs to continue exactly where it stopped.
struct Checkpoint {
  std::string model;  // graph name, checked on resume
  TrainConfig config;
  Params weights;
  nlohmann::json optimizer;  // Optimizer::state_to_json()
  Progress progress;
};

nlohmann::json checkpoint_to_json(const Checkpoint& c);
// Throws Error naming the JSON path of anything missing or malformed.
Checkpoint checkpoint_from_json(const nlohmann::json& j);
// Written atomically (temp file, fsync, rename): a crash leaves the previous checkpoint intact.
void save_checkpoint(const std::string& path, const Checkpoint& c);
Checkpoint load_checkpoint(const std::string& path);  // errors start with the path

}  // namespace xgrad
