#include "ops/conv_ovec.h"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "ops/activation.h"
#include "ops/conv_simd.h"
#include "ops/cpu.h"
#include "ops/im2col.h"

namespace xgrad {
namespace {

struct Padded {
  int64_t rows, cols;
};
// Stride 1: output (i, j) with tap (p, q) reads padded cell (i + p*dh, j + q*dw).
Padded padded(const ConvDims& d) {
  const PaddedPlane pp = padded_plane(d);
  return {pp.rows, pp.cols};
}
int64_t blocks(const ConvDims& d) { return (d.o + kLanes - 1) / kLanes; }
// Rows of 4 outputs or fewer (a 4x4 or 3x3 plane) run in blocks of up to 8 consecutive outputs
// across rows, for two blocks of output channels: 64 -> 128 at 8x8 stride 2 (4x4 outputs), forward
// per 64 images 2101 -> 1015 us; 64 -> 64 3x3 on 4x4 994 -> 531. Not for one block of channels
// (32 -> 16 on 4x4: 134 -> 147), nor for planes of fewer than 8 outputs (2x2: 934 -> 1210), nor
// for longer rows (5x5 to 14x14 outputs: 1.0-1.2x slower, the blocks' kernel rows are the union of
// two output rows').
bool flat_blocks(const ConvDims& d) { return d.g.out_w <= 4 && d.positions() >= 8 && d.o > kLanes; }
int64_t taps(const ConvDims& d) { return d.patch(); }
// The weight gradient's order of taps, and of their sums in acc: kernel position first with 8 or more
// channels (see weight_blocks), else [c, kh, kw].
bool position_first(const ConvDims& d) { return d.c >= 8; }

}  // namespace

int64_t ovec_padded_size(const ConvDims& d) { return d.c * padded(d).rows * padded(d).cols; }
int64_t ovec_weights_size(const ConvDims& d) { return blocks(d) * taps(d) * kLanes; }
// Forward needs [up to 2 blocks, positions, 16]; weight_grad [o blocks, positions, 16].
int64_t ovec_scratch_size(const ConvDims& d) {
  return std::max<int64_t>(2, blocks(d)) * d.positions() * kLanes;
}

void ovec_pad(const ConvDims& d, const float* x, float* xp) { pad_image(d, x, xp); }

void ovec_transpose_weights(const ConvDims& d, const float* w, float* wt) {
  const int64_t t = taps(d);
  for (int64_t ob = 0; ob < blocks(d); ++ob)
    for (int64_t k = 0; k < t; ++k)
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t o = ob * kLanes + l;
        wt[(ob * t + k) * kLanes + l] = o < d.o ? w[o * t + k] : 0.0f;
      }
}

void ovec_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  const int64_t t = taps(d), kk = d.kh * d.kw;
  const bool by_position = position_first(d);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t pq = 0; pq < kk; ++pq) {
        const int64_t slot = by_position ? pq * d.c + c : c * kk + pq;
        dw[o * t + c * kk + pq] += acc[((o / kLanes) * t + slot) * kLanes + o % kLanes];
      }
}

XGRAD_AVX512_BEGIN

// GCC 12's own _mm512_undefined_ps (inside the unpack and shuffle intrinsics) trips
// -Wmaybe-uninitialized and -Wuninitialized; nothing here is read before it is written.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// A named function, not a lambda: a lambda's call operator is outside the target pragma, and GCC
// then refuses its __m512 arguments in a build without -march=native (-Wpsabi).
static __m512d as_pd(__m512 v) { return _mm512_castps_pd(v); }

