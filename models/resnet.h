#pragma once
// A small ResNet for 28×28×1 images: a 3×3 conv_bn stem, stages of basic residual blocks (the
// first block of each later stage halves the image with stride 2 and a projection shortcut),
// global average pooling and the classifier.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace xgrad {

// widths: filters per stage (28×28, 14×14, 7×7, ...); blocks: residual blocks per stage. The
// default widths are narrow ({8, 16, 32}, 20k params) so that several seeds train on 2 cores.
Graph resnet(const std::vector<int64_t>& widths = {8, 16, 32}, int64_t blocks = 1, int64_t classes = 10);

}  // namespace xgrad
