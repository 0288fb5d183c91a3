// The conv2d kernel table; see ops/KERNELS.md for why each kernel exists and when it wins.
#include "ops/conv_kernels.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "ops/conv_depthwise.h"
#include "ops/conv_depthwise_rows.h"
#include "ops/conv_direct.h"
#include "ops/conv_im2col_avx512.h"
#include "ops/conv_images.h"
#include "ops/conv_ovec.h"
#include "ops/conv_plane.h"
#include "ops/conv_pointwise.h"
#include "ops/conv_winograd.h"
#include "ops/im2col.h"

namespace xgrad {
namespace {

bool unit(const Pair& p) { return p[0] == 1 && p[1] == 1; }

// im2col + sgemm: y = w [O, K] · cols [K, P]; dw += g · colsᵀ; dx = col2im(wᵀ · g). Any conv.
// dx's scratch: dcols [K, P], then col2im's.
int64_t gemm_dx_scratch(const ConvDims& d) { return d.patch() * d.positions() + col2im_scratch(d); }
ConvSizes gemm_sizes(const ConvDims& d) {
  const int64_t cols = d.patch() * d.positions();
  return {cols, 0, 0, d.o * d.patch(), gemm_dx_scratch(d)};
}
void gemm_product(const ConvDims& d, const float* w, const float* cols, const float* b, float* y) {
  const int64_t k = d.patch(), p = d.positions();
  for (int64_t o = 0; o < d.o; ++o) std::fill(y + o * p, y + (o + 1) * p, b ? b[o] : 0.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(d.o), int(p), int(k), 1.0f, w, int(k), cols,
              int(p), 1.0f, y, int(p));
}
void gemm_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* kept, float*,
                  float* y) {
  im2col(d, x, kept);
  gemm_product(d, w, kept, b, y);
}
// acc [O, K] += g [O, P] · cols [K, P]ᵀ.
void gemm_weight_grad_of(const ConvDims& d, const float* cols, const float* g, float* acc) {
  const int64_t o = d.o, k = d.patch(), p = d.positions();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(o), int(k), int(p), 1.0f, g, int(p), cols, int(p),
              1.0f, acc, int(k));
}
void gemm_weight_grad(const ConvDims& d, const float*, const float* kept, const float* g, float*,
                      float* acc) {
  gemm_weight_grad_of(d, kept, g, acc);
}
void add_to(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t i = 0; i < d.o * d.patch(); ++i) dw[i] += acc[i];
}
// dcols [K, P] = wᵀ · g (written to `out`).
void gemm_transposed(const ConvDims& d, const float* g, const float* w, float* out) {
  const int64_t k = d.patch(), p = d.positions();
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(k), int(p), int(d.o), 1.0f, w, int(k), g, int(p),
              0.0f, out, int(p));
}
void gemm_input_grad(const ConvDims& d, const float* g, const float* w, const float*, float* scratch,
                     float* dx) {
  gemm_transposed(d, g, w, scratch);
  col2im(d, scratch, scratch + d.patch() * d.positions(), dx);
}

// 1x1, stride 1, no padding: the image is its own im2col matrix, so no copy at all.
bool pointwise_applies(const ConvDims& d, Isa) {
  return d.kh == 1 && d.kw == 1 && unit(d.stride) && d.g.pad_top == 0 && d.g.pad_left == 0 &&
         d.g.out_h == d.h && d.g.out_w == d.w;
}
ConvSizes pointwise_sizes(const ConvDims& d) { return {0, 0, 0, d.o * d.c, 0}; }
void pointwise_forward(const ConvDims& d, const float* x, const float* w, const float* b, float*, float*,
                       float* y) {
  gemm_product(d, w, x, b, y);
}
void pointwise_weight_grad(const ConvDims& d, const float* x, const float*, const float* g, float*,
                           float* acc) {
  gemm_weight_grad_of(d, x, g, acc);
}
void pointwise_input_grad(const ConvDims& d, const float* g, const float* w, const float*, float*,
                          float* dx) {
  gemm_transposed(d, g, w, dx);
}