// Row i of a block of `rows` rows (zeros past them), and the store of output row i of `cols`.
static __m512 block_row(const float* src, int64_t ss, int i, int64_t rows, bool whole, __mmask16 read) {
  if (whole) return _mm512_loadu_ps(src + i * ss);
  return i < rows ? _mm512_maskz_loadu_ps(read, src + i * ss) : _mm512_setzero_ps();
}
// stream: whole rows on 64-byte boundaries go out with non-temporal stores.
static void store_row(float* dst, int64_t ds, int i, int64_t cols, bool whole, bool stream, __mmask16 write,
                      __m512 v) {
  if (stream)
    _mm512_stream_ps(dst + i * ds, v);
  else if (whole)
    _mm512_storeu_ps(dst + i * ds, v);
  else if (i < cols)
    _mm512_mask_storeu_ps(dst + i * ds, write, v);
}

// In registers: unpacks, then 128-bit lane shuffles. A partial block reads its rows with masks
// (missing rows are zeros) and writes only its cells. The loads feed the first unpacks and the
// last shuffles feed the stores directly: with a plain load loop into an array GCC made a call to
// memcpy of the block (and another for the stores) wherever a stride was 16.
void transpose_block(const float* src, int64_t ss, float* dst, int64_t ds, int64_t rows, int64_t cols,
                     bool stream) {
  const bool whole = rows == kLanes && cols == kLanes;
  stream = stream && whole && reinterpret_cast<uintptr_t>(dst) % 64 == 0 && ds % kLanes == 0;
  const __mmask16 read = __mmask16((1u << cols) - 1), write = __mmask16((1u << rows) - 1);
  __m512 r[16], t[16];
  for (int i = 0; i < 16; i += 2) {
    const __m512 a = block_row(src, ss, i, rows, whole, read),
                 b = block_row(src, ss, i + 1, rows, whole, read);
    t[i] = _mm512_unpacklo_ps(a, b);
    t[i + 1] = _mm512_unpackhi_ps(a, b);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(as_pd(t[i]), as_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(as_pd(t[i]), as_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(as_pd(t[i + 1]), as_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(as_pd(t[i + 1]), as_pd(t[i + 3])));
  }
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; ++i) {  // output rows i and i + 8
    store_row(dst, ds, i, cols, whole, stream, write, _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88));
    store_row(dst, ds, i + 8, cols, whole, stream, write, _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd));
  }
}

#pragma GCC diagnostic pop

namespace {

// out[k] [R positions, 16 channels] for R adjacent outputs of one row and OB blocks of 16 output
// channels (weights wt[k], k < OB); src = the first input cell, output r reads r*sw further on.
// Each broadcast input value feeds OB FMAs. Kernel rows outside `rows` read only padding: skipped
// (a 5x5 "same" conv on 7x7 reads padding with 6 of its 35 row taps). SW: the column stride when
// known at compile time (1 or 2), else 0: with a run-time stride GCC kept the R broadcasts' addresses
// in R registers and reloaded spilled ones inside the loop (32 -> 64 at 32x32 stride 2, in cache:
// 55-57 -> 48 µs an image; LeNet's conv2 4.4 -> 4.2). KW: the kernel width when known, else 0.
template <int OB, int R, int SW = 0, int KW = 0>
void forward_block(const ConvDims& d, const float* src, const float* wt, KernelRows rows, float* out) {
  const int64_t sw = SW ? SW : d.stride[1], kw = KW ? KW : d.kw;
  const Padded pd = padded(d);
  const int64_t wstride = taps(d) * kLanes, ostride = d.positions() * kLanes;
  __m512 acc[OB][R];
  for (int k = 0; k < OB; ++k)
    for (int r = 0; r < R; ++r) acc[k][r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t p = rows.begin; p < rows.end; ++p) {
      const float* row = src + (c * pd.rows + p * d.dilation[0]) * pd.cols;
      const float* wq = wt + (c * d.kh + p) * kw * kLanes;
      for (int64_t q = 0; q < kw; ++q, wq += kLanes) {
        __m512 wv[OB];
        for (int k = 0; k < OB; ++k) wv[k] = _mm512_loadu_ps(wq + k * wstride);
        const float* s = row + q * d.dilation[1];
        for (int r = 0; r < R; ++r) {
          const __m512 xv = _mm512_set1_ps(s[r * sw]);
          for (int k = 0; k < OB; ++k) acc[k][r] = _mm512_fmadd_ps(wv[k], xv, acc[k][r]);
        }
      }
    }
  for (int k = 0; k < OB; ++k)
    for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + k * ostride + r * kLanes, acc[k][r]);
}

