#pragma once
// Image classification datasets (Fashion-MNIST) kept as uint8 in memory (60000x28x28 = 47 MB) and
// converted per batch to float NCHW scaled to [0, 1].
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
  // images: uint8 [N, rows, cols] row-major; labels: [N], each < classes. Throws Error when the sizes
  // disagree or a label is out of range; `where` names the source in those errors.
  Dataset(std::vector<uint8_t> images, std::vector<uint8_t> labels, int64_t rows, int64_t cols,
          int64_t classes = 10, const std::string& where = "dataset");

  size_t size() const { return labels_.size(); }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t classes() const { return classes_; }
  uint8_t label(size_t i) const;         // throws Error if i >= size()
  const uint8_t* image(size_t i) const;  // rows*cols bytes; throws Error if i >= size()

  // Items order[start .. start+count) -> images float [count, 1, rows, cols] in [0, 1] and labels
  // float [count] holding integer values. Reuses the tensors' storage when shapes already match.
  void batch(const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& images,
             Tensor& labels) const;

  // An IDX ubyte [N, rows, cols] image file and an IDX ubyte [N] label file, raw or gzip.
  static Dataset from_files(const std::string& images_path, const std::string& labels_path,
                            int64_t classes = 10);

 private:
  void check_index(size_t i) const;

  std::vector<uint8_t> images_;
  std::vector<uint8_t> labels_;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  int64_t classes_ = 0;
};

struct FashionMnist {
  Dataset train, test;
};

// $XGRAD_DATA if set and non-empty, else where Debian's dataset-fashion-mnist puts the files.
std::string default_data_dir();

// train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
// each raw or with .gz (raw preferred when both exist). "" means default_data_dir().
FashionMnist load_fashion_mnist(const std::string& dir = "");

// "T-shirt/top", "Trouser", ..., "Ankle boot", indexed by label.
const std::array<std::string, 10>& fashion_mnist_classes();

// 0..n-1 shuffled by rng (Fisher-Yates), so one seed gives one order on every platform.
std::vector<uint32_t> shuffled_order(size_t n, Rng& rng);

}  // namespace xgrad
