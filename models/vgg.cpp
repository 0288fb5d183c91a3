#include "models/vgg.h"

#include "models/zoo_blocks.h"

namespace xgrad {

Graph vgg(const std::vector<int64_t>& widths, int64_t hidden, double dropout, int64_t classes) {
  GraphBuilder b("vgg");
  Value h = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string block = "block" + std::to_string(i + 1);
    h = conv_bn(b, block + ".conv1", h, widths[i], 3);
    h = conv_bn(b, block + ".conv2", h, widths[i], 3);
    h = b.max_pool2d(h, 2, 2, block + ".pool");  // 28 -> 14 -> 7
  }
  h = layers::dense(b, "fc1", b.flatten(h, "flatten"), hidden);
  h = b.relu(layers::batch_norm(b, "fc1_bn", h), "fc1_relu");
  h = b.dropout(h, dropout, "dropout");
  return finish_classifier(b, layers::dense(b, "fc2", h, classes), y);
}

}  // namespace xgrad
