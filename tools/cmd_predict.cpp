// `xgrad predict`: what a model predicts for images from an IDX file (raw or .gz, `--index 0:10`),
// a binary PGM (P5) image or a data set's test split: a classifier's class, name and probability,
// any other model's output values (graph/predict.h predict_model decides which).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>

#include "core/dataset.h"
#include "core/error.h"
#include "core/idx.h"
#include "core/json_io.h"
#include "graph/data_fit.h"
#include "graph/predict.h"
#include "graph/serialize.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

struct Images {
  size_t count = 0;
  int64_t rows = 0, cols = 0;
  std::vector<float> pixels;  // [count, rows, cols] in [0, 1], or [count, sample...] from --data
  Shape sample;               // one sample's shape fed to the model: [1, rows, cols] unless --data
};

// "P5 <w> <h> <maxval> <bytes>", comments (#...) allowed between header fields.
Images read_pgm(const std::string& path) {
  const std::string bytes = read_text_file(path);
  size_t at = 2;
  auto field = [&](const char* what) {
    for (;;) {
      while (at < bytes.size() && std::isspace(static_cast<unsigned char>(bytes[at]))) ++at;
      if (at < bytes.size() && bytes[at] == '#') {
        while (at < bytes.size() && bytes[at] != '\n') ++at;
      } else {
        break;
      }
    }
    size_t end = at;
    while (end < bytes.size() && std::isdigit(static_cast<unsigned char>(bytes[end]))) ++end;
    if (end == at || end - at > 6) throw Error(path + ": PGM header: expected the " + std::string(what));
    const int64_t v = std::stoll(bytes.substr(at, end - at));
    at = end;
    return v;
  };
  Images im;
  im.count = 1;
  im.cols = field("width");
  im.rows = field("height");
  im.sample = {1, im.rows, im.cols};
  const int64_t maxval = field("maximum value");
  if (maxval < 1 || maxval > 255)
    throw Error(path + ": PGM maximum value " + std::to_string(maxval) +
                " is not supported (expected 1..255)");
  if (at >= bytes.size() || !std::isspace(static_cast<unsigned char>(bytes[at])))
    throw Error(path + ": PGM header: expected one whitespace byte before the pixels");
  ++at;
  const size_t n = size_t(im.rows * im.cols);
  if (bytes.size() - at != n)
    throw Error(path + ": PGM has " + std::to_string(bytes.size() - at) + " pixel bytes, expected " +
                std::to_string(im.cols) + "x" + std::to_string(im.rows) + " = " + std::to_string(n));
  for (size_t i = 0; i < n; ++i) im.pixels.push_back(float(uint8_t(bytes[at + i])) / float(maxval));
  return im;
}

Images read_images(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open for reading");
  std::string head(2, '\0');
  head.resize(size_t(file.read(&head[0], 2).gcount()));
  if (head == "P5") return read_pgm(path);
  if (head.size() == 2 && head[0] == 'P') throw Error(path + ": only binary PGM (P5) images are supported");
  const IdxArray a = read_idx(path);
  if (a.type_code != 0x08 || a.dims.size() != 3)
    throw Error(path + ": expected an IDX file of uint8 images [count, rows, cols]");
  Images im{size_t(a.dims[0]), a.dims[1], a.dims[2], {}, {1, a.dims[1], a.dims[2]}};
  im.pixels.reserve(a.bytes.size());
  for (uint8_t b : a.bytes) im.pixels.push_back(float(b) / 255.0f);
  return im;
}

// "7" -> [7, 8), "0:10" -> [0, 10), "5:" -> [5, count), "" -> all
std::pair<size_t, size_t> parse_index(const std::string& s, size_t count) {
  if (s.empty()) return {0, count};
  auto number = [&](const std::string& t, size_t fallback) -> size_t {
    if (t.empty()) return fallback;
    if (t.find_first_not_of("0123456789") != std::string::npos || t.size() > 12)
      throw Error("--index \"" + s + "\": expected N or START:END with whole numbers");
    return size_t(std::stoull(t));
  };
  const size_t colon = s.find(':');
  const size_t start = number(s.substr(0, colon), 0);
  const size_t end = colon == std::string::npos ? start + 1 : number(s.substr(colon + 1), count);
  if (start >= end || end > count)
    throw Error("--index " + s + " selects no images or goes past the end (the file has " +
                std::to_string(count) + " images, numbered from 0)");
  return {start, end};
}