// One input channel, stride 1, any dilation (ops/conv_direct), AVX-512 or AVX2: first layers and
// depthwise convs. (Many input channels: direct_avx512 and direct_avx2 below.)
template <Isa I>
bool direct_applies(const ConvDims& d, Isa isa) {
  return isa >= I && d.c == 1 && unit(d.stride);
}
// dx as the transposed conv (ops/window.h) run by the direct forward: its weights, then padded g.
int64_t transposed_scratch(const ConvDims& d) {
  const ConvDims t = transposed_conv_dims(d);
  return d.o * d.patch() + t.c * padded_dims(t).size();
}
template <Isa I>
void direct_forward_image(const ConvDims& d, const float* x, const float* w, const float* b, float* kept,
                          float*, float* y) {
  direct_pad(d, x, kept);
  direct_kernel(I).forward(d, kept, w, b, y);
}
template <Isa I>
void direct_weight(const ConvDims& d, const float*, const float* kept, const float* g, float*, float* acc) {
  direct_kernel(I).weight_grad(d, kept, g, acc);
}
// dx by the direct forward kernel run on the padded g with the transposed kernel (for one input
// channel and several outputs it measured 1.5–2.5x faster than the plane kernel's dx).
template <Isa I>
void direct_transposed_input(const ConvDims& d, const float* g, const float* w, const float*, float* scratch,
                             float* dx) {
  transposed_conv_weights(d, w, scratch);
  const ConvDims t = transposed_conv_dims(d);
  float* gp = scratch + d.o * d.patch();
  direct_pad(t, g, gp);
  direct_kernel(I).forward(t, gp, scratch, nullptr, dx);
}
// One input channel: dx by the transposed direct kernel, except for several outputs at the AVX2
// level, where im2col's dx measured faster (16 registers leave the transposed kernel, a sum over
// the outputs, short of accumulators).
template <Isa I>
void direct_input(const ConvDims& d, const float* g, const float* w, const float* wp, float* scratch,
                  float* dx) {
  if (I == Isa::Avx2 && d.o > 1) return gemm_input_grad(d, g, w, wp, scratch, dx);
  direct_transposed_input<I>(d, g, w, wp, scratch, dx);
}
template <Isa I>
ConvSizes direct_sizes(const ConvDims& d) {
  const int64_t dx_scratch = I == Isa::Avx2 && d.o > 1 ? gemm_dx_scratch(d) : transposed_scratch(d);
  return {padded_dims(d).size(), 0, 0, direct_acc_size(d), dx_scratch};
}
template <Isa I>
ConvKernel direct_entry(const char* name) {
  return {name,
          direct_applies<I>,
          direct_sizes<I>,
          nullptr,
          direct_forward_image<I>,
          direct_weight<I>,
          direct_weight_grad_finish,
          direct_input<I>};
}

// Many input channels: the direct kernel puts 16 output columns in a vector where ovec puts 16
// output channels, so it wins where rows fill the lanes better than the channels do. Each part
// is chosen on its own, by the measurements in KERNELS.md: forward wherever the entry applies
// (rows fill at least 3/4 of the lanes, or as many as the channels do); the weight gradient below
// 16 output channels (else ovec's, on the same padded image); dx where x's rows fill 7/8 of the
// lanes and there are 8 or more input channels (else ovec's gather).
bool direct_channels_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && d.c > 1 && unit(d.stride) &&
         lanes_filled(d.g.out_w) >= std::min(0.75, lanes_filled(d.o));
}
bool direct_weight_wins(const ConvDims& d) { return d.o < 16; }
bool direct_dx_wins(const ConvDims& d) { return lanes_filled(d.w) >= 0.85 && d.c >= 8; }
ConvSizes direct_channels_sizes(const ConvDims& d) {
  const bool direct_w = direct_weight_wins(d);
  return {d.c * padded_dims(d).size(), 0, direct_w ? 0 : ovec_scratch_size(d),
          direct_w ? direct_acc_size(d) : ovec_weights_size(d),
          direct_dx_wins(d) ? transposed_scratch(d) : ovec_input_grad_scratch_size(d)};
}
void direct_channels_weight(const ConvDims& d, const float*, const float* kept, const float* g,
                            float* scratch, float* acc) {
  if (direct_weight_wins(d)) return direct_kernel(Isa::Avx512).weight_grad(d, kept, g, acc);
  const PaddedDims pd = padded_dims(d);
  ovec_weight_grad_in(d, kept, pd.rows, pd.cols, g, scratch, acc);
}
void direct_channels_weight_finish(const ConvDims& d, const float* acc, float* dw) {
  direct_weight_wins(d) ? direct_weight_grad_finish(d, acc, dw) : ovec_weight_grad_finish(d, acc, dw);
}
void direct_channels_input(const ConvDims& d, const float* g, const float* w, const float*, float* scratch,
                           float* dx) {
  direct_dx_wins(d) ? direct_transposed_input<Isa::Avx512>(d, g, w, w, scratch, dx)
                    : ovec_input_grad(d, g, w, scratch, dx);
}

