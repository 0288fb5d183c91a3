// The input gradient of the ovec kernel (stride 1, any channels, kernel size, dilation, padding),
// as a gather over dx's own cells, packed as [c][h*W] with W = max(w, out_w) and rounded up to
// vectors:
//   dx[c][u] = Σ_o,p,q w[o,c,p,q] * gw[o][lead + u + shift(p,q)],  shift = (pt - p*dh)*W + pl - q*dw
// gw holds g[o,i,j] at lead + i*W + j and zeros elsewhere, with a zero lead and tail so that every
// shifted vector stays inside. Lanes whose g column would wrap into the neighbouring row are masked
// off per (vector, q); kernel rows that read only outside g for a whole block are skipped. Only dx's
// own cells are computed (not the padding around them): small planes (7x7 with 5x5 "same") waste
// little, and the border rows of valid convs skip the taps that read nothing.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "ops/conv_ovec.h"
#include "ops/conv_simd.h"
#include "ops/cpu.h"

namespace xgrad {
namespace {

struct GatherDims {
  int64_t width;  // W: the row length of both dx's packed cells and gw
  int64_t vecs;   // vectors of dx cells per channel
  int64_t lead;   // zeros before g's first cell in each gw row
  int64_t row;    // floats per output channel in gw
};

int64_t shift(const ConvDims& d, int64_t width, int64_t p, int64_t q) {
  return (d.g.pad_top - p * d.dilation[0]) * width + d.g.pad_left - q * d.dilation[1];
}

GatherDims gather_dims(const ConvDims& d) {
  GatherDims gd{};
  gd.width = std::max(d.w, d.g.out_w);
  gd.vecs = (d.h * gd.width + kLanes - 1) / kLanes;
  gd.lead = std::max<int64_t>(0, -shift(d, gd.width, d.kh - 1, d.kw - 1));
  const int64_t data_end = gd.lead + d.g.out_h * gd.width;
  gd.row = std::max(data_end, gd.lead + gd.vecs * kLanes + std::max<int64_t>(0, shift(d, gd.width, 0, 0)));
  return gd;
}

// Floats of each scratch part: gw, the packed dx, then the lane masks (one uint16 per vector and q).
int64_t gw_size(const ConvDims& d, const GatherDims& gd) { return d.o * gd.row; }
int64_t dxp_size(const ConvDims& d, const GatherDims& gd) { return d.c * gd.vecs * kLanes; }
int64_t mask_size(const ConvDims& d, const GatherDims& gd) { return (gd.vecs * d.kw + 1) / 2; }

}  // namespace

int64_t ovec_input_grad_scratch_size(const ConvDims& d) {
  const GatherDims gd = gather_dims(d);
  return gw_size(d, gd) + dxp_size(d, gd) + mask_size(d, gd);
}

bool ovec_transposed_applies(const ConvDims& d) {
  const ConvDims t = transposed_conv_dims(d);
  // the padding after the transposed conv's last row and column: (k − 1)·dilation − the original's
  const int64_t bottom = d.h + d.g.pad_top - d.g.out_h, right = d.w + d.g.pad_left - d.g.out_w;
  return d.stride[0] == 1 && d.stride[1] == 1 && d.groups == 1 && t.g.pad_top >= 0 && t.g.pad_left >= 0 &&
         bottom >= 0 && right >= 0;
}

int64_t ovec_transposed_weights_size(const ConvDims& d) {
  return ovec_weights_size(transposed_conv_dims(d)) + d.o * d.patch();
}

void ovec_prepare_transposed(const ConvDims& d, const float* w, float* prepared) {
  const ConvDims t = transposed_conv_dims(d);
  float* flipped = prepared + ovec_weights_size(t);  // wᵀ [c, o, kh, kw]
  transposed_conv_weights(d, w, flipped);
  ovec_transpose_weights(t, flipped, prepared);
}

int64_t ovec_transposed_scratch_size(const ConvDims& d) {
  const ConvDims t = transposed_conv_dims(d);
  return ovec_padded_size(t) + ovec_scratch_size(t);
}

void ovec_input_grad_transposed(const ConvDims& d, const float* g, const float* prepared, float* scratch,
                                float* dx) {
  const ConvDims t = transposed_conv_dims(d);
  float* padded_g = scratch;
  ovec_pad(t, g, padded_g);
  ovec_forward(t, padded_g, prepared, nullptr, scratch + ovec_padded_size(t), dx);
}

XGRAD_AVX512_BEGIN

namespace {

// dxp[c0 .. c0+CB][vectors v0 .. v0+UB) over every tap and output channel.
template <int CB, int UB>
void gather_block(const ConvDims& d, const GatherDims& gd, const float* gw, const float* w,
                  const uint16_t* masks, int64_t c0, int64_t v0, float* dxp) {
  const int64_t t = d.patch(), oh = d.g.out_h;
  const int64_t r_lo = v0 * kLanes / gd.width, r_hi = std::min(d.h - 1, ((v0 + UB) * kLanes - 1) / gd.width);
  __m512 acc[CB][UB];
  for (int c = 0; c < CB; ++c)
    for (int u = 0; u < UB; ++u) acc[c][u] = _mm512_setzero_ps();
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t p = 0; p < d.kh; ++p) {
      const int64_t i_off = d.g.pad_top - p * d.dilation[0];  // g row = dx row + i_off
      if (r_hi + i_off < 0 || r_lo + i_off >= oh) continue;
      for (int64_t q = 0; q < d.kw; ++q) {
        const float* src = gw + o * gd.row + gd.lead + v0 * kLanes + shift(d, gd.width, p, q);
        __m512 gv[UB];
        for (int u = 0; u < UB; ++u)
          gv[u] = _mm512_maskz_loadu_ps(masks[(v0 + u) * d.kw + q], src + u * kLanes);
        const float* wk = w + o * t + (c0 * d.kh + p) * d.kw + q;
        for (int c = 0; c < CB; ++c) {
          const __m512 wv = _mm512_set1_ps(wk[c * d.kh * d.kw]);
          for (int u = 0; u < UB; ++u) acc[c][u] = _mm512_fmadd_ps(wv, gv[u], acc[c][u]);
        }
      }
    }
  for (int c = 0; c < CB; ++c)
    for (int u = 0; u < UB; ++u)
      _mm512_storeu_ps(dxp + (c0 + c) * gd.vecs * kLanes + (v0 + u) * kLanes, acc[c][u]);
}

// Lane l of vector v reads g column (u % W) + pl - q*dw, u = 16v + l: kept when that is a column of g
// and u is a cell of dx.
void lane_masks(const ConvDims& d, const GatherDims& gd, uint16_t* masks) {
  for (int64_t v = 0; v < gd.vecs; ++v)
    for (int64_t q = 0; q < d.kw; ++q) {
      uint16_t m = 0;
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t u = v * kLanes + l, j = u % gd.width + d.g.pad_left - q * d.dilation[1];
        if (u < d.h * gd.width && j >= 0 && j < d.g.out_w) m = uint16_t(m | (1u << l));
      }
      masks[v * d.kw + q] = m;
    }
}

}  // namespace

