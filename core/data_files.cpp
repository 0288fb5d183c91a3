// Dataset loaders: Fashion-MNIST-like IDX directories (any image size) and keras.datasets-like .npz.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/dataset.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/npz.h"

namespace xgrad {
namespace {

namespace fs = std::filesystem;

const char* const kDebianDataDir = "/usr/share/datasets/fashion-mnist";

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

// [N, ...] -> the per-sample shape xgrad feeds: [1, H, W], [C, H, W] (from NHWC or NCHW) or [F].
Shape sample_shape_of(const Shape& dims, ImageLayout layout, const std::string& where) {
  if (dims.size() == 2) return {dims[1]};
  if (dims.size() == 3) return {1, dims[1], dims[2]};
  if (dims.size() == 4)
    return layout == ImageLayout::NHWC ? Shape{dims[3], dims[1], dims[2]} : Shape{dims[1], dims[2], dims[3]};
  throw Error(where + ": samples of shape " + to_string(dims) +
              ", expected [N, F], [N, H, W], [N, H, W, C] or [N, C, H, W]");
}

// NHWC -> NCHW in place, sample by sample through a one-sample scratch buffer.
template <class T>
void to_nchw(std::vector<T>& values, const Shape& chw) {
  const size_t C = size_t(chw[0]), HW = size_t(chw[1] * chw[2]), per = C * HW;
  std::vector<T> sample(per);
  for (size_t n = 0; n < values.size() / per; ++n) {
    T* s = values.data() + n * per;
    std::copy(s, s + per, sample.begin());
    for (size_t p = 0; p < HW; ++p)
      for (size_t c = 0; c < C; ++c) s[c * HW + p] = sample[p * C + c];
  }
}

template <class T>
Dataset samples_from(std::vector<T> values, const Shape& dims, ImageLayout layout, const std::string& where) {
  const Shape sample = sample_shape_of(dims, layout, where);
  if (dims.size() == 4 && layout == ImageLayout::NHWC && sample[0] > 1) to_nchw(values, sample);
  if constexpr (std::is_same_v<T, uint8_t>)
    return Dataset::from_uint8(std::move(values), sample, where);
  else
    return Dataset::from_float(std::move(values), sample, where);
}

Dataset idx_samples(const std::string& path, ImageLayout layout) {
  IdxArray a = read_idx(path);
  if (a.type_code == kIdxUByte) return samples_from(std::move(a.bytes), a.dims, layout, path);
  const std::vector<double> d = idx_to_doubles(a);
  return samples_from(std::vector<float>(d.begin(), d.end()), a.dims, layout, path);
}

// The samples go from the archive straight into the data set's storage: one copy in memory.
Dataset npz_samples(const NpzReader& npz, const std::string& name, ImageLayout layout,
                    const std::string& path) {
  const std::string where = path + ": " + name;
  if (!npz.contains(name))
    throw Error(path + ": no array \"" + name +
                "\", expected x_train, y_train, x_test and y_test as in keras.datasets");
  NpySamples x = npz.read_samples(name);
  const NpyArray& h = x.header;
  if (h.shape.empty() || h.shape[0] == 0)
    throw Error(where + ": no samples (shape " + to_string(h.shape) + ")");
  if (h.kind == 'u' && h.itemsize == 1) return samples_from(std::move(x.bytes), h.shape, layout, where);
  if (h.kind != 'f')
    throw Error(where + ": dtype " + h.descr() + ", expected uint8 (|u1) or float (<f4, <f8) samples");
  return samples_from(std::move(x.floats), h.shape, layout, where);
}

// Integer y: class ids [N] or [N, 1]; float y: targets [N] or [N, K]. Returns the class count (0: targets).
int64_t set_npz_labels(Dataset& d, const NpyArray& y, const std::string& where) {
  const size_t n = y.shape.empty() ? 0 : size_t(y.shape[0]);
  if (n != d.size())
    throw Error(where + ": " + std::to_string(n) + " labels (shape " + to_string(y.shape) + ") for " +
                std::to_string(d.size()) + " samples, expected one per sample");
  if (!y.is_integer()) {
    if (y.shape.size() > 2)
      throw Error(where + ": float targets of shape " + to_string(y.shape) + ", expected [N] or [N, K]");
    const Tensor t = npy_to_tensor(y);
    d.set_targets(std::vector<float>(t.begin(), t.end()), Shape(y.shape.begin() + 1, y.shape.end()), where);
    return 0;
  }
  if (y.shape.size() > 2 || (y.shape.size() == 2 && y.shape[1] != 1))
    throw Error(where + ": integer labels of shape " + to_string(y.shape) +
                ", expected class ids [N] or [N, 1]");
  const std::vector<int64_t> ids = npy_to_int64(y, where);
  const int64_t max = *std::max_element(ids.begin(), ids.end());
  if (max >= (int64_t(1) << 24)) throw Error(where + ": class id " + std::to_string(max) + " is too large");
  d.set_classes(std::vector<int32_t>(ids.begin(), ids.end()), max + 1, where);  // negatives caught there
  return max + 1;
}

TrainTestData load_npz_data(const std::string& path, ImageLayout layout) {
  const NpzReader npz(path);
  TrainTestData data{npz_samples(npz, "x_train", layout, path), npz_samples(npz, "x_test", layout, path)};
  int64_t classes[2] = {0, 0};
  const char* y_names[2] = {"y_train", "y_test"};
  Dataset* sets[2] = {&data.train, &data.test};
  for (int i = 0; i < 2; ++i) {
    if (!npz.contains(y_names[i]))
      throw Error(path + ": no array \"" + y_names[i] +
                  "\", expected x_train, y_train, x_test and y_test as in keras.datasets");
    classes[i] = set_npz_labels(*sets[i], npz.read(y_names[i]), path + ": " + y_names[i]);
  }
  if (data.train.sample_shape() != data.test.sample_shape() || (classes[0] > 0) != (classes[1] > 0) ||
      data.train.target_shape() != data.test.target_shape())
    throw Error(path + ": x_test/y_test hold samples " + to_string(data.test.sample_shape()) +
                " and labels " + to_string(data.test.target_shape()) + " but x_train/y_train hold " +
                to_string(data.train.sample_shape()) + " and " + to_string(data.train.target_shape()) +
                ", expected the same kinds");
  return data;
}

Dataset idx_pair(const std::string& images_path, const std::string& labels_path, int64_t classes,
                 ImageLayout layout) {
  Dataset d = idx_samples(images_path, layout);
  const IdxArray labels = read_idx(labels_path);
  if (labels.dims.size() != 1 || labels.type_code == kIdxFloat || labels.type_code == kIdxDouble)
    throw Error(labels_path + ": expected labels [N] (integer IDX), found " +
                idx_type_name(labels.type_code) + " " + to_string(labels.dims));
  if (size_t(labels.dims[0]) != d.size())
    throw Error(images_path + " has " + std::to_string(d.size()) + " images but " + labels_path + " has " +
                std::to_string(labels.dims[0]) + " labels, expected the same count");
  const std::vector<double> ids = idx_to_doubles(labels);
  if (classes == 0) classes = int64_t(*std::max_element(ids.begin(), ids.end())) + 1;
  d.set_classes(std::vector<int32_t>(ids.begin(), ids.end()), classes, labels_path);
  return d;
}

// The four Fashion-MNIST files of `dir`; classes 0: the largest label + 1.
void require_idx_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir +
                ": no such directory, expected the Fashion-MNIST IDX files (install Debian's "
                "dataset-fashion-mnist or set XGRAD_DATA)");
}

