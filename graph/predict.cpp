#include "graph/predict.h"

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "graph/train.h"

namespace xgrad {
namespace {

// Row-wise softmax of [rows, k] scores into `out`, in double (max subtracted first).
void softmax_rows(const float* scores, size_t rows, size_t k, float* out) {
  for (size_t r = 0; r < rows; ++r) {
    const float* s = scores + r * k;
    const float top = *std::max_element(s, s + k);
    double sum = 0;
    for (size_t j = 0; j < k; ++j) sum += std::exp(double(s[j]) - top);
    for (size_t j = 0; j < k; ++j) out[r * k + j] = float(std::exp(double(s[j]) - top) / sum);
  }
}

}  // namespace

Predictions predict(const Graph& g, const Params& weights, const Tensor& images,
                    const PredictOptions& options) {
  if (options.batch < 1) throw Error("predict: batch must be >= 1, got " + std::to_string(options.batch));
  const int input = g.find(options.input);
  if (input < 0 || g.node(input).kind != NodeKind::Input)
    throw Error("graph \"" + g.name() + "\" has no input \"" + options.input + "\"");
  const Shape& expected = g.node(input).info.shape;
  Shape sample = shape_of(images);
  if (sample.empty() || !shape_matches(expected, sample))
    throw Error("images have shape " + to_string(sample) + ", the input \"" + options.input + "\" is " +
                to_string(expected));
  const bool has_probs = g.has_output("probs");
  const int score = has_probs ? g.output("probs") : score_output(g);
  const size_t n = size_t(sample[0]), k = size_t(g.node(score).info.shape.at(1));
  const size_t per_sample = n ? images.size() / n : 0;
  Predictions p;
  p.probs = make_tensor({int64_t(n), int64_t(k)});
  Engine engine(g);
  Feeds feeds;
  Tensor& batch = feeds[options.input];
  for (size_t first = 0; first < n; first += size_t(options.batch)) {
    const size_t count = std::min(size_t(options.batch), n - first);
    sample[0] = int64_t(count);
    ensure_shape(batch, sample);
    std::memcpy(batch.data(), images.data() + first * per_sample, count * per_sample * sizeof(float));
    engine.forward(feeds, weights, ForwardOptions::inference({score}));
    const float* s = engine.value(score).data();
    float* out = p.probs.data() + first * k;
    if (has_probs)
      std::memcpy(out, s, count * k * sizeof(float));
    else
      softmax_rows(s, count, k, out);
  }
  for (size_t r = 0; r < n; ++r) {
    const float* row = p.probs.data() + r * k;
    p.classes.push_back(int64_t(std::max_element(row, row + k) - row));
  }
  return p;
}

std::vector<std::string> class_names(const nlohmann::json& meta, size_t k) {
  const auto it = meta.find("classes");
  bool usable = it != meta.end() && it->is_array() && it->size() == k;
  for (size_t c = 0; usable && c < k; ++c) usable = (*it)[c].is_string();
  std::vector<std::string> names;
  for (size_t c = 0; c < k; ++c)
    names.push_back(usable ? (*it)[c].get<std::string>() : "class " + std::to_string(c));
  return names;
}

}  // namespace xgrad
