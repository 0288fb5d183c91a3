// Loading is validation: every malformed model is rejected with the file name, the JSON path and
// what was expected vs found. Each case mutates one field of a small valid model (envelope, shapes,
// ops, names); test_serialize_reject_data.cpp has weights and whole-file cases.
#include <doctest/doctest.h>

#include "tests/test_serialize_cases.h"

using namespace xgrad;
using test::at;
using test::check_cases;
using test::valid_model;
using json = nlohmann::json;

TEST_CASE("the valid base model loads") {
  const Model m = model_from_json(valid_model(), "m.json");
  CHECK(m.graph.node(m.graph.id("fc")).info.shape == Shape{-1, 3});
  CHECK(m.weights.size() == 1);
  CHECK(m.weights.at("conv.b")(1) == -0.5f);
}

TEST_CASE("reject: envelope (format, version, fields)") {
  check_cases({
      {"wrong format",
       [](json& j) { j["format"] = "onnx"; },
       {"format: expected \"xgrad-model\"", "\"onnx\""}},
      {"newer version",
       [](json& j) { j["format_version"] = 3; },
       {"format_version", "written by a newer xgrad"}},
      {"version 0", [](json& j) { j["format_version"] = 0; }, {"format_version: expected 1 to 2, found 0"}},
      {"version as string",
       [](json& j) { j["format_version"] = "1"; },
       {"format_version: expected an integer"}},
      {"missing graph", [](json& j) { j.erase("graph"); }, {"missing field \"graph\""}},
      {"unknown top-level field", [](json& j) { j["weigths"] = json::object(); }, {"weigths: unknown field"}},
      {"meta not an object", [](json& j) { j["meta"] = json::array(); }, {"meta: expected an object"}},
      {"name not a string", [](json& j) { j["name"] = 3; }, {"name: expected a string"}},
      {"missing nodes", [](json& j) { at(j, "/graph").erase("nodes"); }, {"graph: missing field \"nodes\""}},
      {"node without op",
       [](json& j) { at(j, "/graph/nodes/1").erase("op"); },
       {"graph.nodes[1]: missing field \"op\""}},
      {"typo in node",
       [](json& j) { at(j, "/graph/nodes/2/atrs") = json::object(); },
       {"graph.nodes[2].atrs: unknown field"}},
      {"input without shape",
       [](json& j) { at(j, "/graph/inputs/0").erase("shape"); },
       {"graph.inputs[0]: missing field \"shape\""}},
      {"unknown dtype",
       [](json& j) { at(j, "/graph/inputs/1/dtype") = "float64"; },
       {"graph.inputs[1].dtype", "float64"}},
      {"unknown init",
       [](json& j) { at(j, "/graph/params/1/init") = "magic"; },
       {"graph.params[1].init", "magic"}},
      {"param without init",
       [](json& j) { at(j, "/graph/params/1").erase("init"); },
       {"graph.params[1]: missing field \"init\""}},
      {"nodes not an array",
       [](json& j) { at(j, "/graph/nodes") = json::object(); },
       {"graph.nodes: expected an array"}},
      {"inputs list holds a name",
       [](json& j) { at(j, "/graph/nodes/1/inputs/0") = 3; },
       {"graph.nodes[1].inputs[0]: expected a name"}},
  });
}

TEST_CASE("reject: dimensions and shapes") {
  check_cases({
      {"2.7",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = 2.7; },
       {"graph.inputs[0].shape[2]", "expected an integer dimension", "2.7"}},
      {"\"4\"",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = "4"; },
       {"graph.inputs[0].shape[2]", "the string \"4\""}},
      {"true",
       [](json& j) { at(j, "/graph/params/0/shape/0") = true; },
       {"graph.params[0].shape[0]", "found true"}},
      {"null",
       [](json& j) { at(j, "/graph/params/0/shape/0") = nullptr; },
       {"graph.params[0].shape[0]", "found null"}},
      {"6.0 is not an integer",
       [](json& j) { at(j, "/graph/inputs/0/shape/2") = 6.0; },
       {"graph.inputs[0].shape[2]"}},
      {"zero",
       [](json& j) { at(j, "/graph/params/1/shape/0") = 0; },
       {"graph.params[1].shape[0]: expected a positive dimension, found 0"}},
      {"negative",
       [](json& j) { at(j, "/graph/params/1/shape/0") = -2; },
       {"graph.params[1].shape[0]", "found -2"}},
      {"batch in a param",
       [](json& j) { at(j, "/graph/params/1/shape/0") = -1; },
       {"graph.params[1].shape[0]", "found -1"}},
      {"batch not leading",
       [](json& j) { at(j, "/graph/inputs/0/shape/1") = -1; },
       {"graph.inputs[0].shape[1]", "found -1"}},
      {"over 2^31 elements",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {65536, 65536};
       },
       {"graph.params[1].shape", "more than 2^31"}},
      {"overflows int64",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {int64_t(1) << 32, int64_t(1) << 32, int64_t(1) << 32};
       },
       {"graph.params[1].shape", "more than 2^31"}},
      {"zero after huge dims",
       [](json& j) {
         at(j, "/graph/params/1/shape") = {int64_t(1) << 32, int64_t(1) << 32, 0};
       },
       {"graph.params[1].shape[2]", "positive"}},
      {"beyond int64",
       [](json& j) { at(j, "/graph/params/1/shape/0") = uint64_t(1) << 63; },
       {"graph.params[1].shape[0]", "too large"}},
      {"shape not an array",
       [](json& j) { at(j, "/graph/params/1/shape") = 2; },
       {"graph.params[1].shape: expected a shape"}},
      {"shapes do not fit",
       [](json& j) { at(j, "/graph/params/2/shape/0") = 7; },
       {"graph.nodes[4]", "fc", "matmul", "[-1, 8]", "[7, 3]"}},
  });
}

