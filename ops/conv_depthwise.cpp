#include "ops/conv_depthwise.h"

#include <immintrin.h>

#include <algorithm>

#include "ops/conv_ovec.h"
#include "ops/conv_simd.h"
#include "ops/cpu.h"
#include "ops/im2col.h"

namespace xgrad {
namespace {

int64_t channel_blocks(const ConvDims& d) { return (d.c + kLanes - 1) / kLanes; }
int64_t kernel_taps(const ConvDims& d) { return d.kh * d.kw; }
// Channels of block cb that exist.
int64_t channels_in(const ConvDims& d, int64_t cb) { return std::min(kLanes, d.c - cb * kLanes); }

// Offset in a channel-last padded plane [rows, cols, 16] of tap t's cell for output (0, 0).
int64_t tap_offset(const ConvDims& d, int64_t cols, int64_t t) {
  return ((t / d.kw) * d.dilation[0] * cols + (t % d.kw) * d.dilation[1]) * kLanes;
}

// The 16 channel planes of a block are 16 streams for the hardware prefetcher, which lost track of
// them: from 6 MB of activations a 128-channel 14x14 layer ran 2-3x slower per image than from cache.
// So each block asks for the next block's cells (both contiguous) while it runs (5-16 % faster).
// Block cb of a [c, size] tensor t (nothing past the last block).
void prefetch_block(const ConvDims& d, const float* t, int64_t cb, int64_t size) {
  for (int64_t i = 0; cb < channel_blocks(d) && i < channels_in(d, cb) * size; i += kLanes)
    __builtin_prefetch(t + cb * kLanes * size + i, 0, 2);
}
void prefetch_block_to_write(const ConvDims& d, float* t, int64_t cb, int64_t size) {
  for (int64_t i = 0; cb < channel_blocks(d) && i < channels_in(d, cb) * size; i += kLanes)
    __builtin_prefetch(t + cb * kLanes * size + i, 1, 2);
}

}  // namespace

int64_t depthwise_weights_size(const ConvDims& d) { return channel_blocks(d) * kernel_taps(d) * kLanes; }
int64_t depthwise_scratch_size(const ConvDims& d) {
  return (padded_plane(d).size() + d.positions()) * kLanes;
}

namespace {

// wt [block, taps, 16] = w [c, 1, kh, kw], its taps in reverse order where `flipped`.
void prepare_taps(const ConvDims& d, const float* w, bool flipped, float* wt) {
  const int64_t taps = kernel_taps(d);
  for (int64_t cb = 0; cb < channel_blocks(d); ++cb)
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t c = cb * kLanes + l;
        wt[(cb * taps + t) * kLanes + l] = c < d.c ? w[c * taps + (flipped ? taps - 1 - t : t)] : 0.0f;
      }
}

}  // namespace

void depthwise_prepare(const ConvDims& d, const float* w, float* wt) { prepare_taps(d, w, false, wt); }
void depthwise_prepare_dx(const ConvDims& d, const float* w, float* wt) { prepare_taps(d, w, true, wt); }

bool depthwise_dx_as_forward(const ConvDims& d) {
  const ConvDims t = transposed_conv_dims(d);
  return d.stride[0] == 1 && d.stride[1] == 1 && t.g.pad_top >= 0 && t.g.pad_left >= 0;
}
int64_t depthwise_dx_scratch_size(const ConvDims& d) {
  return std::max(depthwise_scratch_size(d),
                  depthwise_dx_as_forward(d) ? depthwise_scratch_size(transposed_conv_dims(d)) : 0);
}

void depthwise_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t t = 0; t < kernel_taps(d); ++t)
      dw[c * kernel_taps(d) + t] += acc[((c / kLanes) * kernel_taps(d) + t) * kLanes + c % kLanes];
}

XGRAD_AVX512_BEGIN