// The same at the AVX2 level (8 lanes, 16 registers), against im2col + sgemm: forward by the
// direct kernel where output rows fill 3/4 of the lanes; dx by the transposed direct kernel from 8
// input channels; the weight gradient by im2col + sgemm, which measured 1.2–5x faster than the
// direct blocks there (KERNELS.md). 3x3 layers with many channels keep Winograd (earlier in the table).
bool direct_avx2_applies(const ConvDims& d, Isa isa) {
  // Dilated convs measured slower here than im2col + sgemm (KERNELS.md), so they stay there.
  return isa >= Isa::Avx2 && d.c > 1 && unit(d.stride) && unit(d.dilation) &&
         lanes_filled(d.g.out_w, 8) >= 0.75;
}
bool direct_avx2_dx_wins(const ConvDims& d) { return d.c >= 8; }
ConvSizes direct_avx2_sizes(const ConvDims& d) {
  const int64_t cols = d.patch() * d.positions();
  return {d.c * padded_dims(d).size(), 0, cols, d.o * d.patch(),
          direct_avx2_dx_wins(d) ? transposed_scratch(d) : gemm_dx_scratch(d)};
}
void direct_avx2_weight(const ConvDims& d, const float* x, const float*, const float* g, float* scratch,
                        float* acc) {
  im2col(d, x, scratch);
  gemm_weight_grad_of(d, scratch, g, acc);
}
void direct_avx2_input(const ConvDims& d, const float* g, const float* w, const float* wp, float* scratch,
                       float* dx) {
  direct_avx2_dx_wins(d) ? direct_transposed_input<Isa::Avx2>(d, g, w, wp, scratch, dx)
                         : gemm_input_grad(d, g, w, wp, scratch, dx);
}

// Depthwise 3x3 convs at stride 1 on their own [c, h, w] planes, output columns in the lanes, taps as
// masked loads (ops/conv_depthwise_rows), AVX-512, any padding. Measured faster than depthwise_avx512
// and direct_c1_avx512 from rows of 10 outputs (KERNELS.md, session 22); on rows of 7 or 4 the
// channels fill depthwise_avx512's lanes better.
bool depthwise_rows_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && d.groups == d.c && d.o == d.c && d.kh == 3 && d.kw == 3 && unit(d.stride) &&
         unit(d.dilation) && d.g.out_w >= 10;
}
ConvSizes depthwise_rows_sizes(const ConvDims& d) {
  const int64_t taps = d.c * d.kh * d.kw;
  return {0, 0, 0, taps, 0, taps};
}
void depthwise_rows_forward_image(const ConvDims& d, const float* x, const float* w, const float* b, float*,
                                  float*, float* y) {
  depthwise_rows_forward(d, x, w, b, y);
}
void depthwise_rows_weight(const ConvDims& d, const float* x, const float*, const float* g, float*,
                           float* acc) {
  depthwise_rows_weight_grad(d, x, g, acc);
}
void depthwise_rows_input(const ConvDims& d, const float* g, const float*, const float* flipped, float*,
                          float* dx) {
  depthwise_rows_input_grad(d, g, flipped, dx);
}

