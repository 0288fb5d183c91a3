// Datasets: reading image/label IDX pairs, their errors, batch conversion and layout, shuffling, and
// the real Fashion-MNIST from Debian's dataset-fashion-mnist.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "core/dataset.h"
#include "core/error.h"
#include "core/idx.h"
#include "tests/idx_writer.h"

using namespace xgrad;

namespace {

// Three 2x2 images: image i has pixels {i, 51, 255, 0} shifted; labels {2, 0, 1}.
void write_small(const TempDir& dir, bool gzip) {
  const std::string gz = gzip ? ".gz" : "";
  write_idx(dir.file("img" + gz), kIdxUByte, {3, 2, 2}, {0, 51, 255, 102, 1, 2, 3, 4, 10, 20, 30, 40}, gzip);
  write_idx(dir.file("lab" + gz), kIdxUByte, {3}, {2, 0, 1}, gzip);
}

std::string from_files_error(const std::string& images, const std::string& labels, int64_t classes = 10) {
  try {
    Dataset::from_files(images, labels, classes);
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("Dataset::from_files did not throw");
  return "";
}

}  // namespace

TEST_CASE("dataset: reads an image and a label file, raw and gzip") {
  for (bool gzip : {false, true}) {
    CAPTURE(gzip);
    TempDir dir;
    write_small(dir, gzip);
    const std::string gz = gzip ? ".gz" : "";
    const Dataset d = Dataset::from_files(dir.file("img" + gz), dir.file("lab" + gz));
    CHECK(d.size() == 3);
    CHECK(d.rows() == 2);
    CHECK(d.cols() == 2);
    CHECK(d.classes() == 10);
    CHECK(d.label(0) == 2);
    CHECK(d.label(2) == 1);
    CHECK(std::vector<uint8_t>(d.image(1), d.image(1) + 4) == std::vector<uint8_t>{1, 2, 3, 4});
    CHECK_THROWS_WITH_AS(d.image(3), "dataset: item 3 is out of range for 3 items", Error);
    CHECK_THROWS_AS(d.label(3), Error);
  }
}

TEST_CASE("dataset: mismatched files and labels out of range are errors naming the file") {
  TempDir dir;
  write_small(dir, false);
  write_idx(dir.file("lab4"), kIdxUByte, {4}, {0, 1, 2, 3}, false);
  std::string msg = from_files_error(dir.file("img"), dir.file("lab4"));
  CHECK(msg ==
        dir.file("img") + " has 3 images but " + dir.file("lab4") + " has 4 labels, expected the same count");

  write_idx(dir.file("lab10"), kIdxUByte, {3}, {0, 1, 10}, false);
  msg = from_files_error(dir.file("img"), dir.file("lab10"));
  CHECK(msg == dir.file("lab10") + ": label 10 at index 2 is out of range, expected 0..9");
  msg = from_files_error(dir.file("img"), dir.file("lab"), 2);
  CHECK(msg == dir.file("lab") + ": label 2 at index 0 is out of range, expected 0..1");

  msg = from_files_error(dir.file("lab"), dir.file("lab"));
  CHECK(msg ==
        dir.file("lab") + ": samples of shape [3], expected [N, F], [N, H, W], [N, H, W, C] or [N, C, H, W]");
  write_idx(dir.file("labfloat"), kIdxFloat, {3}, std::vector<uint8_t>(12), false);
  msg = from_files_error(dir.file("img"), dir.file("labfloat"));
  CHECK(msg == dir.file("labfloat") + ": expected labels [N] (integer IDX), found float [3]");
  msg = from_files_error(dir.file("img"), dir.file("absent"));
  CHECK(msg == dir.file("absent") + ": no such file, expected an IDX file");

  CHECK_THROWS_WITH_AS(Dataset({1, 2, 3}, {0}, 2, 2), "dataset: 3 image bytes, expected 1 images of 2x2",
                       Error);
}

TEST_CASE("dataset: batch converts to float NCHW in [0, 1] in the given order, reusing storage") {
  TempDir dir;
  write_small(dir, true);
  const Dataset d = Dataset::from_files(dir.file("img.gz"), dir.file("lab.gz"));
  Tensor images, labels;
  d.batch({2, 0, 1}, 1, 2, images, labels);  // items 0 then 1
  REQUIRE(shape_of(images) == Shape{2, 1, 2, 2});
  REQUIRE(shape_of(labels) == Shape{2});
  const std::vector<float> expected = {0.0f,       0.2f,       1.0f,       0.4f,
                                       1 / 255.0f, 2 / 255.0f, 3 / 255.0f, 4 / 255.0f};
  for (size_t i = 0; i < expected.size(); ++i) CHECK(images.data()[i] == expected[i]);
  CHECK(images(0, 0, 1, 0) == 1.0f);
  CHECK(images(1, 0, 0, 1) == 2 / 255.0f);
  CHECK(labels(0) == 2.0f);
  CHECK(labels(1) == 0.0f);

  const float* storage = images.data();
  d.batch({2, 0, 1}, 0, 2, images, labels);  // items 2 then 0, same shape
  CHECK(images.data() == storage);
  CHECK(images(0, 0, 0, 0) == 10 / 255.0f);
  CHECK(images(1, 0, 1, 1) == 0.4f);
  CHECK(labels(0) == 1.0f);
  d.batch({2, 0, 1}, 2, 1, images, labels);  // a short last batch changes the shape
  CHECK(shape_of(images) == Shape{1, 1, 2, 2});

  CHECK_THROWS_WITH_AS(d.batch({0, 1, 2}, 2, 2, images, labels),
                       "dataset batch: items 2..4 exceed the order of 3 items", Error);
  CHECK_THROWS_WITH_AS(d.batch({0, 3}, 0, 2, images, labels),
                       "dataset batch: order[1] = 3 is out of range for 3 items", Error);
}

TEST_CASE("dataset: shuffled_order is a reproducible permutation") {
  Rng a(42), b(42), c(43);
  const std::vector<uint32_t> oa = shuffled_order(1000, a);
  CHECK(oa == shuffled_order(1000, b));
  CHECK(oa != shuffled_order(1000, c));
  std::vector<uint32_t> sorted = oa;
  std::sort(sorted.begin(), sorted.end());
  std::vector<uint32_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0u);
  CHECK(sorted == iota);
  CHECK(oa != iota);
  // The next epoch from the same generator is a different order.
  CHECK(shuffled_order(1000, a) != oa);
  CHECK(shuffled_order(0, a).empty());
}

