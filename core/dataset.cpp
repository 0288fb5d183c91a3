#include "core/dataset.h"

#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "core/error.h"
#include "core/idx.h"

namespace xgrad {
namespace {

namespace fs = std::filesystem;

const char* const kDebianDataDir = "/usr/share/datasets/fashion-mnist";

// byte -> byte / 255, exact and branch-free in the batch loop.
const std::array<float, 256>& byte_to_unit() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[size_t(i)] = float(i) / 255.0f;
    return t;
  }();
  return table;
}

void expect_ubyte(const IdxArray& a, size_t rank, const std::string& path, const char* what) {
  if (a.type_code != kIdxUByte || a.dims.size() != rank)
    throw Error(path + ": expected " + what + " (ubyte, " + std::to_string(rank) + " dims), found " +
                idx_type_name(a.type_code) + " " + to_string(a.dims));
}

// `dir/name`, or `dir/name.gz` when only that exists.
std::string find_file(const std::string& dir, const std::string& name) {
  const fs::path raw = fs::path(dir) / name;
  std::error_code ec;
  if (fs::exists(raw, ec)) return raw.string();
  const fs::path gz = fs::path(dir) / (name + ".gz");
  if (fs::exists(gz, ec)) return gz.string();
  throw Error(dir + ": no " + name + " or " + name +
              ".gz, expected the four Fashion-MNIST IDX files (set XGRAD_DATA or the data option to their "
              "directory)");
}

}  // namespace

Dataset::Dataset(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t rows, int64_t cols,
                 int64_t classes, const std::string& where)
    : images_(std::move(images)), labels_(std::move(labels)), rows_(rows), cols_(cols), classes_(classes) {
  if (rows <= 0 || cols <= 0 || classes <= 0 || classes > 256)
    throw Error(where + ": expected rows, cols > 0 and 1..256 classes, found rows " + std::to_string(rows) +
                ", cols " + std::to_string(cols) + ", classes " + std::to_string(classes));
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(uint64_t(rows), uint64_t(cols), &bytes) ||
      __builtin_mul_overflow(bytes, uint64_t(labels_.size()), &bytes) || images_.size() != bytes)
    throw Error(where + ": " + std::to_string(images_.size()) + " image bytes, expected " +
                std::to_string(labels_.size()) + " images of " + std::to_string(rows) + "x" +
                std::to_string(cols));
  for (size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] >= classes)
      throw Error(where + ": label " + std::to_string(labels_[i]) + " at index " + std::to_string(i) +
                  " is out of range, expected 0.." + std::to_string(classes - 1));
}

void Dataset::check_index(size_t i) const {
  if (i >= size())
    throw Error("dataset: item " + std::to_string(i) + " is out of range for " + std::to_string(size()) +
                " items");
}

uint8_t Dataset::label(size_t i) const {
  check_index(i);
  return labels_[i];
}

const uint8_t* Dataset::image(size_t i) const {
  check_index(i);
  return images_.data() + i * size_t(rows_ * cols_);
}

void Dataset::batch(const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images,
                    Tensor& labels) const {
  if (start > order.size() || count > order.size() - start)
    throw Error("dataset batch: items " + std::to_string(start) + ".." + std::to_string(start + count) +
                " exceed the order of " + std::to_string(order.size()) + " items");
  const size_t pixels = size_t(rows_ * cols_);
  ensure_shape(images, {int64_t(count), 1, rows_, cols_});
  ensure_shape(labels, {int64_t(count)});
  const std::array<float, 256>& unit = byte_to_unit();
  float* dst = images.data();  // [count, 1, rows, cols]
  for (size_t k = 0; k < count; ++k) {
    const uint32_t item = order[start + k];
    if (item >= size())
      throw Error("dataset batch: order[" + std::to_string(start + k) + "] = " + std::to_string(item) +
                  " is out of range for " + std::to_string(size()) + " items");
    const uint8_t* src = images_.data() + size_t(item) * pixels;
    for (size_t j = 0; j < pixels; ++j) dst[j] = unit[src[j]];
    dst += pixels;
    labels.data()[k] = float(labels_[item]);
  }
}

Dataset Dataset::from_files(const std::string& images_path, const std::string& labels_path, int64_t classes) {
  IdxArray images = read_idx(images_path);
  expect_ubyte(images, 3, images_path, "images [N, rows, cols]");
  IdxArray labels = read_idx(labels_path);
  expect_ubyte(labels, 1, labels_path, "labels [N]");
  if (images.dims[0] != labels.dims[0])
    throw Error(images_path + " has " + std::to_string(images.dims[0]) + " images but " + labels_path +
                " has " + std::to_string(labels.dims[0]) + " labels, expected the same count");
  return Dataset(std::move(images.bytes), std::move(labels.bytes), images.dims[1], images.dims[2], classes,
                 labels_path);
}

std::string default_data_dir() {
  const char* env = std::getenv("XGRAD_DATA");
  return env && *env ? std::string(env) : std::string(kDebianDataDir);
}

FashionMnist load_fashion_mnist(const std::string& dir_in) {
  const std::string dir = dir_in.empty() ? default_data_dir() : dir_in;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir +
                ": no such directory, expected the Fashion-MNIST IDX files (install Debian's "
                "dataset-fashion-mnist or set XGRAD_DATA)");
  FashionMnist m;
  m.train = Dataset::from_files(find_file(dir, "train-images-idx3-ubyte"),
                                find_file(dir, "train-labels-idx1-ubyte"));
  m.test =
      Dataset::from_files(find_file(dir, "t10k-images-idx3-ubyte"), find_file(dir, "t10k-labels-idx1-ubyte"));
  if (m.train.rows() != m.test.rows() || m.train.cols() != m.test.cols())
    throw Error(dir + ": train images are " + std::to_string(m.train.rows()) + "x" +
                std::to_string(m.train.cols()) + " but test images are " + std::to_string(m.test.rows()) +
                "x" + std::to_string(m.test.cols()) + ", expected the same size");
  return m;
}

const std::array<std::string, 10>& fashion_mnist_classes() {
  static const std::array<std::string, 10> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                    "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                    "Bag",         "Ankle boot"};
  return names;
}

std::vector<uint32_t> shuffled_order(size_t n, Rng& rng) {
  if (n > UINT32_MAX)
    throw Error("shuffled_order: " + std::to_string(n) + " items, at most 2^32 - 1 supported");
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  rng.shuffle(order);
  return order;
}

}  // namespace xgrad