// Depthwise convs with 16 channels per vector, all groups of an image in one call
// (ops/conv_depthwise), AVX-512, any kernel, stride, dilation and padding; from 16 channels. With its
// dx as the transposed conv's forward at stride 1 it beat the per-plane direct kernel on every 5x5
// and 7x7 layer measured, rows that fill the lanes included (0.32–0.95x its time, KERNELS.md); 3x3
// layers at stride 1 with rows of 10 or more go to depthwise_rows_avx512 above.
bool depthwise_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && d.groups == d.c && d.o == d.c && d.c >= 16;
}
ConvSizes depthwise_sizes(const ConvDims& d) {
  return {0,
          depthwise_weights_size(d),
          depthwise_scratch_size(d),
          depthwise_weights_size(d),
          depthwise_dx_scratch_size(d),
          depthwise_dx_as_forward(d) ? depthwise_weights_size(d) : 0};
}
void depthwise_forward_image(const ConvDims& d, const float* x, const float* wt, const float* b, float*,
                             float* scratch, float* y) {
  depthwise_forward(d, x, wt, b, scratch, y);
}
void depthwise_weight(const ConvDims& d, const float* x, const float*, const float* g, float* scratch,
                      float* acc) {
  depthwise_weight_grad(d, x, g, scratch, acc);
}
void depthwise_input(const ConvDims& d, const float* g, const float*, const float* wt, float* scratch,
                     float* dx) {
  depthwise_input_grad(d, g, wt, scratch, dx);
}

// Small planes, several images per call with the images innermost (ops/conv_images). It sums only over
// the taps that read the image and keeps 16 sums per weight vector on any plane, where the row kernels
// get blocks of a few outputs and pay a padded copy and transposes per image; but its dx puts the
// input channels in the vector lanes, mostly empty below 8. All parts, per 64 images, against the
// kernel chosen before (KERNELS.md): with 8 or more input channels and at most 49 output cells it won
// wherever Winograd does not apply, whatever the output channels (16 -> 32, stride 2, to 7x7: 660
// against 947 us; 17 -> 9 on 3x3: 61 against 225; 16 -> 4 on 5x5: 125 against 329; 12 -> 6 on 7x7:
// 239 against 417). Up to 10x10 outputs it wins from 16 input and output channels where 20 % or more
// of the products read padding (32 -> 64, dilation 2 on 8x8: 2047 against 2569; 16 -> 16, 5x5,
// dilation 2, "same" on 9x9: 981 against 1158), while 64 -> 128, stride 2, to 8x8 (8 % padding) lost
// 14 % and 16 -> 32 to 14x14 8 %. Below 8 input channels its dx lost (3 -> 24 on 5x5, 3 -> 16 stride
// 2 to 6x6: 182 against 136-185, 224 against 154), and 1x1 convs are a subsample and a GEMM (366
// against 240). Its 16 images of input (and of dx's sums) must stay near the core's 1 MB L2: every
// cell reads every channel; 256 -> 512, stride 2, to 7x7 (50,176 input floats an image) lost 44 %
// (dx 62.6 against 31.4 ms per 32 images), 192 -> 384 (37,632) tied, 128 -> 512 (25,088) won 21 %.
// Marked all_groups so that it sees the groups, and refuses grouped convs (one image a call would
// leave it a sum or two in flight).
double padding_share(const ConvDims& d) {
  auto inside = [](int64_t in, int64_t out, int64_t k, int64_t s, int64_t dil, int64_t pad) {
    int64_t taps = 0;
    for (int64_t p = 0; p < k; ++p) taps += outputs_inside(in, out, s, dil, pad, p).size();
    return double(taps) / double(k * out);
  };
  return 1.0 - inside(d.h, d.g.out_h, d.kh, d.stride[0], d.dilation[0], d.g.pad_top) *
                   inside(d.w, d.g.out_w, d.kw, d.stride[1], d.dilation[1], d.g.pad_left);
}
// Strided convs to planes of at most 16 positions from 128 or more input channels (a ResNet's or
// VGG's last downsampling) go to im2col_gemm_avx512 below, several images a GEMM: all parts, per
// 64 images, against the kernel chosen before (ovec_images): 512 -> 512 to 4x4 110 against 133 ms,
// 256 -> 512 48.6 against 63.3, 192 -> 384 29.6 against 38.0, 128 -> 256 13.1 against 14.2, 128 ->
// 128 and 96 -> 192 tied, 64 -> 128 lost 8 % (3.7 against 3.4), 32 -> 64 59 %. Those kernels refuse them.
bool gemm_images_win(const ConvDims& d) { return !unit(d.stride) && d.positions() <= 16 && d.c >= 128; }
bool images_applies(const ConvDims& d, Isa isa) {
  constexpr int64_t kMostPerImage = 32768;  // floats of an image's input and of its output
  if (isa != Isa::Avx512 || d.groups != 1 || d.kh * d.kw == 1 || d.c < 8 || gemm_images_win(d)) return false;
  if (d.c * d.h * d.w > kMostPerImage || d.o * d.positions() > kMostPerImage) return false;
  if (d.positions() <= 49) return true;
  return d.c >= 16 && d.o >= 16 && d.positions() <= 100 && padding_share(d) >= 0.2;
}
ConvSizes images_sizes(const ConvDims& d) {
  return {0,
          images_weights_size(d),
          images_scratch_size(d),
          images_acc_size(d),
          images_dx_scratch_size(d),
          images_dx_weights_size(d)};
}
void images_forward_call(const ConvDims& d, const float* x, const float* wp, const float* b, float*,
                         float* scratch, float* y) {
  images_forward(d, x, wp, b, scratch, y);
}
void images_weight(const ConvDims& d, const float* x, const float*, const float* g, float* scratch,
                   float* acc) {
  images_weight_grad(d, x, g, scratch, acc);
}
void images_input(const ConvDims& d, const float* g, const float*, const float* wp, float* scratch,
                  float* dx) {
  images_input_grad(d, g, wp, scratch, dx);
}
int64_t images_call_size(const ConvDims&) { return kImagesPerCall; }

