// Keras import: bad inputs get one clear error naming the file, the layer, its class and the field.
#include <doctest/doctest.h>

#include "core/hdf5.h"
#include "core/json_io.h"
#include "core/zip.h"
#include "graph/keras_config.h"
#include "graph/keras_import.h"
#include "tests/cli.h"
#include "tests/keras_fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;

namespace {

// The K2_4 LeNet with one change: layers[i].config[key] = value (null value: the key removed).
json lenet_with(size_t i, const std::string& key, const json& value) {
  json j = keras_lenet_config(KerasGen::K2_4);
  json& config = j["config"]["layers"][i]["config"];
  if (value.is_null())
    config.erase(key);
  else
    config[key] = value;
  return j;
}

std::string import_error(const json& config) {
  try {
    import_keras_model(parse_keras_model(config, "m.json"), nullptr);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("keras: bad configs name the file, the layer, its class and the field") {
  const std::string conv1 = "m.json: layer \"conv1\" (Conv2D) at config.layers[1]: ";
  CHECK(import_error(lenet_with(1, "kernel_size", nullptr)) == conv1 + "kernel_size: missing");
  CHECK(import_error(lenet_with(1, "filters", "6")) ==
        conv1 + "filters: expected an integer, found the string \"6\"");
  CHECK(import_error(lenet_with(1, "padding", "causal")) ==
        conv1 + "padding: expected \"valid\" or \"same\", found \"causal\"");
  CHECK(import_error(lenet_with(1, "data_format", "channels_first")) ==
        conv1 + "data_format: only \"channels_last\" is supported, found \"channels_first\"");
  CHECK(import_error(lenet_with(1, "activation", "relu6"))
            .rfind(conv1 + "activation: unsupported activation \"relu6\"", 0) == 0);
  CHECK(import_error(lenet_with(1, "kernel_initializer", "lecun_normal"))
            .rfind(conv1 + "kernel_initializer: unsupported initializer", 0) == 0);
  CHECK(import_error(lenet_with(1, "groups", 4)).rfind(conv1 + "groups: 4 does not divide", 0) == 0);
  CHECK(import_error(lenet_with(6, "units", 0)) ==
        "m.json: layer \"fc1\" (Dense) at config.layers[6]: units: expected a positive integer");

  json lstm = keras_lenet_config(KerasGen::K2_4);
  lstm["config"]["layers"][2] = {{"class_name", "LSTM"}, {"config", {{"name", "lstm"}, {"units", 4}}}};
  CHECK(import_error(lstm).rfind(
            "m.json: layer \"lstm\" (LSTM) at config.layers[2]: class_name: unsupported layer class \"LSTM\"",
            0) == 0);

  json no_name = keras_lenet_config(KerasGen::K2_4);
  no_name["config"]["layers"][3]["config"].erase("name");
  CHECK(import_error(no_name) ==
        "m.json: config.layers[3].config.name: expected the layer's name (a non-empty string)");

  CHECK(import_error({{"class_name", "LSTM"}, {"config", json::object()}}) ==
        "m.json: class_name: expected a model (Sequential, Functional or Model), found \"LSTM\"");
  CHECK(import_error(json::object()) == "m.json: missing field \"class_name\"");

  json input = keras_lenet_config(KerasGen::K2_4);
  input["config"]["layers"][0]["config"]["batch_input_shape"] = {nullptr, nullptr, 28, 1};
  CHECK(import_error(input).find("batch_shape: expected fixed positive sizes") != std::string::npos);

  json loss = keras_lenet_config(KerasGen::K2_4);
  loss["compile_config"] = {{"loss", "hinge"}};
  CHECK(import_error(loss).rfind("m.json: loss: unsupported loss \"hinge\"", 0) == 0);

  json reshape = keras_lenet_config(KerasGen::K2_4);
  reshape["config"]["layers"][5] = {{"class_name", "Reshape"},
                                    {"config", {{"name", "r"}, {"target_shape", {256}}}}};
  CHECK(import_error(reshape).find("(Reshape) at config.layers[5]: target_shape: reshaping [4, 4, 16]") !=
        std::string::npos);
}

TEST_CASE("keras: functional graphs that cannot be resolved") {
  json bad = {{"class_name", "Functional"},
              {"config",
               {{"name", "f"},
                {"layers",
                 {{{"class_name", "InputLayer"},
                   {"name", "x"},
                   {"config", {{"batch_input_shape", {nullptr, 4}}}},
                   {"inbound_nodes", json::array()}},
                  {{"class_name", "Dense"},
                   {"name", "d"},
                   {"config", {{"units", 2}}},
                   {"inbound_nodes", {{{"nowhere", 0, 0, json::object()}}}}}}},
                {"input_layers", {{"x", 0, 0}}},
                {"output_layers", {{"d", 0, 0}}}}}};
  CHECK(import_error(bad).find(
            "layer \"d\" (Dense) at config.layers[1]: inbound_nodes[0]: its inputs never become available") !=
        std::string::npos);
  bad["config"]["layers"][1]["inbound_nodes"] = json::array({json::array({json::array({"x", 0})})});
  CHECK(import_error(bad) ==
        "m.json: config.layers[1].inbound_nodes[0][0]: expected [layer name, node index, tensor index, "
        "kwargs]");
}

TEST_CASE("keras: bad files" * doctest::skip(!hdf5::available())) {
  TempDir dir;
  const Params w = keras_lenet_weights(1);
  auto error_of = [](const std::string& path, const std::string& weights = "") {
    try {
      import_keras(path, weights);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  SUBCASE("a truncated HDF5 file") {
    write_keras2_h5(dir.path("m.h5"), keras_lenet_config(KerasGen::K2_4), w, true);
    const std::string bytes = read_text_file(dir.path("m.h5"));
    const std::string cut = dir.write("cut.h5", bytes.substr(0, bytes.size() / 2));
    CHECK(error_of(cut).rfind(cut + ": ", 0) == 0);
  }
  SUBCASE("a weights file given as the model") {
    write_keras2_h5(dir.path("w.h5"), json(), w, false);
    CHECK(error_of(dir.path("w.h5")).find("no \"model_config\" attribute: this is a weights file") !=
          std::string::npos);
  }
  SUBCASE("weights of another model: shapes and layer counts") {
    write_keras2_h5(dir.path("w.h5"), json(), w, false);
    const std::string wider = dir.write("m.json", lenet_with(1, "filters", 8).dump());
    CHECK(error_of(wider, dir.path("w.h5")) ==
          dir.path("w.h5") +
              ": /conv1/conv1/kernel:0: shape [5, 5, 1, 6] but conv1.w needs [5, 5, 1, 8] (Keras layout)");
    json fewer = keras_lenet_config(KerasGen::K2_4);
    fewer["config"]["layers"].erase(8);
    CHECK(error_of(dir.write("f.json", fewer.dump()), dir.path("w.h5")).find("weights for 5 layers") !=
          std::string::npos);
  }
  SUBCASE("broken .keras archives") {
    if (!zip_available()) return;
    write_zip(dir.path("no-config.keras"), {{"metadata.json", "{}"}}, true);
    CHECK(error_of(dir.path("no-config.keras")).find("config.json") != std::string::npos);
    write_zip(dir.path("bad-h5.keras"),
              {{"config.json", keras_lenet_config(KerasGen::K3).dump()},
               {"model.weights.h5", "\x89HDF\r\n\x1a\ngarbage"}},
              false);
    CHECK(error_of(dir.path("bad-h5.keras")).rfind(dir.path("bad-h5.keras") + ": model.weights.h5: ", 0) ==
          0);
    const std::string zip = read_text_file(dir.path("no-config.keras"));
    CHECK(error_of(dir.write("cut.keras", zip.substr(0, 20))).rfind(dir.path("cut.keras"), 0) == 0);
  }
}

TEST_CASE("keras: xgrad import-keras writes the model, or says what is wrong and writes nothing") {
  TempDir dir;
  dir.write("m.json", keras_lenet_config(KerasGen::K3).dump());
  CliRun ok = run_xgrad(dir.path(""), "import-keras m.json --out lenet.json");
  CHECK(ok.status == 0);
  CHECK(ok.err.find("xgrad: note: categorical_crossentropy") != std::string::npos);
  CHECK(load_model(dir.path("lenet.json")).graph.params().size() == 10);

  dir.write("bad.json", lenet_with(1, "padding", "causal").dump());
  CliRun bad = run_xgrad(dir.path(""), "import-keras bad.json --out bad-out.json");
  CHECK(bad.status != 0);
  CHECK(bad.err ==
        "xgrad: error: bad.json: layer \"conv1\" (Conv2D) at config.layers[1]: padding: expected \"valid\" "
        "or \"same\", found \"causal\"\n");
  CHECK(!std::filesystem::exists(dir.path("bad-out.json")));
}
