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

// Every param's and state's values: those in `given`, the rest from their init spec. Draws with
// Rng(seed) in init_params' order (discarding the draws of given ones), so a missing one gets the
// same values as init_params(g, Rng(seed)) would give it.
Params complete_weights(const Graph& g, const Params& given, uint64_t seed);

// Tensor <-> {"shape": [...], "data": [...]}. The reader also takes {"shape", "data_b64"}: base64 of
// little-endian float32. `where` is the JSON path used in errors. Non-finite values are errors
// both ways.
nlohmann::json tensor_to_json(const Tensor& t);
Tensor tensor_from_json(const nlohmann::json& j, const std::string& where);

// A JSON shape: integers (no 2.7, "4", true or null), positive, -1 only as the leading dimension
// when `batch_allowed`, at most 2^31 elements in any order of multiplication.
Shape shape_from_json(const nlohmann::json& j, const std::string& where, bool batch_allowed);

}  // namespace xgrad
