#pragma once
// Datasets for training and evaluation, kept compact in memory and converted per batch:
//   samples: uint8 (scaled to [0, 1] per batch, so 60000 Fashion-MNIST images take 47 MB) or float32
//   (used as they are), each of one shape: images [C, H, W] (stored NCHW) or feature vectors [F];
//   labels: integer class ids (fed as float [count] holding integers) or float targets ([count] or
//   [count, K]).
// Loaders: a directory of IDX files laid out like Fashion-MNIST (any image size), or a NumPy .npz
// laid out like keras.datasets (x_train, y_train, x_test, y_test).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"

namespace xgrad {

class Dataset {
 public:
  Dataset() = default;
  // uint8 images [N, rows, cols] and class labels [N], each < classes (Fashion-MNIST's IDX files).
  // Throws Error when the sizes disagree or a label is out of range; `where` names the source.
  Dataset(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t rows, int64_t cols,
          int64_t classes = 10, const std::string& where = "dataset");

  // Samples of `sample_shape` ([C, H, W] or [F]) as uint8 (scaled to [0, 1]) or float32.
  static Dataset from_uint8(std::vector<uint8_t> samples, Shape sample_shape, const std::string& where);
  static Dataset from_float(std::vector<float> samples, Shape sample_shape, const std::string& where);
  // Labels: class ids in [0, classes), or float targets of `target_shape` per sample ([] or [K]).
  // Throws Error unless there is one label per sample (and every class id is in range).
  void set_classes(std::vector<int32_t> ids, int64_t classes, const std::string& where);
  void set_targets(std::vector<float> targets, Shape target_shape, const std::string& where);

  size_t size() const { return size_; }
  const Shape& sample_shape() const { return sample_shape_; }
  bool is_uint8() const { return !bytes_.empty() || floats_.empty(); }
  bool has_class_labels() const { return classes_ > 0; }
  int64_t classes() const { return classes_; }  // 0 for float targets
  const Shape& target_shape() const { return target_shape_; }
  int64_t rows() const { return sample_shape_.size() == 3 ? sample_shape_[1] : 1; }
  int64_t cols() const { return sample_shape_.empty() ? 0 : sample_shape_.back(); }
  int32_t label(size_t i) const;         // class id; throws Error if i >= size() or targets
  const uint8_t* image(size_t i) const;  // a uint8 sample; throws Error if i >= size() or float

  // Items order[start .. start+count) -> samples float [count, sample_shape...] and labels float
  // [count] (class ids) or [count, target_shape...]. Reuses the tensors' storage when shapes match.
  void batch(const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& samples,
             Tensor& labels) const;

  // An IDX ubyte [N, rows, cols] image file and an IDX ubyte [N] label file, raw or gzip.
  static Dataset from_files(const std::string& images_path, const std::string& labels_path,
                            int64_t classes = 10);

 private:
  void check_index(size_t i) const;
  void set_samples(size_t stored, Shape sample_shape, const std::string& where);

  size_t size_ = 0;
  Shape sample_shape_;
  std::vector<uint8_t> bytes_;
  std::vector<float> floats_;
  std::vector<int32_t> class_ids_;
  std::vector<float> targets_;
  Shape target_shape_;
  int64_t classes_ = 0;
};

struct FashionMnist {
  Dataset train, test;
};
using TrainTestData = FashionMnist;

// $XGRAD_DATA if set and non-empty, else where Debian's dataset-fashion-mnist puts the files.
std::string default_data_dir();

// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each raw or with .gz (raw preferred when both exist). "" means default_data_dir().
FashionMnist load_fashion_mnist(const std::string& dir = "");

// How a 4-d image array is laid out: "nhwc" (keras.datasets, the default) or "nchw".
enum class ImageLayout { NHWC, NCHW };
ImageLayout image_layout_from_name(const std::string& name);

// Train and test sets from `path`: a directory of IDX files (as load_fashion_mnist, images of any
// size, [N, H, W] or [N, H, W, C]/[N, C, H, W] as `layout` says), or a .npz with x_train, y_train,
// x_test, y_test: x uint8 or float32 [N, H, W], [N, H, W, C] / [N, C, H, W] or [N, F]; y integer
// class ids [N] or [N, 1], or float targets [N] or [N, K]. "" means default_data_dir(). Errors name
// the file and the array.
TrainTestData load_data(const std::string& path = "", ImageLayout layout = ImageLayout::NHWC);
// The test set alone, from the same places (the t10k files, or x_test and y_test): what evaluation
// needs, without reading the training set.
Dataset load_test_data(const std::string& path = "", ImageLayout layout = ImageLayout::NHWC);

// "T-shirt/top", "Trouser", ..., "Ankle boot", indexed by label.
const std::array<std::string, 10>& fashion_mnist_classes();

// 0..n-1 shuffled by rng (Fisher-Yates), so one seed gives one order on every platform.
std::vector<uint32_t> shuffled_order(size_t n, Rng& rng);

}  // namespace xgrad
