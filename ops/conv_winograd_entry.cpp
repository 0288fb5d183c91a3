// The Winograd entries of the conv kernel table; see ops/KERNELS.md for the measurements behind
// the conditions.
#include "ops/conv_winograd.h"

#include "ops/conv_dilated.h"

namespace xgrad {
namespace {

// The lanes (16 channels per vector at AVX-512, 8 at AVX2): from one vector of input and output
// channels they beat the direct kernels on every shape measured, in forward, weight gradient and input
// gradient. With fewer channels part of each vector is zeros; forward + weight gradient + dx per 64
// images on 28x28, 14x14 and 8x8 planes (KERNELS.md) set where they still win:
// - AVX-512, 3x3: from 12 input and output channels (12 -> 12, 12 -> 24, 16 -> 12, 14 -> 14 won or
//   tied everywhere, by up to 1.45x; 10 -> 10 and 8 -> 16 lost on 14x14), or from 32 inputs and 8
//   outputs (32 -> 8 and 64 -> 8: up to 1.5x; 16 -> 8 lost 12 % on 14x14, 4 and 6 outputs lost to
//   the direct kernel's columns in lanes);
// - AVX-512, 5x5: from 16 (12 -> 12 on 14x14 lost 17 %); 7x7 the same (F(2, 7) against ovec:
//   16 -> 16 on 28x28 and 10x10 and 16 -> 32 on 14x14 0.75–0.81x the time);
// - AVX2, 3x3: from 8 inputs and 4 outputs (16 -> 4, 32 -> 4, 12 -> 6: 1.4–2.3x faster than
//   direct_avx2 and im2col; 6 inputs lost on 14x14); 5x5 and 7x7 from 8 and 8 (7x7: 0.26–0.54x
//   the time of direct_avx2 and im2col, 8 -> 8 on 16x16 to 64 -> 64 on 5x5).
// F(4, 3) multiplies least, but its GEMMs are short on small planes: by training step time F(2, 3)
// won below 256 outputs (16x16), except at AVX-512 where ≥ 4 tiles of 4x4 and ≥ 32x32 channel pairs
// went to F(4, 3) (128 -> 128 at 8x8: F(4, 3) 0.86 of F(2, 3)'s time at AVX-512, 1.15 at AVX2).
bool lanes_channels(const ConvDims& d, Isa isa, int r) {
  if (isa != Isa::Avx512) return d.c >= 8 && d.o >= (r == 3 ? 4 : 8);
  if (r != 3) return d.c >= 16 && d.o >= 16;
  return (d.c >= 12 && d.o >= 12) || (d.c >= 32 && d.o >= 8);
}
bool lanes_prefer_f4(const ConvDims& d, Isa isa) {
  const int64_t tiles = ((d.g.out_h + 3) / 4) * ((d.g.out_w + 3) / 4);
  return d.positions() >= 256 || (isa == Isa::Avx512 && d.c * d.o >= 1024 && tiles >= 4);
}
// 5x5: the variant whose tiles need the fewest products, F(4, 5) (8x8 cells per 4x4 outputs), F(3, 5)
// (7x7 per 3x3) or F(2, 5) (6x6 per 2x2); the count decided every shape measured (KERNELS.md). At AVX2,
// where sgemm runs the cells' GEMMs image by image, only variants with at least 4 tiles an image: on
// 4x4 outputs F(4, 5)'s single tile lost to F(2, 5)'s four (2820 against 1911 µs per 64 images).
int lanes_5x5_tile(const ConvDims& d, Isa isa) {
  const auto tiles = [&](int64_t m) { return ((d.g.out_h + m - 1) / m) * ((d.g.out_w + m - 1) / m); };
  int best = 2;
  for (int m : {3, 4})
    if ((isa == Isa::Avx512 || tiles(m) >= 4) &&
        tiles(m) * (m + 4) * (m + 4) < tiles(best) * (best + 4) * (best + 4))
      best = m;
  return best;
}
// At AVX-512 the AVX2 lanes (8 channels a vector) take 3x3 convs with 8 to 11 outputs from 16
// inputs, which the AVX-512 lanes leave to the direct kernel below 32 inputs: 8-wide vectors of
// outputs are full where 16-wide ones are half empty. From 14x14 outputs (Zen 4, all three parts per
// 64 images against direct_avx512): 16 -> 8 on 28x28 0.72x the time, on 14x14 0.72–0.92x, 24 -> 8
// on 28x28 0.69–0.88x, 16 -> 10 0.76–0.95x; on 7x7 1.19x (ovec_images_avx512 there), with 4 outputs
// 0.83–1.06x, and 8 -> 8 or 8 -> 16 lost to the direct kernel (KERNELS.md).
bool avx2_lanes_at_avx512(const ConvDims& d, int r) {
  return r == 3 && d.c >= 16 && d.o >= 8 && d.o < 12 && d.positions() >= 196;
}
// Channels that fill 8-wide vectors but not 16-wide ones (24, 40, 72, …): the AVX-512 lanes carry
// zeros in part of every vector of channels, the AVX2 lanes none, and Zen 4's FMAs are 256 bits wide
// at either level.
bool eights_fill_better(const ConvDims& d) {
  return d.c % 8 == 0 && d.o % 8 == 0 && (d.c % 16 != 0 || d.o % 16 != 0);
}
// Each set's entries apply at its own level (AVX-512 has its own, measured choices), the AVX2 ones
// also where avx2_lanes_at_avx512.
template <int M, int R, Isa I>
bool lanes_applies(const ConvDims& d, Isa isa) {
  const bool variant = R == 7   ? M == 2
                       : R == 5 ? M == 2 || M == lanes_5x5_tile(d, I)
                                : M == 2 || lanes_prefer_f4(d, I);
  const bool level = isa == I || (I == Isa::Avx2 && isa == Isa::Avx512 && avx2_lanes_at_avx512(d, R));
  return level && winograd_applies(d, R) && lanes_channels(d, I, R) && variant;
}

// 3x3 and 5x5 at stride 2 on 2x2 output tiles (ops/winograd_maps_strided.h), where they beat the
// strided direct kernels (Zen 4, all three parts per 32 images, KERNELS.md):
// - AVX-512: from 16 input and output channels; 3x3 from 8x8 outputs (0.78–0.96x the time of
//   ovec_strided / ovec_images; 7x7 outputs tied, 4x4 lost 1.49x, 12 -> 24 lost 1.40x); 5x5 from 8x8
//   outputs (0.59–0.88x), or from 4x4 with 2048 channel pairs where 2x2 tiles cover the outputs
//   (32 -> 64 on 4x4 0.74x, on 6x6 0.90x, 64 -> 128 on 6x6 0.78x; on 5x5 and 7x7, a third of the
//   tiles' cells padding, 1.05–1.09x; 3x3 outputs lost 1.23x). Where eights_fill_better the AVX2 lanes
//   take these instead (24 -> 48, 40 -> 80, 24 -> 24: 0.84–0.95x the time of the AVX-512 lanes, 5x5
//   0.85–0.94x; with 8 inputs both lost to the direct kernel);
// - AVX2: from 8 inputs and 16 outputs and 4x4 outputs (0.45–0.86x the time of im2col; 8 -> 8 lost
//   1.25–1.47x).
template <int R>
bool strided_at_avx512(const ConvDims& d) {
  const int64_t rows = d.g.out_h, cols = d.g.out_w;
  const bool big = rows >= 8 && cols >= 8;
  const bool even = rows % 2 == 0 && cols % 2 == 0;  // whole 2x2 tiles
  const bool size = R == 3 ? big : big || (rows >= 4 && cols >= 4 && even && d.c * d.o >= 2048);
  return d.c >= 16 && d.o >= 16 && size;
}
template <int R, Isa I>
bool strided_lanes_applies(const ConvDims& d, Isa isa) {
  const bool shape = d.kh == R && d.kw == R && d.stride[0] == 2 && d.stride[1] == 2 && d.dilation[0] == 1 &&
                     d.dilation[1] == 1;
  if (!shape) return false;
  if (I == Isa::Avx2) {
    if (isa == Isa::Avx512) return strided_at_avx512<R>(d) && eights_fill_better(d);
    return isa == I && d.c >= 8 && d.o >= 16 && d.g.out_h >= 4 && d.g.out_w >= 4;
  }
  return isa == I && strided_at_avx512<R>(d) && !eights_fill_better(d);
}

// Dilated convs at stride 1 run the lanes on the mosaic of their phases (ops/conv_dilated.h), chosen
// as above by the mosaic's size. The mosaic's seams cost (k − 1) extra rows and columns per phase, so
// the lanes won less there (KERNELS.md): at AVX2 from 16 channels (8 -> 16 lost 15 % to im2col); at
// AVX-512, 3x3, from 16 input and output channels where output rows fill less than 3/4 of the lanes,
// which the direct kernel needs (16 -> 32 on 22x22 outputs: 1.3x faster than ovec), and where they
// do, from 512 channel pairs, but not below 32 input and output channels on planes of 16 columns or
// fewer (Zen 5: 16 -> 48 on 32x32 took 0.73 of the direct kernel's time, 16 -> 32 and 32 -> 16
// 0.79–0.93; 16 -> 16 and 16 -> 24 lost 0–12 %, 24 -> 24 on 16x16 19 %); 5x5 from 32 (16 -> 16
// lost 9 % to the direct kernel). On small planes the seams are most of the mosaic. Since the lanes
// copy by maps (session 18), output rows and columns: 3x3 from 9 at AVX-512 (8x8 lost to ovec by
// 14–17 %) and from 8 at AVX2 (8x8 won or tied against im2col, 7x7 lost 4 %); 5x5 from 8 at AVX-512
// (8x8 won by 8–23 %, 7x7 lost 6 %) and from 6 at AVX2 (6x6 won by 5–12 %, 5x5 lost 22 %).
template <int M, int R, Isa I>
bool dilated_lanes_applies(const ConvDims& d, Isa isa) {
  const bool stride_1 = d.stride[0] == 1 && d.stride[1] == 1;
  const bool dilated = d.dilation[0] > 1 || d.dilation[1] > 1;
  const int64_t min = R == 3 ? 16 : 32;
  const int64_t min_outputs = I == Isa::Avx512 ? (R == 3 ? 9 : 8) : (R == 3 ? 8 : 6);
  const bool few_pairs = d.c * d.o < 512 || (d.c < 32 && d.o < 32 && d.g.out_w <= 16);
  const bool direct_wins = I == Isa::Avx512 && lanes_filled(d.g.out_w) >= 0.75 && few_pairs;
  return stride_1 && dilated && d.kh == R && d.kw == R && d.c >= min && d.o >= min && !direct_wins &&
         d.g.out_h >= min_outputs && d.g.out_w >= min_outputs && lanes_applies<M, R, I>(mosaic_dims(d), isa);
}

template <int M, int R, Isa I>
ConvKernel dilated_entry(const char* name) {
  ConvKernel k = winograd_lanes_conv_kernel(M, R, I, true);
  k.name = name, k.applies = dilated_lanes_applies<M, R, I>;
  return k;
}

// Plain C++ (any CPU): the transforms cost about (C + O) per output position, the multiplies Winograd
// saves C·O: below 32 input or output channels, or 2^19 channel pairs x output positions per image,
// im2col + sgemm won.
constexpr int64_t kMinChannels = 32;
constexpr int64_t kMinWork = int64_t(1) << 19;

bool plain_applies(const ConvDims& d, Isa) {
  return winograd_applies(d) && d.c >= kMinChannels && d.o >= kMinChannels &&
         d.c * d.o * d.positions() >= kMinWork;
}

// At AVX-512 the AVX2 lanes take the 3x3 and 5x5 convs the AVX-512 lanes would, where
// eights_fill_better, chosen as at the AVX2 level (all three parts per 32 images against the AVX-512
// lanes: 3x3 24 -> 24 on 28x28 0.73x the time, 24 -> 48 on 32x32 0.84x, 40 -> 80 on 16x16 0.88x,
// 72 -> 72 on 8x8 0.92x, 32 -> 8 on 28x28 0.75x, 64 -> 8 on 14x14 0.72x; 5x5 24 -> 48 on 16x16 0.94x;
// 48 -> 48, all vectors full, 0.98x).
template <int M, int R, Isa I>
bool plain_lanes_applies(const ConvDims& d, Isa isa) {
  if (R != 7 && isa == Isa::Avx512 && eights_fill_better(d) && lanes_channels(d, Isa::Avx512, R))
    return I == Isa::Avx2 && lanes_applies<M, R, I>(d, Isa::Avx2);
  return lanes_applies<M, R, I>(d, isa);
}

// The entries of F(m, r) at level I.
using Applies = bool (*)(const ConvDims&, Isa);
template <Isa I>
Applies lanes_applies_of(int m, int r) {
  if (r == 7) return plain_lanes_applies<2, 7, I>;
  if (r == 5)
    return m == 4   ? plain_lanes_applies<4, 5, I>
           : m == 3 ? plain_lanes_applies<3, 5, I>
                    : plain_lanes_applies<2, 5, I>;
  return m == 4 ? plain_lanes_applies<4, 3, I> : plain_lanes_applies<2, 3, I>;
}
template <Isa I>
ConvKernel dilated_entry_of(const char* name, int m, int r) {
  if (r == 5)
    return m == 4   ? dilated_entry<4, 5, I>(name)
           : m == 3 ? dilated_entry<3, 5, I>(name)
                    : dilated_entry<2, 5, I>(name);
  return m == 4 ? dilated_entry<4, 3, I>(name) : dilated_entry<2, 3, I>(name);
}

}  // namespace

ConvKernel winograd_conv_kernel(const char* name, int m, Isa isa, int r) {
  if (isa == Isa::Avx512 || isa == Isa::Avx2) {
    ConvKernel k = winograd_lanes_conv_kernel(m, r, isa);
    k.name = name;
    k.applies = isa == Isa::Avx512 ? lanes_applies_of<Isa::Avx512>(m, r) : lanes_applies_of<Isa::Avx2>(m, r);
    return k;
  }
  ConvKernel k = plain_winograd_conv_kernel();
  k.name = name, k.applies = plain_applies;
  return k;
}

ConvKernel strided_winograd_conv_kernel(const char* name, int r, Isa isa) {
  ConvKernel k = winograd_lanes_conv_kernel(2, r, isa, false, 2);
  k.name = name;
  if (isa == Isa::Avx512)
    k.applies = r == 5 ? strided_lanes_applies<5, Isa::Avx512> : strided_lanes_applies<3, Isa::Avx512>;
  else
    k.applies = r == 5 ? strided_lanes_applies<5, Isa::Avx2> : strided_lanes_applies<3, Isa::Avx2>;
  return k;
}

ConvKernel dilated_winograd_conv_kernel(const char* name, int m, Isa isa, int r) {
  return isa == Isa::Avx512 ? dilated_entry_of<Isa::Avx512>(name, m, r)
                            : dilated_entry_of<Isa::Avx2>(name, m, r);
}

}  // namespace xgrad
