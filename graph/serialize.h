#pragma once
// The xgrad model format, versions 1 and 2 (models/FORMAT.md): graph, optional weights (and state
// values) and free-form meta in one JSON file. A graph with states is written as version 2, any
// other as version 1. Loading is validation: every error names the file and the JSON path. Writing
// is exact (float32 bits survive, save -> load -> save is byte-identical) and atomic.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/params.h"
#include "graph/tensor_json.h"  // the tensor codec, declared here before

namespace xgrad {

constexpr int kFormatVersion = 2;  // the newest version this build reads and writes
constexpr const char* kFormatName = "xgrad-model";
// Model files larger than this are refused before parsing (512 MiB; also after gzip decompression).
constexpr size_t kMaxModelBytes = size_t(1) << 29;

struct Model {
  Graph graph;
  Params weights;  // only the params and states that had values in the file
  nlohmann::json meta = nlohmann::json::object();
};

// Errors read "<path>: graph.nodes[3].inputs[1]: unknown name \"conv9.w\"". A `.gz` file (gzip
// magic bytes) is decompressed transparently.
Model load_model(const std::string& path);
// `source` is the file name used in errors.
Model model_from_json(const nlohmann::json& j, const std::string& source);

// `weights` may be null (architecture only); when given, every entry must be a param or state of
// `g` with its shape and finite values. Throws Error otherwise.
nlohmann::json model_to_json(const Graph& g, const Params* weights, const nlohmann::json& meta);
// The exact bytes save_model writes (uncompressed).
std::string model_to_string(const Graph& g, const Params* weights, const nlohmann::json& meta);
// Atomic write; a path ending in ".gz" is gzip-compressed.
void save_model(const std::string& path, const Graph& g, const Params* weights, const nlohmann::json& meta);

}  // namespace xgrad
