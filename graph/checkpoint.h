#pragma once
// Training state on disk, format "xgrad-checkpoint" (format_version 2). Tensors (weights, states,
// optimizer buffers) are stored bit for bit as {"shape": [...], "data_b64": "..."} (graph/tensor_json.h),
// so a resumed run continues from exactly the numbers it stopped at. Version 1 files (tensors as
// "f32le", "version": 1) are still read.
#include <string>

#include <nlohmann/json.hpp>

#include "graph/train.h"

namespace xgrad {

constexpr const char* kCheckpointFormat = "xgrad-checkpoint";
constexpr int kCheckpointVersion = 2;
// Checkpoint files larger than this are refused before parsing (also after gzip decompression).
constexpr size_t kMaxCheckpointBytes = size_t(1) << 30;

// Everything a stopped run needs to continue exactly where it stopped.
struct Checkpoint {
  std::string model;  // graph name, checked on resume
  TrainConfig config;
  Params weights;            // every param (and state) of the graph
  nlohmann::json optimizer;  // Optimizer::state_to_json()
  Progress progress;
};

// Written by dump_json, the one JSON writer.
nlohmann::json checkpoint_to_json(const Checkpoint& c);
// Throws Error naming the JSON path of anything missing or malformed.
Checkpoint checkpoint_from_json(const nlohmann::json& j);
// Written atomically (temp file, fsync, rename): a crash leaves the previous checkpoint intact.
void save_checkpoint(const std::string& path, const Checkpoint& c);
Checkpoint load_checkpoint(const std::string& path);  // errors start with the path

}  // namespace xgrad
