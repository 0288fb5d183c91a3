#include "ops/conv_images.h"

#include <immintrin.h>

#include <algorithm>
#include <type_traits>

#include "ops/conv_ovec.h"
#include "ops/conv_simd.h"
#include "ops/cpu.h"

namespace xgrad {
namespace {

int64_t blocks_of(int64_t n) { return (n + kLanes - 1) / kLanes; }
int64_t round_up(int64_t n) { return blocks_of(n) * kLanes; }  // keeps every scratch part 64-byte aligned

// One tap of an output row (or column) of a sum: the tap's offset in the weights and the offset of
// the input row (column) it reads in the images-innermost input.
struct TapAt {
  int64_t w, x;
};

// Each output row's (or column's) taps that read the input, `most` slots per output.
struct TapLists {
  TapAt* at;
  int64_t* count;
  int64_t most;
  const TapAt* of(int64_t i) const { return at + i * most; }
};
int64_t tap_lists_floats(int64_t outs, int64_t most) { return round_up(outs * (most * 4 + 2)); }

// reach(i, p) is the input index output i reads through tap p, or -1.
template <typename Reach>
TapLists tap_lists(float* where, int64_t outs, int64_t taps, int64_t w_step, int64_t x_step, Reach reach) {
  TapLists l{reinterpret_cast<TapAt*>(where), nullptr, taps};
  l.count = reinterpret_cast<int64_t*>(l.at + outs * taps);
  for (int64_t i = 0; i < outs; ++i) {
    l.count[i] = 0;
    for (int64_t p = 0; p < taps; ++p) {
      const int64_t a = reach(i, p);
      if (a >= 0) l.at[i * taps + l.count[i]++] = {p * w_step, a * x_step};
    }
  }
  return l;
}

// The forward's taps: output i reads input i*s + p*dil - pad.
TapLists forward_taps(float* where, int64_t outs, int64_t in, int64_t k, int64_t s, int64_t dil, int64_t pad,
                      int64_t w_step, int64_t x_step) {
  return tap_lists(where, outs, k, w_step, x_step, [&](int64_t i, int64_t p) {
    const int64_t a = i * s + p * dil - pad;
    return a >= 0 && a < in ? a : -1;
  });
}
// dx's taps: input cell u gets tap p of output i where u = i*s + p*dil - pad.
TapLists dx_taps(float* where, int64_t ins, int64_t outs, int64_t k, int64_t s, int64_t dil, int64_t pad,
                 int64_t w_step, int64_t x_step) {
  return tap_lists(where, ins, k, w_step, x_step, [&](int64_t u, int64_t p) {
    const int64_t t = u + pad - p * dil;
    return t >= 0 && t % s == 0 && t / s < outs ? t / s : -1;
  });
}

// Floats of each part of the scratch for up to kImagesPerCall images.
int64_t images_in_size(const ConvDims& d) { return round_up(d.c * d.h * d.w * kImagesPerCall); }
int64_t sums_size(const ConvDims& d) { return blocks_of(d.o) * d.positions() * kImagesPerCall * kLanes; }
int64_t g_in_size(const ConvDims& d) { return round_up(d.o * d.positions() * kImagesPerCall); }
int64_t dx_sums_size(const ConvDims& d) { return blocks_of(d.c) * d.h * d.w * kImagesPerCall * kLanes; }

// [n, cells] -> [cells, n].
void images_innermost(const float* src, int64_t n, int64_t cells, float* dst) {
  for (int64_t k0 = 0; k0 < cells; k0 += kLanes)
    transpose_block(src + k0, cells, dst + k0 * n, n, n, std::min(kLanes, cells - k0));
}

// y [n, o, positions] = sums [n, o blocks, positions, 16] (+ b, after the sums as ovec adds it, so
// that both give the same bits).
void from_sums(int64_t n, int64_t o, int64_t positions, const float* sums, const float* b, float* y) {
  const int64_t nb = blocks_of(o);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t ob = 0; ob < nb; ++ob) {
      const float* sb = sums + (r * nb + ob) * positions * kLanes;
      const int64_t outs = std::min(kLanes, o - ob * kLanes);
      for (int64_t k0 = 0; k0 < positions; k0 += kLanes)
        transpose_block(sb + k0 * kLanes, kLanes, y + (r * o + ob * kLanes) * positions + k0, positions,
                        std::min(kLanes, positions - k0), outs);
    }
  if (b)
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < o; ++c)
        for (float *v = y + (r * o + c) * positions, *end = v + positions; v < end; ++v) *v += b[c];
}

}  // namespace