namespace {

// xt [rows, cols, 16] of block cb = its channels of x [c, h, w], shifted by the padding; the
// cells no output reads are left out, the padding (and the lanes of missing channels) is zero.
void to_channel_last(const ConvDims& d, const float* x, int64_t cb, float* xt) {
  const PaddedPlane pp = padded_plane(d);
  const int64_t rows = std::min(d.h, pp.rows - d.g.pad_top), cols = std::min(d.w, pp.cols - d.g.pad_left);
  const auto zero = [&](int64_t r, int64_t j0, int64_t j1) {  // cells [j0, j1) of row r
    std::fill(xt + (r * pp.cols + j0) * kLanes, xt + (r * pp.cols + j1) * kLanes, 0.0f);
  };
  if (channels_in(d, cb) < kLanes) {
    std::fill(xt, xt + pp.size() * kLanes, 0.0f);
  } else {  // only what the copy below leaves
    for (int64_t r = 0; r < pp.rows; ++r)
      if (r < d.g.pad_top || r >= d.g.pad_top + rows) {
        zero(r, 0, pp.cols);
      } else {
        zero(r, 0, d.g.pad_left);
        zero(r, d.g.pad_left + cols, pp.cols);
      }
  }
  const float* src = x + cb * kLanes * d.h * d.w;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j0 = 0; j0 < cols; j0 += kLanes)
      transpose_block(src + r * d.w + j0, d.h * d.w,
                      xt + ((r + d.g.pad_top) * pp.cols + d.g.pad_left + j0) * kLanes, kLanes,
                      channels_in(d, cb), std::min(kLanes, cols - j0));
}

// out [c, positions] of block cb = blk [positions, 16].
void from_positions(const ConvDims& d, const float* blk, int64_t cb, float* out) {
  const int64_t p = d.positions();
  for (int64_t k0 = 0; k0 < p; k0 += kLanes)
    transpose_block(blk + k0 * kLanes, kLanes, out + cb * kLanes * p + k0, p, std::min(kLanes, p - k0),
                    channels_in(d, cb));
}

// blk [positions, 16] = block cb of g [c, positions] (zeros in the lanes of missing channels).
void to_positions(const ConvDims& d, const float* g, int64_t cb, float* blk) {
  const int64_t p = d.positions(), n = channels_in(d, cb);
  if (n < kLanes) std::fill(blk, blk + p * kLanes, 0.0f);
  for (int64_t k0 = 0; k0 < p; k0 += kLanes)
    transpose_block(g + cb * kLanes * p + k0, p, blk + k0 * kLanes, kLanes, n, std::min(kLanes, p - k0));
}

// yt [R outputs of row i from column j, 16] of one block: R independent FMA chains per tap.
template <int R>
void forward_outputs(const ConvDims& d, const float* xt, int64_t cols, const float* wt, const float* bias,
                     int64_t i, int64_t j, float* yt) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_loadu_ps(bias);
  const float* first = xt + (i * d.stride[0] * cols + j * d.stride[1]) * kLanes;
  for (int64_t t = 0; t < kernel_taps(d); ++t) {
    const __m512 wv = _mm512_loadu_ps(wt + t * kLanes);
    const float* x = first + tap_offset(d, cols, t);
    for (int r = 0; r < R; ++r)
      acc[r] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + r * d.stride[1] * kLanes), acc[r]);
  }
  for (int r = 0; r < R; ++r) _mm512_storeu_ps(yt + r * kLanes, acc[r]);
}

// acc[t] += Σ_positions gt[position] · xt[position's cell + tap t] for TB taps from t0.
template <int TB>
void weight_taps(const ConvDims& d, const float* xt, int64_t cols, const float* gt, int64_t t0, float* acc) {
  __m512 a[TB];
  int64_t off[TB];
  for (int t = 0; t < TB; ++t)
    a[t] = _mm512_loadu_ps(acc + (t0 + t) * kLanes), off[t] = tap_offset(d, cols, t0 + t);
  for (int64_t i = 0; i < d.g.out_h; ++i)
    for (int64_t j = 0; j < d.g.out_w; ++j) {
      const __m512 gv = _mm512_loadu_ps(gt + (i * d.g.out_w + j) * kLanes);
      const float* x = xt + (i * d.stride[0] * cols + j * d.stride[1]) * kLanes;
      for (int t = 0; t < TB; ++t) a[t] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(x + off[t]), a[t]);
    }
  for (int t = 0; t < TB; ++t) _mm512_storeu_ps(acc + (t0 + t) * kLanes, a[t]);
}

}  // namespace

