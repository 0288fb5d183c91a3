#include "models/zoo_blocks.h"

namespace xgrad {

Graph finish_classifier(GraphBuilder& b, Value logits, Value labels) {
  b.output("logits", logits);
  b.output("probs", b.softmax(logits, "probs"));
  b.output("loss", b.softmax_cross_entropy(logits, labels, "loss"));
  return b.finish();
}

Value conv_bn(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
              int64_t stride, bool relu, int64_t groups) {
  const int64_t channels = b.shape(x).at(1);
  Value w = b.param(name + ".w", {filters, channels / groups, kernel, kernel}, Init{"he_uniform"});
  json attrs = {{"stride", stride}, {"padding", "same"}};
  if (groups != 1) attrs["groups"] = groups;
  Value h = layers::batch_norm(b, name + "_bn", b.op("conv2d", {x, w}, attrs, name));
  return relu ? b.relu(h, name + "_relu") : h;
}

Value residual_block(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t stride) {
  Value h = conv_bn(b, name + ".conv1", x, filters, 3, stride);
  h = conv_bn(b, name + ".conv2", h, filters, 3, 1, false);
  const bool same_shape = stride == 1 && b.shape(x).at(1) == filters;
  Value shortcut = same_shape ? x : conv_bn(b, name + ".project", x, filters, 1, stride, false);
  return b.relu(b.add(h, shortcut, name + ".add"), name + ".relu");
}

Value stages(GraphBuilder& b, Value x, const std::vector<int64_t>& widths, int64_t blocks, Block block) {
  Value h = x;
  for (size_t s = 0; s < widths.size(); ++s)
    for (int64_t k = 0; k < blocks; ++k) {
      const std::string name = "stage" + std::to_string(s + 1) + ".block" + std::to_string(k + 1);
      h = block(b, name, h, widths[s], s > 0 && k == 0 ? 2 : 1);
    }
  return h;
}

Value separable_block(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t stride) {
  const int64_t channels = b.shape(x).at(1);
  Value h = conv_bn(b, name + ".depthwise", x, channels, 3, stride, true, channels);
  return conv_bn(b, name + ".pointwise", h, filters, 1);
}

}  // namespace xgrad