// forward_block with the column stride and, at stride 1, the common kernel widths fixed at compile
// time: with the width known GCC unrolls the loop over a kernel row (16 -> 16, 5x5, dilation 2, on
// 9x9: forward 514 -> 451 us per 64 images; 32 -> 64, 3x3 on 5x5: 472 -> 406). Not at stride 2:
// 32 -> 64, 3x3 on 32x32 lost 6-19 %.
template <int OB, int R>
auto block_for(const ConvDims& d) {
  const int64_t sw = d.stride[1], kw = d.kw;
  if (sw == 1)
    return kw == 3   ? forward_block<OB, R, 1, 3>
           : kw == 5 ? forward_block<OB, R, 1, 5>
                     : forward_block<OB, R, 1>;
  return sw == 2 ? forward_block<OB, R, 2> : forward_block<OB, R>;
}

// forward_block for R outputs anywhere in the plane, output r reading from xp + off[r] (its first
// input cell): consecutive outputs across row ends, so planes with rows of 4 or fewer still keep 8
// outputs in flight. `rows` is the union of the outputs' kernel rows inside; an output whose own
// rows are fewer reads zeros of the padded plane there, which leave its sums exact. Its own copy of
// forward_block's loops: one template for both, with the same inner loop, measured 15-20 % slower
// on forward_block's strided case (32 -> 64 at 32x32, 4.2 -> 4.9 ms per 64 images).
template <int OB, int R>
void forward_flat(const ConvDims& d, const float* xp, const int64_t* off, const float* wt, KernelRows rows,
                  float* out) {
  const Padded pd = padded(d);
  const int64_t wstride = taps(d) * kLanes, ostride = d.positions() * kLanes;
  int64_t at[R];
  for (int r = 0; r < R; ++r) at[r] = off[r];
  __m512 acc[OB][R];
  for (int k = 0; k < OB; ++k)
    for (int r = 0; r < R; ++r) acc[k][r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t p = rows.begin; p < rows.end; ++p) {
      const float* row = xp + (c * pd.rows + p * d.dilation[0]) * pd.cols;
      const float* wq = wt + (c * d.kh + p) * d.kw * kLanes;
      for (int64_t q = 0; q < d.kw; ++q, wq += kLanes) {
        __m512 wv[OB];
        for (int k = 0; k < OB; ++k) wv[k] = _mm512_loadu_ps(wq + k * wstride);
        const float* s = row + q * d.dilation[1];
        for (int r = 0; r < R; ++r) {
          const __m512 xv = _mm512_set1_ps(s[at[r]]);
          for (int k = 0; k < OB; ++k) acc[k][r] = _mm512_fmadd_ps(wv[k], xv, acc[k][r]);
        }
      }
    }
  for (int k = 0; k < OB; ++k)
    for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + k * ostride + r * kLanes, acc[k][r]);
}

