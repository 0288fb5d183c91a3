// `xgrad export --npz` and `xgrad import-weights` as a user runs them: exact round trips in every
// layout, strict imports that write nothing, and (with python3-torch) a trained LeNet's torch-layout
// export loaded into an nn.Module that predicts what xgrad predicts.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "core/dataset.h"
#include "core/json_io.h"
#include "core/npz.h"
#include "core/zip.h"
#include "graph/engine.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"
#include "tests/paths.h"
#include "tests/python.h"

using namespace xgrad;
namespace fs = std::filesystem;

namespace {

// A relu LeNet trained for two epochs on a tiny Fashion-like set, in `dir`/trained.json.
void train_lenet(const TempDir& dir) {
  fs::create_directories(dir.file("data"));
  write_fashion_like_dir(dir.file("data"), 100, 30, 5);
  save_model(dir.file("lenet.json"), lenet("relu"), nullptr, nlohmann::json::object());
  const auto r = test::run_xgrad(dir.path(),
                                 "train --model lenet.json --data data --out trained.json --epochs 2 --batch "
                                 "10 --optimizer adam --lr 0.01 --threads 1");
  INFO(r.err);
  REQUIRE(r.status == 0);
}

size_t argmax_row(const Tensor& t, size_t row) {
  const size_t k = size_t(t.shape()[1]);
  const float* p = t.data() + row * k;
  return size_t(std::max_element(p, p + k) - p);
}

}  // namespace

TEST_CASE("cli weights: export --npz then import-weights gives back the same model file") {
  if (!zip_available()) return;
  TempDir dir;
  train_lenet(dir);
  for (const char* layout : {"xgrad", "torch", "keras"}) {
    CAPTURE(layout);
    const std::string l = std::string(" --layout ") + layout;
    auto r = test::run_xgrad(dir.path(), "export --model trained.json --npz w.npz" + l);
    REQUIRE(r.status == 0);
    CHECK(r.out == std::string("10 arrays (") + layout + " layout) written to w.npz\n");
    r = test::run_xgrad(dir.path(), "import-weights --model lenet.json --npz w.npz --out back.json" + l);
    REQUIRE(r.status == 0);
    const Model a = load_model(dir.file("trained.json")), b = load_model(dir.file("back.json"));
    CHECK(a.weights == b.weights);
  }
  const NpzArrays torch = read_npz(dir.file("w.npz"));  // the last one: keras, in get_weights() order
  CHECK(torch.front().first == "conv1/kernel");
  CHECK(torch.front().second.shape == Shape{5, 5, 1, 6});
  CHECK(torch.back().first == "fc3/bias");
}

TEST_CASE("cli weights: bad imports and exports fail with one line and write nothing") {
  if (!zip_available()) return;
  TempDir dir;
  train_lenet(dir);
  REQUIRE(test::run_xgrad(dir.path(), "export --model trained.json --npz w.npz --layout torch").status == 0);
  auto r = test::run_xgrad(dir.path(), "import-weights --model lenet.json --npz w.npz --out m2.json");
  CHECK(r.status == 1);
  CHECK(
      r.err.rfind("xgrad: error: w.npz: does not match the model (layout xgrad): missing \"conv1.w\" [6, 1, "
                  "5, 5]; ",
                  0) == 0);
  CHECK(r.err.find("unexpected \"fc3.weight\" [10, 84]") != std::string::npos);
  CHECK(!fs::exists(dir.file("m2.json")));

  write_file_atomic(dir.file("junk.npz"), "PK junk");
  r = test::run_xgrad(dir.path(), "import-weights --model lenet.json --npz junk.npz --out m2.json");
  CHECK(r.err == "xgrad: error: junk.npz: not a zip archive (no valid end-of-central-directory record)\n");
  CHECK(!fs::exists(dir.file("m2.json")));

  r = test::run_xgrad(dir.path(), "export --model lenet.json --npz x.npz");
  CHECK(r.status == 1);
  CHECK(r.err.find("lenet.json: cannot export weights the model does not have") != std::string::npos);
  CHECK(!fs::exists(dir.file("x.npz")));
  r = test::run_xgrad(dir.path(), "export --model trained.json --npz x.npz --layout caffe");
  CHECK(r.err == "xgrad: error: unknown weight layout \"caffe\", expected xgrad, torch or keras\n");
}

TEST_CASE(
    "cli weights: PyTorch loads the torch-layout export of a trained LeNet and predicts the same [slow]") {
  const std::string python = test::python_with("numpy, torch");
  if (python.empty() || !zip_available()) {
    MESSAGE("skipped: no python3 with numpy and torch");
    return;
  }
  TempDir dir;
  train_lenet(dir);
  REQUIRE(test::run_xgrad(dir.path(), "export --model trained.json --npz w.npz --layout torch").status == 0);
  const Model m = load_model(dir.file("trained.json"));
  const Dataset test_set = Dataset::from_files(dir.file("data/t10k-images-idx3-ubyte.gz"),
                                               dir.file("data/t10k-labels-idx1-ubyte.gz"));
  Tensor images, labels;
  std::vector<uint32_t> order(test_set.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  test_set.batch(order, 0, order.size(), images, labels);
  Engine engine(m.graph);
  engine.forward({{"image", images}, {"label", labels}}, m.weights);
  const Tensor& logits = engine.value(m.graph.output("logits"));
  write_npy(dir.file("images.npy"), npy_from_tensor(images));

  const std::string script = test::source_dir() + "/tests/torch_peer.py";
  const std::string args = "'" + dir.file("trained.json") + "' '" + dir.file("w.npz") + "' '" +
                           dir.file("images.npy") + "' '" + dir.file("torch.npy") + "'";
  REQUIRE(std::system((python + " '" + script + "' " + args).c_str()) == 0);
  const Tensor torch_logits = npy_to_tensor(read_npy(dir.file("torch.npy")));
  REQUIRE(shape_of(torch_logits) == shape_of(logits));
  for (size_t i = 0; i < order.size(); ++i) CHECK(argmax_row(torch_logits, i) == argmax_row(logits, i));
  const float max_diff = xt::amax(xt::abs(torch_logits - logits))();
  MESSAGE("largest |torch - xgrad| logit difference: " << max_diff);
  CHECK(max_diff < 1e-4f);
}
