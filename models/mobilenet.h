#pragma once
// A MobileNet-style net for 28×28×1 images: a 3×3 conv_bn stem, stages of depthwise-separable
// blocks (depthwise 3×3 conv_bn + relu, then pointwise 1×1 conv_bn + relu; the first block of
// each later stage halves the image with a stride-2 depthwise conv), global average pooling and
// the classifier.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace xgrad {

// widths: pointwise filters per stage (28×28, 14×14, 7×7, ...); blocks: separable blocks per stage;
// stem: filters of the first, ordinary 3×3 conv. The default widths are narrow ({16, 32, 64}, 11k
// params) so that several seeds train on 2 cores.
Graph mobilenet(const std::vector<int64_t>& widths = {16, 32, 64}, int64_t blocks = 2, int64_t stem = 16,
                int64_t classes = 10);

}  // namespace xgrad
