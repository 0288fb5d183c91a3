#pragma once
// The one random generator of xgrad (xoshiro256**, seeded through splitmix64). Every transform
// (uniform, normal, shuffle) is our own code, so one seed gives the same bits with any standard
// library; the state can be saved and restored for exact resumption.
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace xgrad {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0);

  uint64_t next_u64();
  uint64_t below(uint64_t n);            // uniform in [0, n), unbiased; n > 0
  float uniform01();                     // [0, 1) with 24 random bits
  float uniform(float low, float high);  // [low, high)
  double normal();                       // standard normal, Box-Muller
  double truncated_normal();             // standard normal resampled outside [-2, 2] (Keras)

  template <class T>
  void shuffle(std::vector<T>& v) {  // Fisher-Yates
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

  const State& state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_;
};

}  // namespace xgrad