TEST_CASE("dataset: load_fashion_mnist reads a directory, from XGRAD_DATA by default") {
  for (bool gzip : {false, true}) {
    CAPTURE(gzip);
    TempDir dir;
    write_fashion_like_dir(dir.path(), 30, 20, 7, gzip);
    const FashionMnist m = load_fashion_mnist(dir.path());
    CHECK(m.train.size() == 30);
    CHECK(m.test.size() == 20);
    CHECK(m.train.rows() == 28);
    CHECK(m.test.cols() == 28);
    CHECK(m.train.label(13) == 3);
    // Class 3 is a horizontal bar on rows 16..20: brighter than any pixel off the bar.
    const uint8_t* img = m.train.image(13);
    CHECK(*std::min_element(img + 16 * 28, img + 21 * 28) >= 160);
    CHECK(*std::max_element(img, img + 16 * 28) < 96);
  }
  TempDir dir;
  write_fashion_like_dir(dir.path(), 10, 10, 1);
  const char* old = std::getenv("XGRAD_DATA");
  const std::string saved = old ? old : "";
  setenv("XGRAD_DATA", dir.path().c_str(), 1);
  CHECK(default_data_dir() == dir.path());
  CHECK(load_fashion_mnist().train.size() == 10);
  setenv("XGRAD_DATA", "", 1);
  CHECK(default_data_dir() == "/usr/share/datasets/fashion-mnist");
  if (old)
    setenv("XGRAD_DATA", saved.c_str(), 1);
  else
    unsetenv("XGRAD_DATA");
}

TEST_CASE("dataset: load_fashion_mnist errors name the directory and the file") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.file("nope")), doctest::Contains("nope: no such directory"),
                       Error);
  write_fashion_like_dir(dir.path(), 10, 10, 1);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
  CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path()),
                       doctest::Contains("no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz"), Error);
  write_idx(dir.file("t10k-labels-idx1-ubyte"), kIdxUByte, {9}, std::vector<uint8_t>(9), false);
  CHECK_THROWS_WITH_AS(load_fashion_mnist(dir.path()), doctest::Contains("has 10 images but"), Error);
}

TEST_CASE("dataset: the ten Fashion-MNIST class names") {
  const auto& names = fashion_mnist_classes();
  CHECK(names[0] == "T-shirt/top");
  CHECK(names[1] == "Trouser");
  CHECK(names[6] == "Shirt");
  CHECK(names[9] == "Ankle boot");
}

TEST_CASE("dataset: the real Fashion-MNIST (Debian dataset-fashion-mnist)") {
  const std::string dir = default_data_dir();
  INFO("Fashion-MNIST directory: " << dir << " (install dataset-fashion-mnist with tools/setup.sh)");
  REQUIRE(std::filesystem::is_directory(dir));
  const FashionMnist m = load_fashion_mnist(dir);
  REQUIRE(m.train.size() == 60000);
  REQUIRE(m.test.size() == 10000);
  CHECK(m.train.rows() == 28);
  CHECK(m.train.cols() == 28);
  CHECK(m.test.rows() == 28);
  CHECK(m.test.cols() == 28);
  std::vector<size_t> train_count(10), test_count(10);
  for (size_t i = 0; i < m.train.size(); ++i) ++train_count.at(m.train.label(i));
  for (size_t i = 0; i < m.test.size(); ++i) ++test_count.at(m.test.label(i));
  CHECK(train_count == std::vector<size_t>(10, 6000));
  CHECK(test_count == std::vector<size_t>(10, 1000));
  // Known statistic of the train images: mean pixel 0.2860 of full scale.
  uint64_t sum = 0;
  for (size_t i = 0; i < m.train.size(); ++i)
    for (int j = 0; j < 28 * 28; ++j) sum += m.train.image(i)[j];
  CHECK(double(sum) / (60000.0 * 784 * 255) == doctest::Approx(0.2860).epsilon(0.001));
}