int64_t images_weights_size(const ConvDims& d) { return blocks_of(d.o) * d.patch() * kLanes; }
void images_prepare(const ConvDims& d, const float* w, float* prepared) {
  ovec_transpose_weights(d, w, prepared);
}

int64_t images_dx_weights_size(const ConvDims& d) { return blocks_of(d.c) * d.o * d.kh * d.kw * kLanes; }
void images_prepare_dx(const ConvDims& d, const float* w, float* prepared) {
  const int64_t kk = d.kh * d.kw;
  for (int64_t cb = 0; cb < blocks_of(d.c); ++cb)
    for (int64_t o = 0; o < d.o; ++o)
      for (int64_t k = 0; k < kk; ++k)
        for (int64_t l = 0; l < kLanes; ++l) {
          const int64_t c = cb * kLanes + l;
          prepared[((cb * d.o + o) * kk + k) * kLanes + l] = c < d.c ? w[(o * d.c + c) * kk + k] : 0.0f;
        }
}

int64_t images_scratch_size(const ConvDims& d) {
  const int64_t by_images = images_in_size(d) + sums_size(d) + tap_lists_floats(d.g.out_h, d.kh) +
                            tap_lists_floats(d.g.out_w, d.kw) + round_up(2 * d.g.out_w);
  return std::max(by_images, ovec_padded_size(d) + ovec_scratch_size(d));  // or ovec's forward
}
int64_t images_acc_size(const ConvDims& d) { return blocks_of(d.o) * d.patch() * kLanes; }
int64_t images_dx_scratch_size(const ConvDims& d) {
  return g_in_size(d) + dx_sums_size(d) + tap_lists_floats(d.h, d.kh) + tap_lists_floats(d.w, d.kw) +
         round_up(2 * d.w);
}

void images_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  const int64_t t = d.patch();
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t k = 0; k < t; ++k) dw[o * t + k] += acc[((o / kLanes) * t + k) * kLanes + o % kLanes];
}

XGRAD_AVX512_BEGIN