TEST_CASE("reject: ops and attributes") {
  check_cases({
      {"unknown op",
       [](json& j) { at(j, "/graph/nodes/1/op") = "gelux"; },
       {"graph.nodes[1].op: unknown op \"gelux\"", "relu", "gelu"}},
      {"unknown attribute",
       [](json& j) { at(j, "/graph/nodes/0/attrs/strides") = 1; },
       {"graph.nodes[0].attrs.strides: unknown attribute"}},
      {"missing kernel",
       [](json& j) { at(j, "/graph/nodes/2/attrs") = json::object(); },
       {"graph.nodes[2].attrs.kernel: required"}},
      {"stride as string",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = "2"; },
       {"graph.nodes[0].attrs.stride", "\"2\""}},
      {"stride 2.5",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = 2.5; },
       {"graph.nodes[0].attrs.stride"}},
      {"kernel 0",
       [](json& j) { at(j, "/graph/nodes/2/attrs/kernel") = 0; },
       {"graph.nodes[2].attrs.kernel"}},
      {"stride 0",
       [](json& j) {
         at(j, "/graph/nodes/0/attrs/stride") = {1, 0};
       },
       {"graph.nodes[0].attrs.stride"}},
      {"negative padding",
       [](json& j) { at(j, "/graph/nodes/0/attrs/padding") = -1; },
       {"graph.nodes[0].attrs.padding"}},
      {"huge unsigned attr",
       [](json& j) { at(j, "/graph/nodes/0/attrs/stride") = uint64_t(1) << 63; },
       {"graph.nodes[0].attrs.stride", "too large"}},
      {"window larger than input",
       [](json& j) { at(j, "/graph/nodes/2/attrs/kernel") = 5; },
       {"graph.nodes[2]", "pool", "larger than the padded input"}},
      {"attrs not an object",
       [](json& j) { at(j, "/graph/nodes/0/attrs") = json::array(); },
       {"graph.nodes[0].attrs: expected an object"}},
      {"wrong input count",
       [](json& j) {
         at(j, "/graph/nodes/1/inputs") = {"conv", "conv"};
       },
       {"graph.nodes[1]", "act", "expected 1 inputs, found 2"}},
  });
}

TEST_CASE("reject: names, references, cycles, outputs") {
  check_cases({
      {"unknown name",
       [](json& j) { at(j, "/graph/nodes/0/inputs/1") = "conv9.w"; },
       {"graph.nodes[0].inputs[1]: unknown name \"conv9.w\""}},
      {"duplicate input names",
       [](json& j) { at(j, "/graph/inputs/1/name") = "image"; },
       {"graph.inputs[1].name: duplicate name \"image\"", "graph.inputs[0]"}},
      {"node named like a param",
       [](json& j) { at(j, "/graph/nodes/1/name") = "fc.w"; },
       {"graph.nodes[1].name: duplicate name \"fc.w\"", "graph.params[2]"}},
      {"empty name", [](json& j) { at(j, "/graph/nodes/1/name") = ""; }, {"graph.nodes[1].name", "empty"}},
      {"self-loop",
       [](json& j) { at(j, "/graph/nodes/1/inputs/0") = "act"; },
       {"graph.nodes[1].inputs[0]", "\"act\" reads itself"}},
      {"cycle",
       [](json& j) { at(j, "/graph/nodes/0/inputs/0") = "pool"; },
       {"form a cycle", "\"conv\"", "\"act\"", "\"pool\""}},
      {"output names unknown node",
       [](json& j) { at(j, "/graph/outputs/logits") = "fc9"; },
       {"graph.outputs.logits: unknown node \"fc9\""}},
      {"output not a string",
       [](json& j) { at(j, "/graph/outputs/logits") = 1; },
       {"graph.outputs.logits: expected a node name"}},
      {"loss not a scalar",
       [](json& j) { at(j, "/graph/outputs/loss") = "fc"; },
       {"graph.outputs.loss", "[-1, 3]", "scalar"}},
  });
}