void depthwise_forward(const ConvDims& d, const float* x, const float* wt, const float* b, float* scratch,
                       float* y) {
  const PaddedPlane pp = padded_plane(d);
  float *xt = scratch, *yt = scratch + pp.size() * kLanes;
  const int64_t hw = d.h * d.w, p = d.positions();
  for (int64_t cb = 0; cb < channel_blocks(d); ++cb) {
    prefetch_block(d, x, cb + 1, hw);
    prefetch_block_to_write(d, y, cb + 1, p);
    to_channel_last(d, x, cb, xt);
    float bias[kLanes] = {};
    for (int64_t l = 0; b && l < channels_in(d, cb); ++l) bias[l] = b[cb * kLanes + l];
    const float* w = wt + cb * kernel_taps(d) * kLanes;
    for (int64_t i = 0; i < d.g.out_h; ++i)
      for (int64_t j = 0; j < d.g.out_w; j += 8)
        with_count<8>(d.g.out_w - j, [&](auto r) {
          forward_outputs<decltype(r)::value>(d, xt, pp.cols, w, bias, i, j,
                                              yt + (i * d.g.out_w + j) * kLanes);
        });
    from_positions(d, yt, cb, y);
  }
}

void depthwise_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc) {
  const PaddedPlane pp = padded_plane(d);
  float *xt = scratch, *gt = scratch + pp.size() * kLanes;
  const int64_t hw = d.h * d.w, p = d.positions();
  for (int64_t cb = 0; cb < channel_blocks(d); ++cb) {
    prefetch_block(d, x, cb + 1, hw);
    prefetch_block(d, g, cb + 1, p);
    to_channel_last(d, x, cb, xt);
    to_positions(d, g, cb, gt);
    for (int64_t t0 = 0; t0 < kernel_taps(d); t0 += 12)
      with_count<12>(kernel_taps(d) - t0, [&](auto tb) {
        weight_taps<decltype(tb)::value>(d, xt, pp.cols, gt, t0, acc + cb * kernel_taps(d) * kLanes);
      });
  }
}

// dx by the transposed conv's forward, or by scattering each output's gradient to the cells its taps
// read, in a channel-last padded plane, then back to [c, h, w] without the padding (cells no output
// reads get 0).
void depthwise_input_grad(const ConvDims& d, const float* g, const float* wt, float* scratch, float* dx) {
  if (depthwise_dx_as_forward(d))
    return depthwise_forward(transposed_conv_dims(d), g, wt, nullptr, scratch, dx);
  const PaddedPlane pp = padded_plane(d);
  float *gt = scratch, *dxt = scratch + d.positions() * kLanes;
  const int64_t rows = std::min(d.h, pp.rows - d.g.pad_top), cols = std::min(d.w, pp.cols - d.g.pad_left);
  const int64_t hw = d.h * d.w, p = d.positions();
  for (int64_t cb = 0; cb < channel_blocks(d); ++cb) {
    prefetch_block(d, g, cb + 1, p);
    prefetch_block_to_write(d, dx, cb + 1, hw);
    to_positions(d, g, cb, gt);
    std::fill(dxt, dxt + pp.size() * kLanes, 0.0f);
    const float* w = wt + cb * kernel_taps(d) * kLanes;
    for (int64_t t = 0; t < kernel_taps(d); ++t) {
      const __m512 wv = _mm512_loadu_ps(w + t * kLanes);
      const int64_t off = tap_offset(d, pp.cols, t);
      for (int64_t i = 0; i < d.g.out_h; ++i) {
        float* row = dxt + i * d.stride[0] * pp.cols * kLanes + off;
        const float* gr = gt + i * d.g.out_w * kLanes;
        for (int64_t j = 0; j < d.g.out_w; ++j) {
          float* cell = row + j * d.stride[1] * kLanes;
          _mm512_storeu_ps(cell,
                           _mm512_fmadd_ps(wv, _mm512_loadu_ps(gr + j * kLanes), _mm512_loadu_ps(cell)));
        }
      }
    }
    float* out = dx + cb * kLanes * hw;
    if (rows < d.h || cols < d.w) std::fill(out, out + channels_in(d, cb) * hw, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j0 = 0; j0 < cols; j0 += kLanes)
        transpose_block(dxt + ((r + d.g.pad_top) * pp.cols + d.g.pad_left + j0) * kLanes, kLanes,
                        out + r * d.w + j0, d.h * d.w, std::min(kLanes, cols - j0), channels_in(d, cb));
  }
}

XGRAD_AVX512_END

}  // namespace xgrad
