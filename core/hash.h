#pragma once
// SplitMix64's finalizer: a bijection of 64-bit words that spreads every input bit over the output.
// Counter-based randomness (dropout masks) and fingerprints (graph/distributed.h) are built on it.
#include <cstdint>

namespace xgrad {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace xgrad
