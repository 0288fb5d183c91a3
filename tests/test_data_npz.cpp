// Datasets beyond Fashion-MNIST: keras.datasets-like .npz files (an RGB 32x32 set in NHWC and NCHW,
// a tabular set with class ids or float targets) written by the test, the pixels checked where they
// land, every bad file an Error naming the file and the array, the model checked against the data,
// and `xgrad train`/`eval` on them.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/idx.h"
#include "core/json_io.h"
#include "core/npz.h"
#include "core/zip.h"
#include "graph/builder.h"
#include "graph/data_fit.h"
#include "graph/params.h"
#include "graph/serialize.h"
#include "models/lenet.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"

using namespace xgrad;

namespace {

// n images [n, 32, 32, 3] whose byte at (i, h, w, c) is (i + 3h + 5w + 7c) % 256, labels i % classes.
NpzArrays rgb_arrays(int64_t n_train, int64_t n_test, int64_t classes) {
  auto images = [](int64_t n) {
    std::vector<uint8_t> v;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < 32; ++h)
        for (int64_t w = 0; w < 32; ++w)
          for (int64_t c = 0; c < 3; ++c) v.push_back(uint8_t((i + 3 * h + 5 * w + 7 * c) % 256));
    return npy_uint8({n, 32, 32, 3}, v);
  };
  auto labels = [&](int64_t n) {
    std::vector<uint8_t> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(uint8_t(i % classes));
    return npy_uint8({n, 1}, v);  // CIFAR's y is [N, 1]
  };
  return {{"x_train", images(n_train)},
          {"y_train", labels(n_train)},
          {"x_test", images(n_test)},
          {"y_test", labels(n_test)}};
}

NpyArray floats(const Shape& shape, float start) {
  Tensor t = make_tensor(shape);
  for (size_t i = 0; i < t.size(); ++i) t.data()[i] = start + 0.25f * float(i % 8);
  return npy_from_tensor(t);
}

std::string load_error(const std::string& path, ImageLayout layout = ImageLayout::NHWC) {
  try {
    load_data(path, layout);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

Graph rgb_net(int64_t classes) {
  GraphBuilder b("rgb");
  Value x = b.input("image", {-1, 3, 32, 32});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.max_pool2d(b.relu(layers::conv2d(b, "conv", x, 4, 3)), 2, 2);
  Value logits = layers::dense(b, "fc", b.flatten(h), classes);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  return b.finish();
}

}  // namespace

TEST_CASE("data npz: an RGB 32x32 set in NHWC lands channel-first, pixel for pixel") {
  if (!zip_available()) return;
  TempDir dir;
  write_npz(dir.file("rgb.npz"), rgb_arrays(6, 4, 3));
  const TrainTestData d = load_data(dir.file("rgb.npz"));
  CHECK(d.train.size() == 6);
  CHECK(d.test.size() == 4);
  CHECK(d.train.sample_shape() == Shape{3, 32, 32});
  CHECK(d.train.classes() == 3);
  Tensor x, y;
  d.train.batch({5, 1}, 0, 2, x, y);
  CHECK(shape_of(x) == Shape{2, 3, 32, 32});
  CHECK(y == Tensor{2.0f, 1.0f});
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t h : {0, 7, 31})
      for (int64_t w : {0, 13, 31}) {
        CHECK(x(0, c, h, w) == float((5 + 3 * h + 5 * w + 7 * c) % 256) / 255.0f);
        CHECK(x(1, c, h, w) == float((1 + 3 * h + 5 * w + 7 * c) % 256) / 255.0f);
      }
  check_data_fits(rgb_net(3), d.train, "rgb.npz", "train");
  CHECK_THROWS_WITH_AS(
      check_data_fits(lenet(), d.train, "rgb.npz", "train"),
      "rgb.npz: the train data holds samples of [-1, 3, 32, 32] (N = any count), the model's "
      "input \"image\" takes [-1, 1, 28, 28]",
      Error);
  CHECK_THROWS_WITH_AS(
      check_data_fits(rgb_net(2), d.train, "rgb.npz", "train"),
      "rgb.npz: the train data has class ids up to 2, the model's \"logits\" output has 2 classes", Error);

  // The same images stored NCHW as float32, read with --layout nchw.
  NpzArrays nchw = rgb_arrays(6, 4, 3);
  for (size_t i : {0, 2}) {  // x_train, x_test
    const Tensor t = xt::transpose(npy_to_tensor(nchw[i].second), {0, 3, 1, 2}) / 255.0f;
    nchw[i].second = npy_from_tensor(t);
  }
  write_npz(dir.file("nchw.npz"), nchw, true);
  const TrainTestData f = load_data(dir.file("nchw.npz"), ImageLayout::NCHW);
  Tensor xf, yf;
  f.train.batch({5, 1}, 0, 2, xf, yf);
  CHECK(xt::amax(xt::abs(xf - x))() < 1e-6f);
}