void ovec_input_grad(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx) {
  const GatherDims gd = gather_dims(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w;
  float *gw = scratch, *dxp = gw + gw_size(d, gd);
  uint16_t* masks = reinterpret_cast<uint16_t*>(dxp + dxp_size(d, gd));
  std::fill(gw, gw + gw_size(d, gd), 0.0f);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t i = 0; i < oh; ++i)
      std::copy(g + (o * oh + i) * ow, g + (o * oh + i + 1) * ow, gw + o * gd.row + gd.lead + i * gd.width);
  lane_masks(d, gd, masks);
  // Blocks of up to 6 channels x 3 vectors: 18 accumulators, 3 + 6 loads per 18 FMAs.
  for (int64_t c0 = 0; c0 < d.c; c0 += 6)
    for (int64_t v0 = 0; v0 < gd.vecs; v0 += 3)
      with_count<6>(d.c - c0, [&](auto cb) {
        with_count<3>(gd.vecs - v0, [&](auto ub) {
          gather_block<decltype(cb)::value, decltype(ub)::value>(d, gd, gw, w, masks, c0, v0, dxp);
        });
      });
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t r = 0; r < d.h; ++r) {
      const float* src = dxp + c * gd.vecs * kLanes + r * gd.width;
      std::copy(src, src + d.w, dx + (c * d.h + r) * d.w);
    }
}

XGRAD_AVX512_END

}  // namespace xgrad
