#include "models/resnet.h"

#include "models/zoo_blocks.h"

namespace xgrad {

Graph resnet(const std::vector<int64_t>& widths, int64_t blocks, int64_t classes) {
  GraphBuilder b("resnet");
  Value x = b.input("image", {-1, 1, 28, 28});
  Value y = b.input("label", {-1}, DType::Int32);
  Value h = stages(b, conv_bn(b, "stem", x, widths.at(0), 3), widths, blocks, residual_block);
  h = b.global_avg_pool2d(h, "pool");
  return finish_classifier(b, layers::dense(b, "fc", h, classes), y);
}

}  // namespace xgrad