namespace {

// out[k][r] = Σ_ch Σ_(row, col taps) wt[k][ch][tap] * in[ch][cell][r] for OB blocks of 16
// channels and R images: one output cell (forward) or dx cell (input_grad), its taps listed by row
// and by column, or C cells of a row with the same taps (cell e reads e * delta further on and writes
// e * step cells further on in out). in: the first of the R images' values at the input's first cell;
// each broadcast value feeds OB FMAs, each weight vector C*R of them. Not inlined: inside the
// dispatch GCC spilled two of the 16 sums (5x5 plane, 32 -> 64: forward 286 -> 213 us per 64 images).
template <int OB, int R, int C>
__attribute__((noinline)) void cell_sums(const float* in, int64_t in_chan, int64_t chans, const float* wt,
                                         int64_t w_chan, int64_t w_block, const TapAt* rows, int64_t nrows,
                                         const TapAt* cols, int64_t ncols, int64_t delta, int64_t step,
                                         float* out, int64_t out_image, int64_t out_block) {
  __m512 acc[C][OB][R];
  for (int e = 0; e < C; ++e)
    for (int k = 0; k < OB; ++k)
      for (int r = 0; r < R; ++r) acc[e][k][r] = _mm512_setzero_ps();
  for (int64_t ch = 0; ch < chans; ++ch) {
    const float *ic = in + ch * in_chan, *wc = wt + ch * w_chan;
    for (int64_t a = 0; a < nrows; ++a)
      for (int64_t b = 0; b < ncols; ++b) {
        const float* s = ic + rows[a].x + cols[b].x;
        const float* wq = wc + rows[a].w + cols[b].w;
        __m512 wv[OB];
        for (int k = 0; k < OB; ++k) wv[k] = _mm512_loadu_ps(wq + k * w_block);
        for (int e = 0; e < C; ++e)
          for (int r = 0; r < R; ++r) {
            const __m512 xv = _mm512_set1_ps(s[e * delta + r]);
            for (int k = 0; k < OB; ++k) acc[e][k][r] = _mm512_fmadd_ps(wv[k], xv, acc[e][k][r]);
          }
      }
  }
  for (int e = 0; e < C; ++e)
    for (int k = 0; k < OB; ++k)
      for (int r = 0; r < R; ++r)
        _mm512_storeu_ps(out + e * step * kLanes + r * out_image + k * out_block, acc[e][k][r]);
}

// Whether columns j and k take the same taps (their inputs `delta` apart).
bool same_taps(const TapLists& cols, int64_t j, int64_t k, int64_t& delta) {
  const int64_t n = cols.count[j];
  if (n == 0 || cols.count[k] != n) return false;
  const TapAt *a = cols.of(j), *b = cols.of(k);
  delta = b[0].x - a[0].x;
  for (int64_t t = 0; t < n; ++t)
    if (a[t].w != b[t].w || b[t].x - a[t].x != delta) return false;
  return true;
}

// sums [n, blocks(outs), cells, 16] of every cell of a [rows, cols] output, for in [chans, .., n] and
// weights [blocks(outs), chans, taps, 16]: blocks of channels in pairs, images in parts of up to
// 16 / OB. With few images a call (a batch of 32 gives backward 4, a batch of 1 one) cells of a row
// with the same taps go in groups of 2, 4 or 8, so 8 or more sums stay in flight: dx per 32 images,
// 16 -> 16, 5x5, dilation 2 on 9x9 274 -> 231 us; 16 -> 32, stride 2, to 7x7 (partners two columns
// apart) 282 -> 233; one image a call, 32 -> 64 on 5x5 14 -> 10 (the forward, before it went to ovec).
void all_cell_sums(int64_t n, int64_t outs, int64_t chans, const float* in, int64_t in_chan, const float* wt,
                   int64_t taps, const TapLists& rows, int64_t nrows, const TapLists& cols, int64_t ncols,
                   int64_t* paired, float* sums) {
  const int64_t nb = blocks_of(outs), cells = nrows * ncols, w_block = chans * taps * kLanes;
  for (int64_t ob0 = 0; ob0 < nb;) {
    auto pass = [&](auto ob_count) {
      constexpr int OB = decltype(ob_count)::value;
      constexpr int kMost = 16 / OB;
      const int64_t parts = (n + kMost - 1) / kMost;
      for (int64_t part = 0; part < parts; ++part) {
        const int64_t r0 = n * part / parts, count = n * (part + 1) / parts - r0;
        std::fill(paired, paired + ncols, 0);  // paired[k] = i + 1: column k of row i is done
        const int64_t most_cells = std::min<int64_t>(8, 16 / (OB * count));
        for (int64_t i = 0; i < nrows; ++i)
          for (int64_t j = 0; j < ncols; ++j) {
            if (paired[j] == i + 1) continue;
            // partners every `step` columns (1, or 2 where a strided dx's cells take the same taps
            // every other column); cells with the same taps read inputs as far apart as they are, so
            // the m-th partner reads m * delta further on
            int64_t group = 1, step = 0, delta = 0, unused = 0;
            for (int64_t k = j + 1; most_cells >= 2 && k <= j + 2 && k < ncols && !step; ++k)
              if (paired[k] != i + 1 && same_taps(cols, j, k, delta)) step = k - j;
            while (step && group < most_cells && j + group * step < ncols &&
                   paired[j + group * step] != i + 1 && same_taps(cols, j, j + group * step, unused))
              ++group;
            group = group >= 8 ? 8 : group >= 4 ? 4 : group >= 2 ? 2 : 1;
            for (int64_t m = 1; m < group; ++m) paired[j + m * step] = i + 1;
            float* out = sums + ((r0 * nb + ob0) * cells + i * ncols + j) * kLanes;
            auto run = [&](auto c) {
              constexpr int C = decltype(c)::value;
              with_count<16 / (OB * C)>(count, [&](auto r) {
                cell_sums<OB, decltype(r)::value, C>(in + r0, in_chan, chans, wt + ob0 * w_block,
                                                     taps * kLanes, w_block, rows.of(i), rows.count[i],
                                                     cols.of(j), cols.count[j], delta, step, out,
                                                     nb * cells * kLanes, cells * kLanes);
              });
            };
            if (group == 8)
              run(std::integral_constant<int, 8>{});
            else if (group == 4)
              run(std::integral_constant<int, 4>{});
            else if (group == 2)
              run(std::integral_constant<int, 2>{});
            else
              run(std::integral_constant<int, 1>{});
          }
      }
    };
    if (nb - ob0 >= 2)
      pass(std::integral_constant<int, 2>{}), ob0 += 2;
    else
      pass(std::integral_constant<int, 1>{}), ob0 += 1;
  }
}

// acc[ob][slot + m*kk] += Σ_(i, j) in out_rows x out_cols Σ_r x[m][i*sh*w + j*sw][r] * gt[ob][i*ow + j][r]
// for OB blocks of output channels and TB input channels at one kernel position (slot: the first's
// tap index, kk taps apart); x: the first channel's images-innermost input, where output (0, 0) reads
// it through this position at `first` (outside the image: only added to). With one
// block, two images per step (two sets of sums) keep enough FMAs in flight.
template <int OB, int TB>
void tap_sums(const ConvDims& d, int64_t n, const float* x, int64_t first, int64_t x_chan, Span out_rows,
              Span out_cols, const float* gt, int64_t slot, float* acc) {
  constexpr int J = OB == 1 ? 2 : 1;
  const int64_t ow = d.g.out_w, t = d.patch(), kk = d.kh * d.kw, g_block = d.positions() * n * kLanes;
  const int64_t row_step = d.stride[0] * d.w * n, col_step = d.stride[1] * n;
  __m512 a[J][OB][TB];
  for (int k = 0; k < OB; ++k)
    for (int m = 0; m < TB; ++m) {
      a[0][k][m] = _mm512_loadu_ps(acc + (k * t + slot + m * kk) * kLanes);
      if constexpr (J == 2) a[1][k][m] = _mm512_setzero_ps();
    }
  auto step = [&](auto jj, const float* s, const float* g) {
    __m512 gv[OB];
    for (int k = 0; k < OB; ++k) gv[k] = _mm512_loadu_ps(g + k * g_block);
    for (int m = 0; m < TB; ++m) {
      const __m512 xv = _mm512_set1_ps(s[m * x_chan]);
      for (int k = 0; k < OB; ++k) a[jj][k][m] = _mm512_fmadd_ps(xv, gv[k], a[jj][k][m]);
    }
  };
  for (int64_t i = out_rows.begin; i < out_rows.end; ++i)
    for (int64_t j = out_cols.begin; j < out_cols.end; ++j) {
      const float* s = x + (first + i * row_step + j * col_step);
      const float* g = gt + (i * ow + j) * n * kLanes;
      int64_t r = 0;
      for (; r + J <= n; r += J) {
        step(std::integral_constant<int, 0>{}, s + r, g + r * kLanes);
        if constexpr (J == 2) step(std::integral_constant<int, 1>{}, s + r + 1, g + (r + 1) * kLanes);
      }
      if (r < n) step(std::integral_constant<int, 0>{}, s + r, g + r * kLanes);
    }
  for (int k = 0; k < OB; ++k)
    for (int m = 0; m < TB; ++m) {
      if constexpr (J == 2) a[0][k][m] = _mm512_add_ps(a[0][k][m], a[1][k][m]);
      _mm512_storeu_ps(acc + (k * t + slot + m * kk) * kLanes, a[0][k][m]);
    }
}

// Input channels per register block for OB output blocks (as ovec's weight gradient).
template <int OB>
constexpr int kChannelBlock = OB >= 4   ? 6
                              : OB >= 2 ? 12
                                        : 8;

// acc [OB blocks, c*kh*kw, 16] += one call's weight gradient: for each kernel position, its channels in
// register blocks of up to kChannelBlock, over only the outputs that read the image through it.
template <int OB>
void weight_by_position(const ConvDims& d, int64_t n, const float* xt, const float* gt, float* acc) {
  constexpr int kMost = kChannelBlock<OB>;
  const int64_t x_chan = d.h * d.w * n, parts = (d.c + kMost - 1) / kMost;
  for (int64_t p = 0; p < d.kh; ++p) {
    const Span out_rows = outputs_inside(d.h, d.g.out_h, d.stride[0], d.dilation[0], d.g.pad_top, p);
    for (int64_t q = 0; q < d.kw && out_rows.size() > 0; ++q) {
      const Span out_cols = outputs_inside(d.w, d.g.out_w, d.stride[1], d.dilation[1], d.g.pad_left, q);
      if (out_cols.size() <= 0) continue;  // these taps read only padding
      const int64_t first = ((p * d.dilation[0] - d.g.pad_top) * d.w + q * d.dilation[1] - d.g.pad_left) * n;
      for (int64_t part = 0; part < parts; ++part) {
        const int64_t c0 = d.c * part / parts, count = d.c * (part + 1) / parts - c0;
        with_count<kMost>(count, [&](auto tb) {
          tap_sums<OB, decltype(tb)::value>(d, n, xt + c0 * x_chan, first, x_chan, out_rows, out_cols, gt,
                                            c0 * d.kh * d.kw + p * d.kw + q, acc);
        });
      }
    }
  }
}

}  // namespace