// acc[ob][slot + m] += Σ_i,j xp[off[m] + i*sh*cols + j*sw] * gt[ob][i*ow + j] for OB blocks of 16 output
// channels and TB taps (any taps: off[m] is tap m's first input cell; their sums sit together), over the
// outputs i in `rows`, j in `cols` (the others read only padding through these taps), all in
// registers: each broadcast input value feeds OB FMAs, each loaded gradient vector TB of them. With
// one block, two positions per step (two sets of sums) keep enough independent FMAs in flight.
template <int OB, int TB>
void ovec_weight_block(const ConvDims& d, const float* xp, int64_t cols, const int64_t* off, int64_t slot,
                       Span out_rows, Span out_cols, const float* gt, float* acc) {
  constexpr int J = OB == 1 ? 2 : 1;
  const int64_t ow = d.g.out_w, plane = d.positions() * kLanes, t = taps(d);
  const int64_t sh = d.stride[0], sw = d.stride[1];
  __m512 a[J][OB][TB];
  for (int k = 0; k < OB; ++k)
    for (int m = 0; m < TB; ++m) {
      a[0][k][m] = _mm512_loadu_ps(acc + (k * t + slot + m) * kLanes);
      if constexpr (J == 2) a[1][k][m] = _mm512_setzero_ps();
    }
  auto step = [&](auto jj, const float* s, const float* g) {
    __m512 gv[OB];
    for (int k = 0; k < OB; ++k) gv[k] = _mm512_loadu_ps(g + k * plane);
    for (int m = 0; m < TB; ++m) {
      const __m512 xv = _mm512_set1_ps(s[off[m]]);
      for (int k = 0; k < OB; ++k) a[jj][k][m] = _mm512_fmadd_ps(xv, gv[k], a[jj][k][m]);
    }
  };
  for (int64_t i = out_rows.begin; i < out_rows.end; ++i) {
    const float* s = xp + i * sh * cols;
    const float* g = gt + i * ow * kLanes;
    int64_t j = out_cols.begin;
    for (; j + J <= out_cols.end; j += J) {
      step(std::integral_constant<int, 0>{}, s + j * sw, g + j * kLanes);
      if constexpr (J == 2)
        step(std::integral_constant<int, J - 1>{}, s + (j + 1) * sw, g + (j + 1) * kLanes);
    }
    if (j < out_cols.end) step(std::integral_constant<int, 0>{}, s + j * sw, g + j * kLanes);
  }
  for (int k = 0; k < OB; ++k)
    for (int m = 0; m < TB; ++m) {
      if constexpr (J == 2) a[0][k][m] = _mm512_add_ps(a[0][k][m], a[1][k][m]);
      _mm512_storeu_ps(acc + (k * t + slot + m) * kLanes, a[0][k][m]);
    }
}

// Taps per register block for OB output blocks: OB*TB accumulators + OB gradients + 1 broadcast
// stay within the 32 vector registers.
template <int OB>
constexpr int kTapBlock = OB >= 4   ? 6
                          : OB >= 2 ? 12
                                    : 8;

// Taps in register blocks of up to kTapBlock<OB>. With 8 or more channels a block holds channels at
// one kernel position and runs over only the outputs that read the image through it; acc keeps the
// sums in that order, so the blocks still load and store it in sequence (with acc in [c, kh, kw]
// order 64 -> 128 on 4x4 lost 7 %). Weight gradient per 64 images: 16 -> 16, 5x5, dilation 2, "same"
// on 9x9 (46 % of the products read padding) 484 -> 327 us; 16 -> 32, 5x5, stride 2 on 9x9 370 -> 311;
// 64 -> 128, 3x3 on 4x4 1551-1619 -> 1438-1446; 16 -> 32 on 28x28 -5 %. With fewer channels a block at
// one position is too small: LeNet's conv2 (6 channels) runs in [c, kh, kw] order, over all outputs.
template <int OB>
void weight_blocks(const ConvDims& d, const float* xp, int64_t rows, int64_t cols, const float* gt,
                   float* acc) {
  constexpr int kMost = kTapBlock<OB>;
  int64_t off[kMost];  // each tap's first input cell
  auto run = [&](int64_t n, int64_t slot, Span out_rows, Span out_cols) {
    with_count<kMost>(n, [&](auto tb) {
      ovec_weight_block<OB, decltype(tb)::value>(d, xp, cols, off, slot, out_rows, out_cols, gt, acc);
    });
  };
  auto first_cell = [&](int64_t c, int64_t p, int64_t q) {
    return (c * rows + p * d.dilation[0]) * cols + q * d.dilation[1];
  };
  if (!position_first(d)) {
    const Span all_rows{0, d.g.out_h}, all_cols{0, d.g.out_w};
    int64_t n = 0;
    for (int64_t c = 0, k = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.kh; ++p)
        for (int64_t q = 0; q < d.kw; ++q, ++k) {
          off[n] = first_cell(c, p, q);
          if (++n == kMost) run(n, k + 1 - n, all_rows, all_cols), n = 0;
        }
    if (n > 0) run(n, taps(d) - n, all_rows, all_cols);
    return;
  }
  const int64_t parts = (d.c + kMost - 1) / kMost;  // channels in parts of equal sizes (within one)
  for (int64_t p = 0; p < d.kh; ++p) {
    const Span out_rows = outputs_inside(d.h, d.g.out_h, d.stride[0], d.dilation[0], d.g.pad_top, p);
    for (int64_t q = 0; q < d.kw && out_rows.size() > 0; ++q) {
      const Span out_cols = outputs_inside(d.w, d.g.out_w, d.stride[1], d.dilation[1], d.g.pad_left, q);
      if (out_cols.size() <= 0) continue;  // these taps read only padding
      for (int64_t part = 0; part < parts; ++part) {
        const int64_t c0 = d.c * part / parts, n = d.c * (part + 1) / parts - c0;
        for (int64_t m = 0; m < n; ++m) off[m] = first_cell(c0 + m, p, q);
        run(n, (p * d.kw + q) * d.c + c0, out_rows, out_cols);
      }
    }
  }
}

}  // namespace

