#include "models/resnet.h"

#include "models/zoo_blocks.h"

namespace xgrad {

Graph resnet(const std::vector<int64_t>& widths, int64_t blocks, int64_t classes) {
  GraphBuilder b("resnet");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = conv_bn(b, "stem", x, widths.at(0), 3);
  for (size_t s = 0; s < widths.size(); ++s)
    for (int64_t k = 0; k < blocks; ++k) {
      const std::string name = "stage" + std::to_string(s + 1) + ".block" + std::to_string(k + 1);
      h = residual_block(b, name, h, widths[s], s > 0 && k == 0 ? 2 : 1);
    }
  h = b.global_avg_pool2d(h, "pool");
  return finish_classifier(b, layers::dense(b, "fc", h, classes), y);
}

}  // namespace xgrad
