#pragma once
// Train-time image augmentation, as Keras' RandomFlip("horizontal") + RandomTranslation(fill_mode=
// "constant") and PyTorch's RandomHorizontalFlip + RandomCrop(padding=shift) do it: every sample of
// every epoch is mirrored left-right with probability 1/2 and moved by whole pixels, the uncovered
// border filled with zeros. The draw of a sample depends only on (seed, epoch, sample index), so a
// resumed run and every rank of a distributed run see the same images.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace xgrad {

struct Augmentation {
  bool flip = false;  // mirror along the width with probability 1/2
  int64_t shift = 0;  // move by dy and dx, each uniform in [-shift, shift]

  bool enabled() const { return flip || shift > 0; }
  void validate() const;  // throws Error naming the bad setting
  // "none", "flip", "shift=2", "flip,shift=2": what parse_augmentation reads back.
  std::string to_string() const;
};

// Reads a comma-separated list of "flip", "shift=N" (N >= 0), or "none" (the default, nothing).
// Throws Error naming the part it cannot read.
Augmentation parse_augmentation(const std::string& spec);

// Transforms images [count, C, H, W] in place: image i is sample `indices[i]`. Throws Error unless
// the images are 4-d and shift < H and shift < W.
void augment_images(const Augmentation& a, uint64_t seed, uint64_t epoch, const uint32_t* indices,
                    Tensor& images);

}  // namespace xgrad