// With fewer than 4 images a call (batch-1 latency, small inference batches) a cell's few images
// leave the registers short of sums: ovec's row kernels on a padded copy of each image, with the same
// prepared weights, ran the forward 1.2-2x faster there (one image, o-5's convs: 7 / 5 / 6 against
// 15 / 11 / 10 us; two images 46 / 40 / 32 against 61 / 45 / 38 per 8).
void images_forward(const ConvDims& d, const float* x, const float* wt, const float* b, float* scratch,
                    float* y) {
  const int64_t n = d.n;
  if (n < 4) {
    float* padded = scratch;
    for (int64_t r = 0; r < n; ++r) {
      ovec_pad(d, x + r * d.c * d.h * d.w, padded);
      ovec_forward(d, padded, wt, b, padded + ovec_padded_size(d), y + r * d.o * d.positions());
    }
    return;
  }
  float* xt = scratch;  // [c, h, w, n]
  float* sums = xt + images_in_size(d);
  float* lists = sums + sums_size(d);
  const TapLists rows = forward_taps(lists, d.g.out_h, d.h, d.kh, d.stride[0], d.dilation[0], d.g.pad_top,
                                     d.kw * kLanes, d.w * n);
  const TapLists cols = forward_taps(lists + tap_lists_floats(d.g.out_h, d.kh), d.g.out_w, d.w, d.kw,
                                     d.stride[1], d.dilation[1], d.g.pad_left, kLanes, n);
  images_innermost(x, n, d.c * d.h * d.w, xt);
  int64_t* paired = reinterpret_cast<int64_t*>(lists + tap_lists_floats(d.g.out_h, d.kh) +
                                               tap_lists_floats(d.g.out_w, d.kw));
  all_cell_sums(n, d.o, d.c, xt, d.h * d.w * n, wt, d.kh * d.kw, rows, d.g.out_h, cols, d.g.out_w, paired,
                sums);
  from_sums(n, d.o, d.positions(), sums, b, y);
}

