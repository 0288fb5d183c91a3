#pragma once
// Building blocks shared by the model zoo (VGG-style, ResNet-style, MobileNet-style), each reading
// like its diagram. Convolutions followed by batch norm have no bias (beta plays its part).
#include <string>
#include <vector>

#include "graph/builder.h"

namespace xgrad {

// The tail of every classifier: outputs "logits", "probs" (softmax) and "loss" (mean cross-entropy).
Graph finish_classifier(GraphBuilder& b, Value logits, Value labels);

// NAME: conv k×k (padding "same", no bias, He init) -> batch norm NAME_bn -> relu (when `relu`).
// `groups` > 1 makes a grouped conv (groups = channels: depthwise).
Value conv_bn(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t kernel,
              int64_t stride = 1, bool relu = true, int64_t groups = 1);

// ResNet basic block: conv_bn 3×3 (stride) -> conv_bn 3×3 without relu, plus the shortcut (x, or
// a 1×1 conv_bn projection when the shape changes), then relu.
Value residual_block(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t stride);

// A block of a staged net: block(b, name, x, filters, stride) -> the block's output.
using Block = Value (*)(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t stride);

// Stages of `blocks` blocks named stageS.blockK; stage S has widths[S] filters, and the first
// block of every stage after the first halves the image (stride 2).
Value stages(GraphBuilder& b, Value x, const std::vector<int64_t>& widths, int64_t blocks, Block block);

// MobileNet's depthwise-separable block: NAME.depthwise, a 3×3 conv_bn with one filter per channel
// (groups = channels; `stride`), then NAME.pointwise, a 1×1 conv_bn to `filters`; relu after each.
Value separable_block(GraphBuilder& b, const std::string& name, Value x, int64_t filters, int64_t stride);

}  // namespace xgrad