TEST_CASE("data npz: a tabular set with class ids or float targets") {
  if (!zip_available()) return;
  TempDir dir;
  write_npz(dir.file("tab.npz"), {{"x_train", floats({5, 8}, 0)},
                                  {"y_train", npy_from_tensor(Tensor{0, 1, 2, 1, 0})},
                                  {"x_test", floats({2, 8}, 1)},
                                  {"y_test", npy_from_tensor(Tensor{1, 0})}});
  // float y: targets, one value per sample
  TrainTestData d = load_data(dir.file("tab.npz"));
  CHECK(d.train.sample_shape() == Shape{8});
  CHECK_FALSE(d.train.has_class_labels());
  Tensor x, y;
  d.train.batch({2, 0}, 0, 2, x, y);
  CHECK(x(0, 3) == 0.75f);
  CHECK(y == Tensor{2.0f, 0.0f});

  NpyArray ids{'i', 8, {5}, std::string(40, '\0')};
  for (int i = 0; i < 5; ++i) ids.data[size_t(8 * i)] = char(i % 3);
  NpyArray test_ids{'i', 8, {2}, std::string(16, '\0')};
  write_npz(dir.file("cls.npz"), {{"x_train", floats({5, 8}, 0)},
                                  {"y_train", ids},
                                  {"x_test", floats({2, 8}, 1)},
                                  {"y_test", test_ids}});
  d = load_data(dir.file("cls.npz"));
  CHECK(d.train.classes() == 3);
  CHECK(d.train.label(4) == 1);
  CHECK(d.test.classes() == 1);
}

TEST_CASE("data npz: bad files name the file and the array") {
  if (!zip_available()) return;
  TempDir dir;
  const std::string path = dir.file("bad.npz");
  auto with = [&](const std::string& name, const NpyArray& a) {
    NpzArrays arrays = rgb_arrays(3, 2, 3);
    for (auto& [n, v] : arrays)
      if (n == name) v = a;
    write_npz(path, arrays);
    return load_error(path);
  };
  NpzArrays missing = rgb_arrays(3, 2, 3);
  missing.pop_back();
  write_npz(path, missing);
  CHECK(load_error(path) == path +
                                ": no array \"y_test\", expected x_train, y_train, x_test and y_test as in "
                                "keras.datasets");
  CHECK(with("y_train", npy_uint8({2}, {0, 1})) ==
        path + ": y_train: 2 labels (shape [2]) for 3 samples, expected one per sample");
  CHECK(with("x_train", NpyArray{'i', 8, {3, 4}, std::string(96, '\0')}) ==
        path + ": x_train: dtype <i8, expected uint8 (|u1) or float (<f4, <f8) samples");
  CHECK(with("x_test", npy_uint8({2, 2, 2, 2, 2}, std::vector<uint8_t>(32))) ==
        path +
            ": x_test: samples of shape [2, 2, 2, 2, 2], expected [N, F], [N, H, W], [N, H, W, C] or [N, C, "
            "H, W]");
  CHECK(with("y_test", npy_uint8({2, 3}, std::vector<uint8_t>(6))) ==
        path + ": y_test: integer labels of shape [2, 3], expected class ids [N] or [N, 1]");
  NpyArray negative{'i', 1, {2}, std::string("\x01\xff", 2)};
  CHECK(with("y_test", negative) == path + ": y_test: label -1 at index 1 is out of range, expected 0..1");
  CHECK(with("x_test", npy_uint8({2, 16, 16, 3}, std::vector<uint8_t>(2 * 16 * 16 * 3)))
            .find("x_test/y_test hold samples [3, 16, 16]") != std::string::npos);
  write_file_atomic(path, "PK\3\4 cut short");
  CHECK(load_error(path) == path + ": not a zip archive (no valid end-of-central-directory record)");
  CHECK(load_error(dir.file("none.npz")) != "no error");
  CHECK_THROWS_WITH_AS(image_layout_from_name("hwc"), "unknown image layout \"hwc\", expected nhwc or nchw",
                       Error);
}

