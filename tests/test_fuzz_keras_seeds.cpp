// The Keras fuzz targets' seeds, written from the Keras test fixtures: config JSON of every
// generation, a Keras 2 .h5 model and a Keras 3 .keras archive of the conv + batch-norm + dense
// fixture, and broken variants. Each seed is checked like tests/test_fuzz_corpus.cpp checks the
// committed ones. With XGRAD_WRITE_FUZZ_SEEDS=DIR set (tests/fuzz/make_seeds.py does) they are
// written into DIR/corpus/<target>/ to be committed; otherwise into a temp directory.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "core/hdf5.h"
#include "core/json_io.h"
#include "core/zip.h"
#include "tests/fuzz/targets.h"
#include "tests/keras_fixtures.h"
#include "tests/test_serialize_util.h"

using namespace xgrad;
using namespace xgrad::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const char* const kGenNames[] = {"k2_0", "k2_2", "k2_4", "k2_13", "k3"};

class SeedWriter {
 public:
  explicit SeedWriter(const fs::path& root) : root_(root) {}
  void write(const std::string& target, const std::string& name, const std::string& bytes) {
    fs::create_directories(root_ / target);
    write_file_atomic((root_ / target / name).string(), bytes);
    INFO("seed " << target << "/" << name);
    const fuzz::Target* t = fuzz::find_target(target);
    REQUIRE(t);
    const std::string refused =
        fuzz::run_target(*t, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (name.rfind("valid-", 0) == 0) CHECK(refused == "");
    if (name.rfind("bad-", 0) == 0) CHECK(refused != "");
  }

 private:
  fs::path root_;
};

void json_seeds(SeedWriter& out) {
  for (KerasGen gen : kKerasGens)
    out.write("keras_json", std::string("valid-bn-") + kGenNames[int(gen)] + ".json",
              keras_bn_config(gen).dump());
  json lstm = keras_bn_config(KerasGen::K2_4);
  lstm["config"]["layers"][3] = {{"class_name", "LSTM"}, {"config", {{"name", "lstm"}, {"units", 4}}}};
  out.write("keras_json", "bad-unknown-layer.json", lstm.dump());
  json axis = keras_bn_config(KerasGen::K3);
  axis["config"]["layers"][2]["config"]["axis"] = 1;
  out.write("keras_json", "bad-bn-axis.json", axis.dump());
  out.write("keras_json", "bad-truncated.json", keras_bn_config(KerasGen::K2_13).dump().substr(0, 900));
}

std::string keras_archive(const TempDir& dir, const json& config, bool with_weights) {
  std::vector<ZipEntry> entries = {{"metadata.json", R"({"keras_version": "3.6.0"})"},
                                   {"config.json", config.dump()}};
  if (with_weights) {
    write_keras3_weights(dir.path("model.weights.h5"), keras_bn_vars(keras_bn_weights(1)));
    entries.push_back({"model.weights.h5", read_text_file(dir.path("model.weights.h5"))});
  }
  return zip_bytes(entries, true);
}

void file_seeds(SeedWriter& out) {
  TempDir dir;
  const std::vector<KerasVars> vars = keras_bn_vars(keras_bn_weights(1));
  write_keras2_h5(dir.path("m.h5"), keras_bn_config(KerasGen::K2_4), vars, true);
  const std::string h5 = read_text_file(dir.path("m.h5"));
  out.write("keras_h5", "valid-bn.h5", h5);
  out.write("keras_h5", "bad-truncated.h5", h5.substr(0, h5.size() / 2));
  write_keras2_h5(dir.path("w.h5"), json(), vars, false);
  out.write("keras_h5", "bad-weights-only.h5", read_text_file(dir.path("w.h5")));
  if (!zip_available()) return;
  const std::string archive = keras_archive(dir, keras_bn_config(KerasGen::K3), true);
  out.write("keras_archive", "valid-bn.keras", archive);
  out.write("keras_archive", "valid-config-only.keras",
            keras_archive(dir, keras_bn_config(KerasGen::K3), false));
  out.write("keras_archive", "bad-truncated.keras", archive.substr(0, archive.size() / 2));
  out.write("keras_archive", "bad-no-config.keras", zip_bytes({{"metadata.json", "{}"}}, false));
}

}  // namespace

TEST_CASE("fuzz seeds: the Keras targets' seeds come from the Keras fixtures" *
          doctest::skip(!hdf5::available())) {
  const char* dest = std::getenv("XGRAD_WRITE_FUZZ_SEEDS");
  TempDir scratch;
  SeedWriter out(dest && *dest ? fs::path(dest) / "corpus" : fs::path(scratch.path("corpus")));
  json_seeds(out);
  file_seeds(out);
}