TrainTestData load_idx_dir(const std::string& dir, int64_t classes, ImageLayout layout) {
  require_idx_dir(dir);
  TrainTestData m;
  m.train = idx_pair(find_file(dir, "train-images-idx3-ubyte"), find_file(dir, "train-labels-idx1-ubyte"),
                     classes, layout);
  m.test = idx_pair(find_file(dir, "t10k-images-idx3-ubyte"), find_file(dir, "t10k-labels-idx1-ubyte"),
                    classes ? classes : m.train.classes(), layout);
  if (m.train.sample_shape() != m.test.sample_shape())
    throw Error(dir + ": train images are " + to_string(m.train.sample_shape()) + " but test images are " +
                to_string(m.test.sample_shape()) + ", expected the same size");
  return m;
}

}  // namespace

Dataset Dataset::from_files(const std::string& images_path, const std::string& labels_path, int64_t classes) {
  return idx_pair(images_path, labels_path, classes, ImageLayout::NHWC);
}

std::string default_data_dir() {
  const char* env = std::getenv("XGRAD_DATA");
  return env && *env ? std::string(env) : std::string(kDebianDataDir);
}

FashionMnist load_fashion_mnist(const std::string& dir) {
  return load_idx_dir(dir.empty() ? default_data_dir() : dir, 10, ImageLayout::NHWC);
}

ImageLayout image_layout_from_name(const std::string& name) {
  if (name == "nhwc") return ImageLayout::NHWC;
  if (name == "nchw") return ImageLayout::NCHW;
  throw Error("unknown image layout \"" + name + "\", expected nhwc or nchw");
}

TrainTestData load_data(const std::string& path_in, ImageLayout layout) {
  const std::string path = path_in.empty() ? default_data_dir() : path_in;
  std::error_code ec;
  if (!fs::is_directory(path, ec) && fs::exists(path, ec)) return load_npz_data(path, layout);
  return load_idx_dir(path, 0, layout);
}

Dataset load_test_data(const std::string& path_in, ImageLayout layout) {
  const std::string path = path_in.empty() ? default_data_dir() : path_in;
  std::error_code ec;
  if (!fs::is_directory(path, ec) && fs::exists(path, ec)) {
    const NpzReader npz(path);
    Dataset test = npz_samples(npz, "x_test", layout, path);
    if (!npz.contains("y_test"))
      throw Error(path + ": no array \"y_test\", expected x_test and y_test as in keras.datasets");
    set_npz_labels(test, npz.read("y_test"), path + ": y_test");
    return test;
  }
  require_idx_dir(path);
  const std::string images = find_file(path, "t10k-images-idx3-ubyte");
  return idx_pair(images, find_file(path, "t10k-labels-idx1-ubyte"), 0, layout);
}

}  // namespace xgrad
