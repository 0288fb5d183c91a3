#include "models/lenet.h"

#include "graph/builder.h"
#include "models/zoo_blocks.h"

namespace xgrad {

Graph lenet(const std::string& activation) {
  GraphBuilder b(activation == "sigmoid" ? "lenet" : "lenet-" + activation);
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.activation(activation, layers::conv2d(b, "conv1", x, 6, 5), "act1");  // 6x24x24
  h = b.max_pool2d(h, 2, 2, "pool1");                                               // 6x12x12
  h = b.activation(activation, layers::conv2d(b, "conv2", h, 16, 5), "act2");       // 16x8x8
  h = b.max_pool2d(h, 2, 2, "pool2");                                               // 16x4x4
  h = b.flatten(h, "flatten");                                                      // 256
  h = b.activation(activation, layers::dense(b, "fc1", h, 120), "act3");
  h = b.activation(activation, layers::dense(b, "fc2", h, 84), "act4");
  return finish_classifier(b, layers::dense(b, "fc3", h, 10), y);
}

Graph mlp(const std::vector<int64_t>& hidden, const std::string& activation, int64_t classes) {
  GraphBuilder b("mlp");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = b.flatten(x, "flatten");
  for (size_t i = 0; i < hidden.size(); ++i) {
    const std::string name = "fc" + std::to_string(i + 1);
    h = b.activation(activation, layers::dense(b, name, h, hidden[i]), "act" + std::to_string(i + 1));
  }
  return finish_classifier(b, layers::dense(b, "fc" + std::to_string(hidden.size() + 1), h, classes), y);
}

}  // namespace xgrad
