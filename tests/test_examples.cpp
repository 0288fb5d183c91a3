// The example programs of tools/examples run and print what d2l's convolution chapter prints.
#include <doctest/doctest.h>

#include <cmath>
#include <regex>
#include <string>

#include "tests/idx_writer.h"
#include "tests/paths.h"

using namespace xgrad;

namespace {

int run_example(const std::string& name, const std::string& args, std::string& output) {
  return test::run_command("'" + test::example_path(name) + "' " + args, output);
}

// The output without spaces and newlines, so xtensor's alignment does not matter.
std::string squeezed(const std::string& s) { return std::regex_replace(s, std::regex("[ \n]"), ""); }

}  // namespace

TEST_CASE("example conv_layers: d2l's cross-correlation, channel and pooling results") {
  std::string out;
  REQUIRE(run_example("conv_layers", "", out) == 0);
  const std::string s = squeezed(out);
  CHECK(s.find("corr2d:{{{{19.,25.},{37.,43.}}}}") != std::string::npos);
  CHECK(s.find("multi-inputchannels:{{{{56.,72.},{104.,120.}}}}") != std::string::npos);
  CHECK(s.find("multi-outputchannels:{{{{56.,72.},{104.,120.}},{{76.,100.},{148.,172.}},{{96.,128.},{192.,"
               "224.}}}}") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("1x1 conv vs matmul, largest difference: (\\S+)")));
  CHECK(std::stod(m[1]) < 1e-5);
  CHECK(s.find("maxpooling:{{{{4.,5.},{7.,8.}}}}") != std::string::npos);
  CHECK(s.find("averagepooling:{{{{2.,3.},{5.,6.}}}}") != std::string::npos);
  CHECK(s.find("maxpooling3x3,padding1,stride2:{{{{5.,7.},{13.,15.}}}}") != std::string::npos);
  CHECK(s.find("maxpooling(2,3),padding(0,1),stride(2,3):{{{{5.,7.},{13.,15.}}}}") != std::string::npos);
  CHECK(s.find("poolingtwochannels:{{{{5.,7.},{13.,15.}},{{6.,8.},{14.,16.}}}}") != std::string::npos);
}

TEST_CASE("example edge_detection: 10 steps at lr 3e-2 learn about [[1, -1]]") {
  std::string out;
  REQUIRE(run_example("edge_detection", "", out) == 0);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("epoch 2, loss ([0-9.]+)")));
  const double first = std::stod(m[1]);
  REQUIRE(std::regex_search(out, m, std::regex("epoch 10, loss ([0-9.]+)")));
  CHECK(std::stod(m[1]) < first / 10);
  REQUIRE(std::regex_search(out, m, std::regex("learned kernel: \\[\\[(\\S+), (\\S+)\\]\\]")));
  CHECK(std::stod(m[1]) == doctest::Approx(1.0).epsilon(0.1));
  CHECK(std::stod(m[2]) == doctest::Approx(-1.0).epsilon(0.1));
}

TEST_CASE("example lenet: trains on a small generated Fashion-MNIST and prints [loss, accuracy]") {
  TempDir dir;
  write_fashion_like_dir(dir.path(), 600, 100, 3);
  std::string out;
  REQUIRE(run_example("lenet", "'" + dir.path() + "' 600 2", out) == 0);
  CHECK(out.find("epoch 1/2: loss ") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("\n\\[([0-9.]+), ([0-9.]+)\\]\n")));
  CHECK(std::isfinite(std::stod(m[1])));
  CHECK(std::stod(m[2]) >= 0.0);
}

TEST_CASE("example custom_cnn: trains on a subset, saves, loads and predicts the same") {
  TempDir dir;
  write_fashion_like_dir(dir.path(), 300, 50, 4);
  std::string out;
  REQUIRE(run_example("custom_cnn", "'" + dir.path() + "' 300 '" + dir.file("cnn.json") + "'", out) == 0);
  CHECK(out.find("val_accuracy") != std::string::npos);
  CHECK(out.find("test image 7: ") != std::string::npos);
  CHECK(out.find("the loaded model predicts the same") != std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex("test accuracy ([0-9.]+)")));
  CHECK(std::stod(m[1]) > 0.5);  // 10 classes: chance is 0.1
}

TEST_CASE("examples lenet and custom_cnn: a missing data directory is one error line and exit 1") {
  TempDir dir;
  for (const std::string name : {"lenet", "custom_cnn"}) {
    std::string out;
    CHECK(run_example(name, "'" + dir.file("nowhere") + "'", out) == 1);
    CHECK(out.find(name + ": error: ") != std::string::npos);
    CHECK(out.find("nowhere") != std::string::npos);
  }
}