TEST_CASE("data npz: xgrad train and eval on an RGB .npz, and a clear error for a model that does not fit") {
  if (!zip_available()) return;
  TempDir dir;
  write_npz(dir.file("rgb.npz"), rgb_arrays(40, 10, 3));
  save_model(dir.file("rgb.json"), rgb_net(3), nullptr, nlohmann::json::object());
  save_model(dir.file("lenet.json"), lenet(), nullptr, nlohmann::json::object());
  auto r = test::run_xgrad(dir.path(),
                           "train --model rgb.json --data rgb.npz --epochs 1 --batch 8 --threads 1 "
                           "--out trained.json");
  INFO(r.err);
  CHECK(r.status == 0);
  r = test::run_xgrad(dir.path(), "eval --model trained.json --data rgb.npz --threads 1");
  CHECK(r.status == 0);
  CHECK(r.out.find("on 10 test samples from rgb.npz") != std::string::npos);
  r = test::run_xgrad(dir.path(), "predict --model trained.json --data rgb.npz --index 2:5");
  CHECK(r.status == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 4);  // header + 3 rows
  CHECK(r.out.find("\n4       ") != std::string::npos);
  r = test::run_xgrad(dir.path(), "train --model lenet.json --data rgb.npz --epochs 1 --out x.json");
  CHECK(r.status == 1);
  CHECK(r.err ==
        "xgrad: error: rgb.npz: the train data holds samples of [-1, 3, 32, 32] (N = any count), the "
        "model's input \"image\" takes [-1, 1, 28, 28]\n");
}

TEST_CASE("data idx: IDX directories of any image size, grey or with channels") {
  TempDir dir;
  const std::vector<uint8_t> labels = {0, 4, 2};
  write_idx(dir.file("train-labels-idx1-ubyte"), kIdxUByte, {3}, labels, false);
  write_idx(dir.file("t10k-labels-idx1-ubyte"), kIdxUByte, {3}, labels, true);
  std::vector<uint8_t> pixels(3 * 16 * 12 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i % 251);
  for (const char* name : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"})
    write_idx(dir.file(name), kIdxUByte, {3, 16, 36}, pixels, false);
  TrainTestData d = load_data(dir.path());
  CHECK(d.train.sample_shape() == Shape{1, 16, 36});
  CHECK(d.train.classes() == 5);
  CHECK(d.test.label(1) == 4);
  for (const char* name : {"train-images-idx3-ubyte", "t10k-images-idx3-ubyte"})  // now [N, H, W, C]
    write_idx(dir.file(name), kIdxUByte, {3, 16, 12, 3}, pixels, false);
  d = load_data(dir.path());
  CHECK(d.train.sample_shape() == Shape{3, 16, 12});
  Tensor x, y;
  d.train.batch({2}, 0, 1, x, y);
  const size_t h = 5, w = 7, c = 2;  // NHWC byte (2, 5, 7, 2) lands at NCHW (0, 2, 5, 7)
  CHECK(x(0, c, h, w) == float(((2 * 16 + h) * 12 * 3 + w * 3 + c) % 251) / 255.0f);
  CHECK(load_data(dir.path(), ImageLayout::NCHW).train.sample_shape() == Shape{16, 12, 3});
}

TEST_CASE("data npz: xgrad train and eval on a tabular set with one-hot float targets") {
  if (!zip_available()) return;
  TempDir dir;
  auto set = [](int64_t n, float shift) {
    Tensor x = make_tensor({n, 8}), y = make_tensor({n, 3});
    for (int64_t i = 0; i < n; ++i) {
      const int64_t cls = i % 3;
      for (int64_t j = 0; j < 8; ++j) x(i, j) = (j % 3 == cls ? 1.0f : 0.0f) + shift * float(j);
      y(i, cls) = 1.0f;
    }
    return std::make_pair(npy_from_tensor(x), npy_from_tensor(y));
  };
  const auto [x_train, y_train] = set(60, 0.01f);
  const auto [x_test, y_test] = set(30, 0.02f);
  write_npz(dir.file("tab.npz"),
            {{"x_train", x_train}, {"y_train", y_train}, {"x_test", x_test}, {"y_test", y_test}});
  GraphBuilder b("tabular");
  Value x = b.input("image", {-1, 8});
  Value y = b.input("label", {-1, 3});
  Value logits = layers::dense(b, "out", b.relu(layers::dense(b, "hidden", x, 16)), 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, y, "loss"));
  save_model(dir.file("tab.json"), b.finish(), nullptr, nlohmann::json::object());
  auto r = test::run_xgrad(dir.path(),
                           "train --model tab.json --data tab.npz --epochs 20 --batch 10 --optimizer adam "
                           "--lr 0.05 --threads 1 --out trained.json");
  INFO(r.err);
  REQUIRE(r.status == 0);
  r = test::run_xgrad(dir.path(), "eval --model trained.json --data tab.npz --threads 1");
  CHECK(r.status == 0);
  CHECK(r.out.find("accuracy 1.0000") != std::string::npos);
  save_model(dir.file("lenet.json"), lenet(), nullptr, nlohmann::json::object());
  r = test::run_xgrad(dir.path(), "train --model lenet.json --data tab.npz --out x.json");
  CHECK(r.err ==
        "xgrad: error: tab.npz: the train data holds samples of [-1, 8] (N = any count), the model's "
        "input \"image\" takes [-1, 1, 28, 28]\n");
}

