#pragma once
// The small valid model that the rejection tests mutate one field at a time, and the table runner.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "graph/serialize.h"
#include "tests/test_serialize_util.h"

namespace xgrad::test {

using json = nlohmann::json;

// image [N,1,6,6] -> conv 2@3x3 [N,2,4,4] -> relu -> max pool 2 [N,2,2,2] -> flatten [N,8] -> fc [N,3]
inline json valid_model() {
  return json::parse(R"({
    "format": "xgrad-model", "format_version": 1, "name": "small",
    "graph": {
      "inputs": [{"name": "image", "shape": [-1, 1, 6, 6]}, {"name": "label", "shape": [-1], "dtype": "int32"}],
      "params": [{"name": "conv.w", "shape": [2, 1, 3, 3], "init": "glorot_uniform"},
                 {"name": "conv.b", "shape": [2], "init": "zeros"},
                 {"name": "fc.w", "shape": [8, 3], "init": {"type": "uniform", "low": -0.1, "high": 0.1}}],
      "nodes": [{"name": "conv", "op": "conv2d", "inputs": ["image", "conv.w", "conv.b"], "attrs": {"stride": 1}},
                {"name": "act", "op": "relu", "inputs": ["conv"]},
                {"name": "pool", "op": "max_pool2d", "inputs": ["act"], "attrs": {"kernel": 2}},
                {"name": "flat", "op": "flatten", "inputs": ["pool"]},
                {"name": "fc", "op": "matmul", "inputs": ["flat", "fc.w"]},
                {"name": "loss", "op": "softmax_cross_entropy", "inputs": ["fc", "label"]}],
      "outputs": {"logits": "fc", "loss": "loss"}
    },
    "weights": {"conv.b": {"shape": [2], "data": [0.5, -0.5]}},
    "meta": {}
  })");
}

struct Case {
  const char* what;
  std::function<void(json&)> mutate;
  std::vector<const char*> expected;  // substrings of the error message
};

inline json& at(json& j, const char* pointer) { return j[json::json_pointer(pointer)]; }

// Each case is written to a file and loaded, as a user's file would be.
inline void check_cases(const std::vector<Case>& cases) {
  TempDir dir;
  for (const Case& c : cases) {
    json j = valid_model();
    c.mutate(j);
    INFO(c.what);
    const std::string file = dir.write("m.json", j.dump());
    const std::string msg = test::error_of([&] { load_model(file); });
    INFO("message: " << msg);
    CHECK(msg.rfind(file + ": ", 0) == 0);
    for (const char* part : c.expected) CHECK(msg.find(part) != std::string::npos);
  }
}

}  // namespace xgrad::test