void ovec_forward(const ConvDims& d, const float* xp, const float* wt, const float* b, float* scratch,
                  float* y) {
  const Padded pd = padded(d);
  const int64_t ow = d.g.out_w, p = d.positions();
  auto pass = [&](auto ob_count, int64_t ob0) {  // scratch [OB blocks, positions, 16]
    constexpr int OB = decltype(ob_count)::value;
    // A row's outputs in blocks of 8, or of equal sizes (within one) where the last block of 8 would
    // have 4 outputs or fewer: half the FMAs in flight or less. Forward, 64 images: 48 -> 96 at 40x40,
    // stride 2 (rows of 20: 8, 8, 4 -> 7, 7, 6) 17.6 -> 16.7 ms; 16 -> 32 at 28x28 (rows of 28) 4.0 ->
    // 3.4 ms. Rows of 14 as 7, 7 lost 5-8 % to 8, 6. The same sums, so the same bits.
    // One block of channels leaves registers for up to 16 outputs: its rows go in equal blocks of at
    // most 16 (a row of 9 as one block of 9 FMA chains, not 5 + 4).
    constexpr int64_t kMost = OB == 1 ? 16 : 8;
    const int64_t per_row = (ow + kMost - 1) / kMost;
    const bool balanced = OB == 1 || (ow % 8 != 0 && ow % 8 <= 4);
    if (flat_blocks(d)) {
      const int64_t count = (p + 7) / 8;  // blocks of equal sizes: a 3x3 plane as 4 + 5, not 8 + 1
      for (int64_t block = 0; block < count; ++block) {
        const int64_t k0 = p * block / count, n = p * (block + 1) / count - k0;
        int64_t off[8];
        KernelRows rows{d.kh, 0};
        for (int64_t r = 0; r < n; ++r) {
          const int64_t i = (k0 + r) / ow, j = (k0 + r) % ow;
          off[r] = i * d.stride[0] * pd.cols + j * d.stride[1];
          const KernelRows inside = kernel_rows_inside(d, i);
          if (inside.begin < inside.end)
            rows = {std::min(rows.begin, inside.begin), std::max(rows.end, inside.end)};
        }
        if (rows.begin >= rows.end) rows = {0, 0};  // only padding: the sums stay 0
        with_count<8>(n, [&](auto r) {
          forward_flat<OB, decltype(r)::value>(d, xp, off, wt + ob0 * taps(d) * kLanes, rows,
                                               scratch + k0 * kLanes);
        });
      }
      return;
    }
    for (int64_t i = 0; i < d.g.out_h; ++i) {
      const KernelRows rows = kernel_rows_inside(d, i);
      for (int64_t part = 0; part < per_row; ++part) {
        const int64_t j0 = balanced ? ow * part / per_row : part * 8,
                      j1 = balanced ? ow * (part + 1) / per_row : std::min(ow, j0 + 8);
        with_count<kMost>(j1 - j0, [&](auto r) {
          constexpr int R = decltype(r)::value;
          block_for<OB, R>(d)(d, xp + i * d.stride[0] * pd.cols + j0 * d.stride[1],
                              wt + ob0 * taps(d) * kLanes, rows, scratch + (i * ow + j0) * kLanes);
        });
      }
    }
  };
  for (int64_t ob0 = 0; ob0 < blocks(d);) {
    const int64_t count = std::min<int64_t>(2, blocks(d) - ob0);
    count == 2 ? pass(std::integral_constant<int, 2>{}, ob0) : pass(std::integral_constant<int, 1>{}, ob0);
    for (int64_t ob = ob0; ob < ob0 + count; ++ob) {
      float* sb = scratch + (ob - ob0) * p * kLanes;
      const int64_t outs = std::min(kLanes, d.o - ob * kLanes);
      // Bias and activation while y's values are in scratch (the same additions and the same
      // activation loop as on y, so the same bits), then y [o, positions] = scratch [positions, 16]ᵀ.
      if (b) {
        const __m512 bias = _mm512_maskz_loadu_ps(__mmask16((1u << outs) - 1), b + ob * kLanes);
        for (int64_t k = 0; k < p; ++k)
          _mm512_storeu_ps(sb + k * kLanes, _mm512_add_ps(_mm512_loadu_ps(sb + k * kLanes), bias));
      }
      activate(d.act, sb, p * kLanes);
      for (int64_t k0 = 0; k0 < p; k0 += kLanes)
        transpose_block(sb + k0 * kLanes, kLanes, y + ob * kLanes * p + k0, p, std::min(kLanes, p - k0), outs,
                        d.stream_output);
    }
    ob0 += count;
  }
  if (d.stream_output) _mm_sfence();  // the non-temporal stores are visible before y is read
}

