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
      {"add fused relu",
       "add",
       {{"activation", "relu"}},
       {{{2, 3, 2, 2}, Fill::AwayFromZero}, {{2, 3, 2, 2}, Fill::Small}}},
      {"add fused relu broadcast",
       "add",
       {{"activation", "relu"}},
       {{{2, 3, 2, 2}, Fill::AwayFromZero}, {{3, 1, 1}, Fill::Small}}},
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
      {"conv2d depthwise",
       "conv2d",
       {{"groups", 3}, {"padding", 1}},
       {{{2, 3, 5, 5}}, {{3, 1, 3, 3}}, {{3}}}},
      {"conv2d fused relu",
       "conv2d",
       {{"activation", "relu"}, {"padding", 1}},
       {{{2, 2, 3, 3}}, {{3, 2, 2, 2}}, {{3}}}},
      {"conv2d fused sigmoid",
       "conv2d",
       {{"activation", "sigmoid"}},
       {{{2, 2, 4, 4}}, {{3, 2, 2, 2}}, {{3}}}},
      {"conv2d fused tanh",
       "conv2d",
       {{"activation", "tanh"}, {"stride", 2}},
       {{{2, 2, 5, 5}}, {{3, 2, 3, 3}}}},
      {"conv2d groups 2 stride 2 same",
       "conv2d",
       {{"groups", 2}, {"stride", 2}, {"padding", "same"}},
       {{{1, 4, 6, 6}}, {{6, 2, 3, 3}}, {{6}}}},
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
      // activations
      {"leaky_relu default", "leaky_relu", json::object(), {{{2, 5}, Fill::AwayFromZero}}},
      {"leaky_relu alpha 0.2", "leaky_relu", {{"alpha", 0.2}}, {{{2, 3, 2}, Fill::AwayFromZero}}},
      {"elu default", "elu", json::object(), {{{2, 5}, Fill::AwayFromZero}}},
      {"elu alpha 0.5", "elu", {{"alpha", 0.5}}, {{{3, 4}, Fill::AwayFromZero}}},
      {"gelu erf", "gelu", json::object(), {{{3, 5}, Fill::Wide}}},
      {"gelu tanh", "gelu", {{"approximate", "tanh"}}, {{{3, 5}, Fill::Wide}}},
      {"silu", "silu", json::object(), {{{3, 5}, Fill::Wide}}},
      {"softplus", "softplus", json::object(), {{{3, 5}, Fill::Wide}}},
      {"log_softmax last axis", "log_softmax", json::object(), {{{3, 5}, Fill::Wide}}},
      {"log_softmax axis 1 of 3", "log_softmax", {{"axis", 1}}, {{{2, 3, 4}}}},
      // global pooling and concat
      {"global_avg_pool2d", "global_avg_pool2d", json::object(), {{{2, 3, 3, 2}}}},
      {"global_max_pool2d", "global_max_pool2d", json::object(), {{{2, 3, 2, 3}, Fill::Distinct}}},
      {"concat axis 1 of three", "concat", json::object(), {{{2, 3, 2}}, {{2, 1, 2}}, {{2, 2, 2}}}},
      {"concat axis -1", "concat", {{"axis", -1}}, {{{2, 2}}, {{2, 3}}}},
      {"concat axis 0", "concat", {{"axis", 0}}, {{{1, 2, 2}}, {{2, 2, 2}}}},
      {"concat one input", "concat", json::object(), {{{2, 3}}}},
      // losses
      {"mse", "mse", json::object(), {{{3, 4}}, {{3, 4}}}},
      {"sigmoid_cross_entropy soft targets",
       "sigmoid_cross_entropy",
       json::object(),
       {{{3, 4}, Fill::Wide}, {{3, 4}, Fill::Probability}}},
      {"sigmoid_cross_entropy int32 0/1 labels",
       "sigmoid_cross_entropy",
       json::object(),
       {{{5}, Fill::Wide}, {{5}, Fill::Labels, 2}}},
      // element-wise math
      {"sub broadcast", "sub", json::object(), {{{2, 3}}, {{3}}}},
      {"sub broadcast first", "sub", json::object(), {{{1, 3}}, {{2, 3}}}},
      {"add both broadcast", "add", json::object(), {{{2, 1, 3}}, {{1, 4, 1}}}},
      {"mul by a scalar", "mul", json::object(), {{{2, 3}}, {{}}}},
      {"sub size-1 dims", "sub", json::object(), {{{2, 1, 3}}, {{2, 1, 1}}}},
      {"div broadcast", "div", json::object(), {{{2, 3}}, {{2, 1}, Fill::Positive}}},
      {"div negative divisor", "div", json::object(), {{{3}}, {{3}, Fill::AwayFromZero}}, {1e-3, 2e-3, 2e-2}},
      {"neg", "neg", json::object(), {{{2, 3}}}},
      {"square", "square", json::object(), {{{2, 3}}}},
      {"exp", "exp", json::object(), {{{2, 3}}}},
      {"log", "log", json::object(), {{{2, 3}, Fill::Positive}}},
      {"sqrt", "sqrt", json::object(), {{{2, 3}, Fill::Positive}}},
      {"abs", "abs", json::object(), {{{2, 3}, Fill::AwayFromZero}}},
      // the grid 0.05 apart stays 0.02 from both bounds: no finite difference crosses a kink
      {"clip", "clip", {{"min", -0.52}, {"max", 0.47}}, {{{2, 20}, Fill::Distinct}}},
      {"scale", "scale", {{"factor", -2.5}}, {{{2, 3}}}},
      {"add_scalar", "add_scalar", {{"value", 0.75}}, {{{2, 3}}}},
      {"batch_norm [N, C]",
       "batch_norm",
       json::object(),
       {{{4, 3}}, {{3}}, {{3}}, {{3}}, {{3}, Fill::Positive}}},
      {"batch_norm [N, C, H, W]",
       "batch_norm",
       {{"epsilon", 1e-3}, {"momentum", 0.5}},
       {{{2, 3, 2, 2}}, {{3}}, {{3}}, {{3}}, {{3}, Fill::Positive}}},
      {"batch_norm fused relu",
       "batch_norm",
       {{"activation", "relu"}},
       {{{3, 2, 2, 2}}, {{2}}, {{2}}, {{2}}, {{2}, Fill::Positive}}},
      {"batch_norm fused relu [N, C]",
       "batch_norm",
       {{"activation", "relu"}},
       {{{5, 3}}, {{3}}, {{3}}, {{3}}, {{3}, Fill::Positive}}},
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
      case Fill::Wide:
        for (float& v : t) v = rng.uniform(-4.0f, 4.0f);
        break;
      case Fill::Positive:
        for (float& v : t) v = rng.uniform(0.5f, 2.0f);
        break;
      case Fill::Probability:
        for (float& v : t) v = rng.uniform(0.05f, 0.95f);
        break;
      case Fill::AwayFromZero:
        for (float& v : t) v = (rng.below(2) ? 1.0f : -1.0f) * rng.uniform(0.1f, 1.0f);
        break;
      case Fill::Small:
        for (float& v : t) v = rng.uniform(-0.05f, 0.05f);
        break;
      case Fill::Distinct: {
        std::vector<int> order(t.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = int(i);
        rng.shuffle(order);
        for (size_t i = 0; i < order.size(); ++i) t.data()[i] = 0.05f * float(order[i]) - 1.0f;
        break;
      }
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
