#pragma once
// A VGG-style net for 28×28×1 images: blocks of two 3×3 conv + batch norm + relu, each block
// followed by 2×2 max pooling, then a dense layer with batch norm, dropout and the classifier.
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace xgrad {

// widths: filters per block (each block halves the image); hidden: units of the dense layer. The
// default widths are narrow ({16, 32}, 219k params) so that 3 seeds x 15 epochs train on 2 cores.
// It overfits without help; its recipe (README) flips the training images:
//   xgrad train --model vgg --optimizer adam --lr 0.002 --schedule cosine --epochs 15 --batch 128 --augment
//   flip
Graph vgg(const std::vector<int64_t>& widths = {16, 32}, int64_t hidden = 128, double dropout = 0.4,
          int64_t classes = 10);

}  // namespace xgrad