// Many output channels at stride 1, AVX-512 (ops/conv_ovec).
bool ovec_applies(const ConvDims& d, Isa isa) { return isa == Isa::Avx512 && unit(d.stride) && d.o >= 8; }
// dx: as the forward of the transposed conv, whose vectors hold 16 input channels, where the
// channels fill them (16, 32, 48, ...) or there are 64 or more; else the gather. dx per 32 images,
// 16 or 64 outputs, 3x3 and 5x5 "same" on 7x7 to 28x28: the transposed conv took 0.72-1.02x the
// gather's time at 16 channels, 0.57-0.85x at 32, 0.60-0.97x at 48; at 8, 20, 24 and 40 channels
// (lanes part empty) 0.78-1.6x, losing on the larger planes (KERNELS.md).
bool ovec_dx_transposed(const ConvDims& d) {
  return (d.c % kLanes == 0 || d.c >= 64) && ovec_transposed_applies(d);
}
ConvSizes ovec_sizes(const ConvDims& d) {
  ConvSizes s{ovec_padded_size(d), ovec_weights_size(d), ovec_scratch_size(d), ovec_weights_size(d),
              ovec_input_grad_scratch_size(d)};
  if (ovec_dx_transposed(d))
    s.dx_scratch = ovec_transposed_scratch_size(d), s.prepared_dx = ovec_transposed_weights_size(d);
  return s;
}
void ovec_forward_image(const ConvDims& d, const float* x, const float* wt, const float* b, float* kept,
                        float* scratch, float* y) {
  ovec_pad(d, x, kept);
  ovec_forward(d, kept, wt, b, scratch, y);
}
void ovec_weight(const ConvDims& d, const float*, const float* kept, const float* g, float* scratch,
                 float* acc) {
  ovec_weight_grad(d, kept, g, scratch, acc);
}
void ovec_input(const ConvDims& d, const float* g, const float* w, const float* wp, float* scratch,
                float* dx) {
  if (ovec_dx_transposed(d)) return ovec_input_grad_transposed(d, g, wp, scratch, dx);
  ovec_input_grad(d, g, w, scratch, dx);
}

// The same at stride 2 and beyond, where the gather for dx would mostly read zeros: dx goes
// through a GEMM + col2im as in im2col_gemm, the GEMM by gemm_avx512 (sgemm's: 32->64 at 32x32,
// stride 2, dx 8956 -> 5868 us per 64 images; 64->128 at 16x16 7705 -> 4398). Not 1x1: there im2col is a
// subsample of the image and its one sgemm measured 1.1–1.8x faster in every part (ResNet's strided
// projections, KERNELS.md).
bool ovec_strided_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && !unit(d.stride) && d.o >= 8 && d.kh * d.kw > 1 && !gemm_images_win(d);
}
// dx as im2col_gemm's, its product wᵀ · g by gemm_avx512 (ops/conv_im2col_avx512.h).
void im2col_avx512_input_grad(const ConvDims& d, const float* g, const float* w, const float*, float* scratch,
                              float* dx) {
  im2col_input_grad_avx512(d, g, w, scratch, dx);
}
ConvSizes ovec_strided_sizes(const ConvDims& d) {
  ConvSizes s = ovec_sizes(d);
  s.dx_scratch = gemm_dx_scratch(d);
  return s;
}

