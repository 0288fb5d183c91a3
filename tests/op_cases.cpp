#include "tests/op_cases.h"

namespace xgrad::test {

const std::vector<OpCase>& op_cases() {
  using nlohmann::json;
  static const std::vector<OpCase> cases = {
      {"sigmoid", "sigmoid", json::object(), {{{2, 3}}}},
      {"relu", "relu", json::object(), {{{2, 3, 2}, Fill::AwayFromZero}}},
      {"tanh", "tanh", json::object(), {{{4, 3}}}},
      {"add same shape", "add", json::object(), {{{2, 3}}, {{2, 3}}}},
      {"add bias broadcast", "add", json::object(), {{{2, 3, 2, 2}}, {{3, 1, 1}}}},
      {"add row broadcast", "add", json::object(), {{{4, 3}}, {{3}}}},
      {"mul broadcast", "mul", json::object(), {{{2, 3}}, {{1, 3}}}},
      {"sum", "sum", json::object(), {{{2, 3}}}},
      {"mean", "mean", json::object(), {{{3, 4}}}},
      {"matmul", "matmul", json::object(), {{{3, 4}}, {{4, 5}}}},
      {"matmul with bias", "matmul", json::object(), {{{3, 4}}, {{4, 2}}, {{2}}}},
      {"flatten", "flatten", json::object(), {{{2, 3, 2, 2}}}},
      {"reshape", "reshape", {{"shape", {2, -1}}}, {{{2, 12}}}},
      {"softmax last axis", "softmax", {{"axis", -1}}, {{{3, 5}}}},
      {"softmax axis 1 of 3", "softmax", {{"axis", 1}}, {{{2, 3, 4}}}},
      {"softmax_cross_entropy int labels",
       "softmax_cross_entropy",
       json::object(),
       {{{4, 5}}, {{4}, Fill::Labels, 5}}},
      {"softmax_cross_entropy one-hot",
       "softmax_cross_entropy",
       json::object(),
       {{{3, 4}}, {{3, 4}, Fill::Targets, 4}}},
      {"conv2d 1 channel", "conv2d", json::object(), {{{1, 1, 4, 4}}, {{1, 1, 2, 2}}}},
      {"conv2d channels and bias", "conv2d", json::object(), {{{2, 3, 5, 5}}, {{4, 3, 3, 3}}, {{4}}}},
      {"conv2d stride 2", "conv2d", {{"stride", 2}}, {{{2, 2, 6, 6}}, {{3, 2, 3, 3}}, {{3}}}},
      {"conv2d padding explicit", "conv2d", {{"padding", {1, 2}}}, {{{1, 2, 4, 5}}, {{2, 2, 3, 3}}}},
      {"conv2d padding same", "conv2d", {{"padding", "same"}}, {{{1, 2, 5, 5}}, {{2, 2, 3, 3}}, {{2}}}},
      {"conv2d same stride 2 asymmetric",
       "conv2d",
       {{"padding", "same"}, {"stride", 2}},
       {{{1, 2, 6, 6}}, {{2, 2, 4, 4}}, {{2}}}},
      {"conv2d valid", "conv2d", {{"padding", "valid"}}, {{{1, 1, 5, 4}}, {{2, 1, 2, 3}}}},
      {"conv2d dilation 2", "conv2d", {{"dilation", 2}}, {{{1, 2, 7, 7}}, {{2, 2, 3, 3}}, {{2}}}},
      {"conv2d 1x1", "conv2d", json::object(), {{{2, 3, 3, 3}}, {{4, 3, 1, 1}}, {{4}}}},
      {"max_pool2d 2x2", "max_pool2d", {{"kernel", 2}}, {{{2, 2, 4, 4}, Fill::Distinct}}},
      {"max_pool2d stride 1 pad 1",
       "max_pool2d",
       {{"kernel", 2}, {"stride", 1}, {"padding", 1}},
       {{{1, 2, 3, 3}, Fill::Distinct}}},
      {"max_pool2d same",
       "max_pool2d",
       {{"kernel", 3}, {"stride", 2}, {"padding", "same"}},
       {{{1, 1, 5, 6}, Fill::Distinct}}},
      {"avg_pool2d 2x2", "avg_pool2d", {{"kernel", 2}}, {{{2, 2, 4, 4}}}},
      {"avg_pool2d same",
       "avg_pool2d",
       {{"kernel", 3}, {"stride", 2}, {"padding", "same"}},
       {{{1, 2, 5, 6}}}},
      {"avg_pool2d pad 1", "avg_pool2d", {{"kernel", 2}, {"stride", 2}, {"padding", 1}}, {{{1, 1, 3, 3}}}},
      {"batch_norm [N, C]",
       "batch_norm",
       json::object(),
       {{{4, 3}}, {{3}}, {{3}}, {{3}}, {{3}, Fill::Positive}}},
      {"batch_norm [N, C, H, W]",
       "batch_norm",
       {{"epsilon", 1e-3}, {"momentum", 0.5}},
       {{{2, 3, 2, 2}}, {{3}}, {{3}}, {{3}}, {{3}, Fill::Positive}}},
      {"dropout", "dropout", {{"rate", 0.5}}, {{{4, 8}}}},
  };
  return cases;
}

std::vector<Tensor> make_inputs(const OpCase& c, Rng& rng, std::vector<DType>& dtypes) {
  std::vector<Tensor> out;
  dtypes.clear();
  for (const auto& spec : c.inputs) {
    Tensor t = make_tensor(spec.shape);
    dtypes.push_back(spec.fill == Fill::Labels ? DType::Int32 : DType::Float32);
    switch (spec.fill) {
      case Fill::Uniform:
        for (float& v : t) v = rng.uniform(-1.0f, 1.0f);
        break;
      case Fill::AwayFromZero:
        for (float& v : t) v = (rng.below(2) ? 1.0f : -1.0f) * rng.uniform(0.1f, 1.0f);
        break;
      case Fill::Distinct: {
        std::vector<int> order(t.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
        rng.shuffle(order);
        for (size_t i = 0; i < order.size(); ++i) t.data()[i] = 0.05f * float(order[i]) - 1.0f;
        break;
      }
      case Fill::Positive:
        for (float& v : t) v = rng.uniform(0.5f, 1.5f);
        break;
      case Fill::Labels:
        for (float& v : t) v = float(rng.below(uint64_t(spec.classes)));
        break;
      case Fill::Targets: {
        const size_t k = size_t(spec.classes);
        for (size_t r = 0; r < t.size() / k; ++r) {
          double sum = 0;
          for (size_t j = 0; j < k; ++j) sum += t.data()[r * k + j] = rng.uniform(0.1f, 1.0f);
          for (size_t j = 0; j < k; ++j) t.data()[r * k + j] = float(t.data()[r * k + j] / sum);
        }
        break;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace xgrad::test