// scratch: x images innermost, then g as [o blocks, positions, n, 16].
void images_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc) {
  const int64_t n = d.n, p = d.positions(), nb = blocks_of(d.o), t = d.patch();
  float* xt = scratch;
  float* gt = xt + images_in_size(d);
  images_innermost(x, n, d.c * d.h * d.w, xt);
  for (int64_t ob = 0; ob < nb; ++ob) {
    const int64_t outs = std::min(kLanes, d.o - ob * kLanes);
    if (outs < kLanes) std::fill(gt + ob * p * n * kLanes, gt + (ob + 1) * p * n * kLanes, 0.0f);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k0 = 0; k0 < p; k0 += kLanes)
        transpose_block(g + (r * d.o + ob * kLanes) * p + k0, p, gt + ((ob * p + k0) * n + r) * kLanes,
                        n * kLanes, outs, std::min(kLanes, p - k0));
  }
  for (int64_t ob = 0; ob < nb;) {
    const float* gb = gt + ob * p * n * kLanes;
    float* ab = acc + ob * t * kLanes;
    if (nb - ob >= 4)
      weight_by_position<4>(d, n, xt, gb, ab), ob += 4;
    else if (nb - ob >= 2)
      weight_by_position<2>(d, n, xt, gb, ab), ob += 2;
    else
      weight_by_position<1>(d, n, xt, gb, ab), ob += 1;
  }
}

// scratch: g images innermost [o, out_h, out_w, n], dx's sums, the tap lists.
void images_input_grad(const ConvDims& d, const float* g, const float* wt, float* scratch, float* dx) {
  const int64_t n = d.n;
  float* gt = scratch;
  float* sums = gt + g_in_size(d);
  float* lists = sums + dx_sums_size(d);
  const TapLists rows = dx_taps(lists, d.h, d.g.out_h, d.kh, d.stride[0], d.dilation[0], d.g.pad_top,
                                d.kw * kLanes, d.g.out_w * n);
  const TapLists cols = dx_taps(lists + tap_lists_floats(d.h, d.kh), d.w, d.g.out_w, d.kw, d.stride[1],
                                d.dilation[1], d.g.pad_left, kLanes, n);
  images_innermost(g, n, d.o * d.positions(), gt);
  int64_t* paired =
      reinterpret_cast<int64_t*>(lists + tap_lists_floats(d.h, d.kh) + tap_lists_floats(d.w, d.kw));
  all_cell_sums(n, d.c, d.o, gt, d.positions() * n, wt, d.kh * d.kw, rows, d.h, cols, d.w, paired, sums);
  from_sums(n, d.c, d.h * d.w, sums, nullptr, dx);
}

XGRAD_AVX512_END

}  // namespace xgrad