// One input channel, any stride and dilation (ops/conv_plane), per instruction set.
ConvSizes plane_sizes(const ConvDims& d) {
  return {plane_kept_size(d), 0, 0, plane_acc_size(d), plane_dx_scratch(d)};
}
template <Isa I>
bool plane_applies(const ConvDims& d, Isa isa) {
  return isa >= I && d.c == 1;
}
template <Isa I>
void plane_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* kept, float*,
                   float* y) {
  plane_pad(d, x, kept);
  plane_kernel(I).forward(d, kept, w, b, y);
}
template <Isa I>
void plane_weight(const ConvDims& d, const float*, const float* kept, const float* g, float*, float* acc) {
  plane_kernel(I).weight_grad(d, kept, g, acc);
}
template <Isa I>
void plane_input(const ConvDims& d, const float* g, const float* w, const float*, float* scratch, float* dx) {
  plane_kernel(I).input_grad(d, g, w, scratch, dx);
}
template <Isa I>
ConvKernel plane_entry(const char* name) {
  return {name,
          plane_applies<I>,
          plane_sizes,
          nullptr,
          plane_forward<I>,
          plane_weight<I>,
          plane_weight_grad_finish,
          plane_input<I>};
}

// The same 1x1 convs at AVX-512, by gemm_avx512, several images per call on small planes
// (ops/conv_pointwise.h).
bool pointwise_avx512_applies(const ConvDims& d, Isa isa) {
  return isa == Isa::Avx512 && pointwise_applies(d, isa);
}
ConvSizes pointwise_avx512_sizes(const ConvDims& d) {
  return {0, 0, pointwise_scratch_size(d), d.o * d.c, pointwise_dx_scratch_size(d)};
}
void pointwise_avx512_forward(const ConvDims& d, const float* x, const float* w, const float* b, float*,
                              float* scratch, float* y) {
  pointwise_forward_avx512(d, x, w, b, scratch, y);
}
void pointwise_avx512_weight_grad(const ConvDims& d, const float* x, const float*, const float* g,
                                  float* scratch, float* acc) {
  pointwise_weight_grad_avx512(d, x, g, scratch, acc);
}
void pointwise_avx512_input_grad(const ConvDims& d, const float* g, const float* w, const float*,
                                 float* scratch, float* dx) {
  pointwise_input_grad_avx512(d, g, w, scratch, dx);
}

// im2col_gemm with its three products by gemm_avx512, several images a call on output planes of
// at most 16 positions (ops/conv_im2col_avx512.h): at AVX-512 what no kernel above takes, ResNet's
// strided 1x1 projections among them (KERNELS.md).
bool im2col_avx512_applies(const ConvDims&, Isa isa) { return isa == Isa::Avx512; }
ConvSizes im2col_avx512_sizes(const ConvDims& d) {
  return {im2col_avx512_kept_size(d), 0, im2col_avx512_scratch_size(d), d.o * d.patch(),
          im2col_avx512_dx_scratch_size(d)};
}
void im2col_avx512_forward(const ConvDims& d, const float* x, const float* w, const float* b, float* kept,
                           float* scratch, float* y) {
  im2col_forward_avx512(d, x, w, b, kept, scratch, y);
}
void im2col_avx512_weight_grad(const ConvDims& d, const float*, const float* kept, const float* g,
                               float* scratch, float* acc) {
  im2col_weight_grad_avx512(d, kept, g, scratch, acc);
}

bool always(const ConvDims&, Isa) { return true; }

std::string& forced_conv_kernel() {
  static std::string name = [] {
    const char* v = std::getenv("XGRAD_CONV_KERNEL");
    return std::string(v ? v : "");
  }();
  return name;
}

ConvKernel with_own_activation(ConvKernel k) {
  k.own_activation = true;
  return k;
}

