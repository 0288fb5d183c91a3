#pragma once
// The inputs of one evaluation as JSON (the `xgrad run --inputs` file):
// {"input name": {"shape": [...], "data": [...]}, ...} with exactly the graph's inputs, each of a
// shape that fits the input's (-1: any batch size).
#include <string>

#include <nlohmann/json.hpp>

#include "graph/graph.h"
#include "graph/params.h"

namespace xgrad {

// Inputs files larger than this are refused before parsing (also after gzip decompression).
constexpr size_t kMaxFeedsBytes = size_t(1) << 29;

// Errors name the input ("image.shape: [2, 3] does not fit ...").
Feeds feeds_from_json(const nlohmann::json& j, const Graph& g);
// Errors start with the path.
Feeds load_feeds(const std::string& path, const Graph& g);

}  // namespace xgrad
