#pragma once
// Data for fit/evaluate as BatchSources (graph/train.h) that own what they read, so they can be
// built from temporaries and passed around by value: samples held in tensors, subsets and splits.
//   FashionMnist data = load_fashion_mnist();
//   auto [train, val] = split(batches_of(data.train), 0.9);  // 54,000 / 6,000, seeded
//   BatchSource small = take(batches_of(data.train), 1000);
#include <cstdint>
#include <vector>

#include "graph/train.h"

namespace xgrad {

// Samples x [N, ...] (fed to the data input) with labels y [N] (class ids) or targets [N, ...];
// a batch copies the rows of its samples. Throws Error when N differs or is 0.
BatchSource tensor_batches(Tensor x, Tensor y);

// The samples `indices` of `source`, in that order (each < source.size, else Error).
BatchSource subset(BatchSource source, std::vector<uint32_t> indices);
// The first n samples (all of them when n >= size).
BatchSource take(BatchSource source, size_t n);

// A random split that does not change with the batch size: floor(fraction * size) samples drawn
// with Rng(seed) go to `first`, the others to `second`, each part in the source's order.
struct Split {
  BatchSource first, second;
};
Split split(const BatchSource& source, double fraction, uint64_t seed = 0);

// Every sample of `source` in order, as one [size, ...] batch of inputs and one of labels.
std::pair<Tensor, Tensor> materialize(const BatchSource& source);

}  // namespace xgrad