// F(2, 7) at AVX-512 leaves small planes to ovec_images_avx512, which skips the products that read
// padding (most of a 7x7 "same" conv's there): it won on every plane of up to 36 output positions
// measured (64 -> 64 on 5x5: 12.0 against 14.8 ms per 64 images) and below 100 under 4096 channel
// pairs (32 -> 64 on 7x7: 12.9 against 15.2), but not from 4096 pairs on larger planes (64 -> 64 on
// 8x8: 32.1 against 24.7; 128 -> 128 on 7x7: 110 against 101) nor on 10x10 (KERNELS.md).
bool f2x7_avx512_applies(const ConvDims& d, Isa isa) {
  static const auto lanes = winograd_conv_kernel("", 2, Isa::Avx512, 7).applies;
  const int64_t p = d.positions(), pairs = d.c * d.o;
  const bool images_win = images_applies(d, isa) && (p <= 36 || (p < 100 && pairs < 4096));
  return lanes(d, isa) && !images_win;
}
ConvKernel with_applies(ConvKernel k, bool (*applies)(const ConvDims&, Isa)) {
  k.applies = applies;
  return k;
}

// Kernels whose products are gemm_avx512 calls on several images side by side (ops/side_by_side.h).
// Their weight gradient is a sum in acc that the first call writes (fresh_acc) and that conv.cpp adds
// over the chunks before one finish (finish_once): with per-chunk zeroing, finishing and adding,
// memset took 14 % of 256 -> 512, stride 2, to 4x4 (acc is O x K, 4.7 MB there, per chunk). Where
// the batch's colsᵀ and g take no more memory than those sums, one GEMM over the batch instead
// (batch_weight_grad, ops/side_by_side.h).
ConvKernel gemm_images_entry(ConvKernel k, int64_t (*images_per_call)(const ConvDims&),
                             int64_t (*batch_size)(const ConvDims&),
                             void (*batch_weight_grad)(const ConvDims&, const float*, float*)) {
  k.images_per_call = images_per_call;
  k.finish_once = true;
  k.fresh_acc = true;
  k.batch_size = batch_size;
  k.batch_weight_grad = batch_weight_grad;
  return k;
}

}  // namespace

