#pragma once
// Shared between the reader's files; not part of the API.
#include <string>

#include <nlohmann/json.hpp>

#include "graph/graph.h"

namespace xgrad {

// The "graph" section at JSON path `path` of a file of format `version`; errors carry the JSON path
// (not the file name).
Graph graph_from_json(const nlohmann::json& j, const std::string& path, const std::string& name, int version);

}  // namespace xgrad