void ovec_weight_grad(const ConvDims& d, const float* xp, const float* g, float* scratch, float* acc) {
  const Padded pd = padded(d);
  ovec_weight_grad_in(d, xp, pd.rows, pd.cols, g, scratch, acc);
}

// scratch: gt [o blocks, positions, 16] (g transposed).
void ovec_weight_grad_in(const ConvDims& d, const float* xp, int64_t rows, int64_t cols, const float* g,
                         float* scratch, float* acc) {
  const int64_t p = d.positions(), t = taps(d), nb = blocks(d);
  float* gt = scratch;
  for (int64_t ob = 0; ob < nb; ++ob) {
    const int64_t outs = std::min(kLanes, d.o - ob * kLanes);
    if (outs < kLanes) std::fill(gt + ob * p * kLanes, gt + (ob + 1) * p * kLanes, 0.0f);
    for (int64_t k0 = 0; k0 < p; k0 += kLanes)
      transpose_block(g + ob * kLanes * p + k0, p, gt + (ob * p + k0) * kLanes, kLanes, outs,
                      std::min(kLanes, p - k0));
  }
  for (int64_t ob = 0; ob < nb;) {
    const float* gb = gt + ob * p * kLanes;
    float* ab = acc + ob * t * kLanes;
    if (nb - ob >= 4)
      weight_blocks<4>(d, xp, rows, cols, gb, ab), ob += 4;
    else if (nb - ob >= 2)
      weight_blocks<2>(d, xp, rows, cols, gb, ab), ob += 2;
    else
      weight_blocks<1>(d, xp, rows, cols, gb, ab), ob += 1;
  }
}

XGRAD_AVX512_END

}  // namespace xgrad