const std::vector<ConvKernel>& conv_kernels() {
  static const std::vector<ConvKernel> table = {
      {"depthwise_rows_avx512", depthwise_rows_applies, depthwise_rows_sizes, nullptr,
       depthwise_rows_forward_image, depthwise_rows_weight, add_to, depthwise_rows_input, true,
       depthwise_rows_flip},
      {"depthwise_avx512", depthwise_applies, depthwise_sizes, depthwise_prepare, depthwise_forward_image,
       depthwise_weight, depthwise_weight_grad_finish, depthwise_input, true, depthwise_prepare_dx},
      winograd_conv_kernel("winograd_f4x3_avx512", 4, Isa::Avx512),
      winograd_conv_kernel("winograd_f2x3_avx512", 2, Isa::Avx512),
      winograd_conv_kernel("winograd_f4x5_avx512", 4, Isa::Avx512, 5),
      winograd_conv_kernel("winograd_f3x5_avx512", 3, Isa::Avx512, 5),
      winograd_conv_kernel("winograd_f2x5_avx512", 2, Isa::Avx512, 5),
      with_applies(winograd_conv_kernel("winograd_f2x7_avx512", 2, Isa::Avx512, 7), f2x7_avx512_applies),
      strided_winograd_conv_kernel("winograd_s2_f2x3_avx512", 3, Isa::Avx512),
      strided_winograd_conv_kernel("winograd_s2_f2x5_avx512", 5, Isa::Avx512),
      dilated_winograd_conv_kernel("winograd_f4x3_dilated_avx512", 4, Isa::Avx512),
      dilated_winograd_conv_kernel("winograd_f2x3_dilated_avx512", 2, Isa::Avx512),
      dilated_winograd_conv_kernel("winograd_f4x5_dilated_avx512", 4, Isa::Avx512, 5),
      dilated_winograd_conv_kernel("winograd_f2x5_dilated_avx512", 2, Isa::Avx512, 5),
      winograd_conv_kernel("winograd_f4x3_avx2", 4, Isa::Avx2),
      winograd_conv_kernel("winograd_f2x3_avx2", 2, Isa::Avx2),
      winograd_conv_kernel("winograd_f4x5_avx2", 4, Isa::Avx2, 5),
      winograd_conv_kernel("winograd_f3x5_avx2", 3, Isa::Avx2, 5),
      winograd_conv_kernel("winograd_f2x5_avx2", 2, Isa::Avx2, 5),
      winograd_conv_kernel("winograd_f2x7_avx2", 2, Isa::Avx2, 7),
      strided_winograd_conv_kernel("winograd_s2_f2x3_avx2", 3, Isa::Avx2),
      strided_winograd_conv_kernel("winograd_s2_f2x5_avx2", 5, Isa::Avx2),
      dilated_winograd_conv_kernel("winograd_f4x3_dilated_avx2", 4, Isa::Avx2),
      dilated_winograd_conv_kernel("winograd_f2x3_dilated_avx2", 2, Isa::Avx2),
      dilated_winograd_conv_kernel("winograd_f4x5_dilated_avx2", 4, Isa::Avx2, 5),
      dilated_winograd_conv_kernel("winograd_f2x5_dilated_avx2", 2, Isa::Avx2, 5),
      winograd_conv_kernel("winograd_f2x3", 2, Isa::Generic),
      gemm_images_entry(
          {"pointwise_avx512", pointwise_avx512_applies, pointwise_avx512_sizes, nullptr,
           pointwise_avx512_forward, pointwise_avx512_weight_grad, add_to, pointwise_avx512_input_grad},
          pointwise_images_per_call, pointwise_batch_size, pointwise_batch_weight_grad),
      {"pointwise_gemm", pointwise_applies, pointwise_sizes, nullptr, pointwise_forward,
       pointwise_weight_grad, add_to, pointwise_input_grad},
      direct_entry<Isa::Avx512>("direct_c1_avx512"),
      {"ovec_images_avx512", images_applies, images_sizes, images_prepare, images_forward_call, images_weight,
       images_weight_grad_finish, images_input, true, images_prepare_dx, false, images_call_size},
      {"direct_avx512", direct_channels_applies, direct_channels_sizes, nullptr,
       direct_forward_image<Isa::Avx512>, direct_channels_weight, direct_channels_weight_finish,
       direct_channels_input},
      with_own_activation({"ovec_avx512", ovec_applies, ovec_sizes, ovec_transpose_weights,
                           ovec_forward_image, ovec_weight, ovec_weight_grad_finish, ovec_input, false,
                           ovec_prepare_transposed}),
      with_own_activation({"ovec_strided_avx512", ovec_strided_applies, ovec_strided_sizes,
                           ovec_transpose_weights, ovec_forward_image, ovec_weight, ovec_weight_grad_finish,
                           im2col_avx512_input_grad}),
      plane_entry<Isa::Avx512>("plane_avx512"),
      direct_entry<Isa::Avx2>("direct_c1_avx2"),
      {"direct_avx2", direct_avx2_applies, direct_avx2_sizes, nullptr, direct_forward_image<Isa::Avx2>,
       direct_avx2_weight, add_to, direct_avx2_input},
      plane_entry<Isa::Avx2>("plane_avx2"),
      plane_entry<Isa::Generic>("plane"),
      gemm_images_entry({"im2col_gemm_avx512", im2col_avx512_applies, im2col_avx512_sizes, nullptr,
                         im2col_avx512_forward, im2col_avx512_weight_grad, add_to, im2col_avx512_input_grad},
                        im2col_avx512_images_per_call, im2col_avx512_batch_size,
                        im2col_avx512_batch_weight_grad),
      {"im2col_gemm", always, gemm_sizes, nullptr, gemm_forward, gemm_weight_grad, add_to, gemm_input_grad},
  };
  return table;
}

bool weight_grad_over_batch(const ConvKernel& k, const ConvDims& kd, int64_t calls) {
  if (!k.batch_weight_grad || !k.batch_size || calls != 1) return false;
  const int64_t batch = k.batch_size(kd);
  return batch > 0 &&
         batch <= weight_grad_chunks(kd.n, kernel_images_per_call(k, kd, calls)) * k.sizes(kd).acc;
}

const ConvKernel& choose_conv_kernel(const ConvDims& d) {
  const Isa isa = cpu_isa();
  for (const ConvKernel& k : conv_kernels()) {
    if (!forced_conv_kernel().empty() && forced_conv_kernel() != k.name) continue;
    if (k.applies(kernel_dims(k, d), isa)) return k;
    if (!forced_conv_kernel().empty())
      throw Error("conv kernel \"" + forced_conv_kernel() + "\" does not apply to this conv on " +
                  isa_name(isa));
  }
  throw Error("no conv kernel named \"" + forced_conv_kernel() + "\"");
}

void force_conv_kernel(const std::string& name) { forced_conv_kernel() = name; }

}  // namespace xgrad