TEST_CASE("load_test_data reads the test set alone; xgrad eval needs no training set") {
  TempDir dir;
  // IDX: a directory holding only the t10k files.
  std::filesystem::create_directories(dir.file("full"));
  std::filesystem::create_directories(dir.file("test-only"));
  write_fashion_like_dir(dir.file("full"), 30, 12, 5);
  for (const char* name : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"})
    std::filesystem::copy_file(dir.file("full") + "/" + name, dir.file("test-only") + "/" + name);
  const Dataset idx_test = load_test_data(dir.file("test-only"));
  CHECK(idx_test.size() == 12);
  CHECK(idx_test.sample_shape() == load_data(dir.file("full")).test.sample_shape());
  CHECK_THROWS_WITH_AS(load_test_data(dir.file("nowhere")), doctest::Contains("nowhere: no such directory"),
                       Error);
  CHECK_THROWS_WITH_AS(load_test_data(dir.file("full") + "/.."),
                       doctest::Contains("no t10k-images-idx3-ubyte"), Error);
  const auto save_initialized = [&](const std::string& name, const Graph& g) {
    Rng rng(1);
    const Params weights = init_params(g, rng);
    save_model(dir.file(name), g, &weights, nlohmann::json::object());
  };
  save_initialized("lenet.json", lenet());
  auto r = test::run_xgrad(dir.path(), "eval --model lenet.json --data test-only --threads 1");
  INFO(r.err);
  CHECK(r.status == 0);
  CHECK(r.out.find("on 12 test samples from test-only") != std::string::npos);
  if (!zip_available()) return;
  // npz: x_test and y_test only.
  NpzArrays arrays = rgb_arrays(3, 5, 3);
  arrays.erase(arrays.begin(), arrays.begin() + 2);  // x_train, y_train
  write_npz(dir.file("test.npz"), arrays);
  const Dataset npz_test = load_test_data(dir.file("test.npz"));
  CHECK(npz_test.size() == 5);
  CHECK(npz_test.sample_shape() == Shape{3, 32, 32});
  save_initialized("rgb.json", rgb_net(3));
  r = test::run_xgrad(dir.path(), "eval --model rgb.json --data test.npz --threads 1");
  CHECK(r.status == 0);
  CHECK(r.out.find("on 5 test samples from test.npz") != std::string::npos);
  arrays.pop_back();  // y_test
  write_npz(dir.file("no-labels.npz"), arrays);
  CHECK_THROWS_WITH_AS(
      load_test_data(dir.file("no-labels.npz")),
      (dir.file("no-labels.npz") + ": no array \"y_test\", expected x_test and y_test as in keras.datasets")
          .c_str(),
      Error);
}
