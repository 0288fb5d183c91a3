// The node-count limit (kMaxGraphNodes): a graph never grows past it, and the model loader and the
// Keras importer refuse a file that declares more nodes before building any (the ONNX importer's
// case is in test_onnx_errors.cpp).
#include <doctest/doctest.h>

#include "graph/graph.h"
#include "graph/keras_config.h"
#include "graph/limits.h"
#include "graph/serialize.h"
#include "graph/tensor_json.h"
#include "tests/test_serialize_cases.h"

using namespace xgrad;
using nlohmann::json;

TEST_CASE("limits: a graph holds at most kMaxGraphNodes nodes") {
  Graph g;
  for (size_t i = 0; i < kMaxGraphNodes; ++i) g.add_input("x" + std::to_string(i), {-1, 1});
  CHECK_THROWS_WITH_AS(g.add_input("one_more", {-1, 1}), "more than 262144 nodes (kMaxGraphNodes)", Error);
  CHECK(size_t(g.size()) == kMaxGraphNodes);
}

TEST_CASE("limits: the model loader and the Keras importer count nodes before building them") {
  json model = test::valid_model();
  model["graph"]["params"] = json::array();
  for (size_t i = 0; i <= kMaxGraphNodes; ++i) model["graph"]["params"].push_back(nullptr);
  CHECK_THROWS_WITH_AS(model_from_json(model, "m.json"),
                       ("m.json: graph: " + std::to_string(kMaxGraphNodes + 9) +
                        " inputs, params, states and nodes, more than the limit of 262144")
                           .c_str(),
                       Error);
  const json keras = {{"class_name", "Sequential"}, {"config", {{"name", "s"}, {"layers", json::array()}}}};
  json big = keras;
  for (size_t i = 0; i <= kMaxGraphNodes; ++i) big["config"]["layers"].push_back(nullptr);
  CHECK_THROWS_WITH_AS(parse_keras_model(big, "k.json"),
                       "k.json: config.layers: 262145 layers, more than the limit of 262144 nodes", Error);
}

// Found by fuzzing the ONNX importer: an initializer of dims [.., 0, ..] whose other dims overflow
// passed as empty, and the tensor's strides then overflowed (tests/fuzz/regressions/onnx/).
TEST_CASE("limits: an empty shape whose other dimensions overflow is refused") {
  CHECK(checked_numel({0, 3, 5}) == 0);
  CHECK_THROWS_WITH_AS(checked_numel({int64_t(1) << 40, 0, int64_t(1) << 40}),
                       "shape [1099511627776, 0, 1099511627776] has more elements than can be counted",
                       Error);
}

TEST_CASE("limits: shapes of more than kMaxRank dimensions are refused before allocating") {
  json model = test::valid_model();
  model["graph"]["params"][1]["shape"] = std::vector<int>(kMaxRank + 1, 1);
  CHECK_THROWS_WITH_AS(model_from_json(model, "m.json"),
                       "m.json: graph.params[1].shape: 33 dimensions, more than the limit of 32", Error);
}
