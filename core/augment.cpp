#include "core/augment.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/error.h"
#include "core/hash.h"

namespace xgrad {
namespace {

constexpr uint64_t kAugmentSalt = 0x6175676d656e74ull;  // "augment": draws unlike dropout's

struct Draw {
  bool flip;
  int64_t dy, dx;
};

// Counter-based: the sample's transform is a hash of (seed, epoch, index), independent of batch,
// shard and resume. The modulo bias of 24 random bits over 2·shift + 1 values is negligible.
Draw draw(const Augmentation& a, uint64_t seed, uint64_t epoch, uint32_t index) {
  const uint64_t r = mix64(mix64(mix64(seed ^ kAugmentSalt) ^ epoch) ^ index);
  const uint64_t span = uint64_t(2 * a.shift + 1);
  return {a.flip && (r & 1) != 0, int64_t((r >> 8) % span) - a.shift, int64_t((r >> 32) % span) - a.shift};
}

// out(y, x) = in(y - dy, x'), x' = x - dx, mirrored (W - 1 - x') when flipped; 0 outside the image.
void transform_plane(const float* in, float* out, int64_t h, int64_t w, const Draw& d) {
  for (int64_t y = 0; y < h; ++y) {
    const int64_t sy = y - d.dy;
    for (int64_t x = 0; x < w; ++x) {
      const int64_t sx0 = x - d.dx, sx = d.flip ? w - 1 - sx0 : sx0;
      const bool inside = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
      out[y * w + x] = inside ? in[sy * w + sx] : 0.0f;
    }
  }
}

int64_t parse_shift(const std::string& value, const std::string& part) {
  int64_t n = 0;
  const char* end = value.data() + value.size();
  const auto [ptr, ec] = std::from_chars(value.data(), end, n);
  if (value.empty() || ec != std::errc() || ptr != end || n < 0)
    throw Error("augmentation \"" + part + "\": the shift must be a whole number of pixels >= 0");
  return n;
}

}  // namespace

void Augmentation::validate() const {
  if (shift < 0) throw Error("augmentation shift must be >= 0, got " + std::to_string(shift));
}

std::string Augmentation::to_string() const {
  std::string s = flip ? "flip" : "";
  if (shift > 0) s += (s.empty() ? "shift=" : ",shift=") + std::to_string(shift);
  return s.empty() ? "none" : s;
}

Augmentation parse_augmentation(const std::string& spec) {
  Augmentation a;
  if (spec == "none") return a;
  size_t begin = 0;
  while (begin <= spec.size()) {
    const size_t comma = std::min(spec.find(',', begin), spec.size());
    const std::string part = spec.substr(begin, comma - begin);
    if (part == "flip")
      a.flip = true;
    else if (part.rfind("shift=", 0) == 0)
      a.shift = parse_shift(part.substr(6), part);
    else
      throw Error("augmentation \"" + part +
                  "\" is unknown (valid: flip, shift=N, none; e.g. \"flip,shift=2\")");
    begin = comma + 1;
  }
  return a;
}

void augment_images(const Augmentation& a, uint64_t seed, uint64_t epoch, const uint32_t* indices,
                    Tensor& images) {
  a.validate();
  if (!a.enabled()) return;
  if (images.dimension() != 4)
    throw Error("augmentation needs images [N, C, H, W], got samples of shape " +
                to_string(shape_of(images)));
  const auto& s = images.shape();
  const int64_t count = int64_t(s[0]), planes = int64_t(s[1]), h = int64_t(s[2]), w = int64_t(s[3]);
  if (a.shift >= h || a.shift >= w)
    throw Error("augmentation shift " + std::to_string(a.shift) + " is not below the image size " +
                std::to_string(h) + "x" + std::to_string(w));
  std::vector<float> original(size_t(h * w));
  for (int64_t i = 0; i < count; ++i) {
    const Draw d = draw(a, seed, epoch, indices[i]);
    if (!d.flip && d.dy == 0 && d.dx == 0) continue;
    for (int64_t c = 0; c < planes; ++c) {
      float* plane = images.data() + (i * planes + c) * h * w;
      std::copy(plane, plane + h * w, original.begin());
      transform_plane(original.data(), plane, h, w, d);
    }
  }
}

}  // namespace xgrad