// The test split of `--data` (a .npz or IDX directory, graph/data_fit.h checks it against the model).
Images read_test_data(const std::string& path, const std::string& layout, const Graph& g) {
  const TrainTestData data = load_data(path, image_layout_from_name(layout));
  check_data_fits(g, data.test, path, "test");
  std::vector<uint32_t> order(data.test.size());
  std::iota(order.begin(), order.end(), 0u);
  Tensor samples, labels;
  data.test.batch(order, 0, order.size(), samples, labels);
  return {order.size(), 0, 0, std::vector<float>(samples.begin(), samples.end()), data.test.sample_shape()};
}

void print_classes(const Predictions& p, const std::vector<std::string>& names, size_t start) {
  const size_t k = names.size();
  std::printf("%-7s %-5s %-12s %s\n", "index", "class", "name", "probability");
  for (size_t i = 0; i < p.classes.size(); ++i) {
    const size_t best = size_t(p.classes[i]);
    std::printf("%-7zu %-5zu %-12s %.4f\n", start + i, best, names[best].c_str(),
                p.probs.data()[i * k + best]);
  }
}

// One line per sample: its index, then the values of its row of the output (all its elements).
void print_values(const ModelPredictions& p, size_t start) {
  const size_t n = p.values.shape()[0], per_row = n ? p.values.size() / n : 0;
  std::printf("%-7s %s%s\n", "index", p.output.c_str(),
              p.probabilities ? " (probability of each element)" : "");
  for (size_t i = 0; i < n; ++i) {
    std::printf("%-7zu", start + i);
    for (size_t j = 0; j < per_row; ++j) std::printf(" %.6g", double(p.values.data()[i * per_row + j]));
    std::printf("\n");
  }
}

struct PredictCommand {
  std::string model = "lenet-trained.json", images, index, data, layout = "nhwc";
};

void run_predict(const PredictCommand& o) {
  const Model model = load_model(o.model);
  const Graph& g = model.graph;
  check_params(g, model.weights);
  const std::string input = data_inputs(g).data;
  const Shape& in = g.node(g.id(input)).info.shape;
  if (o.images.empty() == o.data.empty()) throw Error("predict: give --images FILE or --data PATH");
  const Images im = o.data.empty() ? read_images(o.images) : read_test_data(o.data, o.layout, g);
  if (o.data.empty() && (in.size() != 4 || in[1] != 1 || in[2] != im.rows || in[3] != im.cols))
    throw Error(o.images + ": images are " + std::to_string(im.rows) + "x" + std::to_string(im.cols) +
                ", the model's input \"" + input + "\" is " + to_string(in));
  const auto [start, end] = parse_index(o.index, im.count);
  const size_t pixels = size_t(numel(im.sample));
  Shape shape{int64_t(end - start)};
  shape.insert(shape.end(), im.sample.begin(), im.sample.end());
  Tensor images = make_tensor(shape);
  std::memcpy(images.data(), im.pixels.data() + start * pixels, images.size() * sizeof(float));
  const ModelPredictions p = predict_model(g, model.weights, images);
  if (p.classifier)
    print_classes(p.classes, class_names(model.meta, size_t(p.classes.probs.shape()[1])), start);
  else
    print_values(p, start);
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "predict",
      "What a model predicts for images (IDX, PGM or --data): classes, or a regression's output values");
  auto o = std::make_shared<PredictCommand>();
  cmd->add_option("--model", o->model, "Trained model file")->capture_default_str();
  auto* images = cmd->add_option("--images", o->images, "IDX images (raw or .gz) or a binary PGM (P5) image");
  auto* data = cmd->add_option("--data", o->data, "Or the test split of a .npz (x_test) or an IDX directory");
  cmd->add_option("--layout", o->layout, "Layout of 4-d image arrays in --data: nhwc or nchw")
      ->capture_default_str();
  images->excludes(data);
  cmd->add_option("--index", o->index, "Which IDX images: N or START:END (default: all)");
  cmd->callback([o] { run_predict(*o); });
}

}  // namespace xgrad::cli
