// The plain Winograd kernel, written over the variant V (winograd_maps.h) and used as F(2x2, 3x3);
// see conv_winograd.h for the math. Tile (ti, tj) reads rows m*ti .. m*ti + A - 1 and the same
// columns of the padded region (A = m + r - 1) and writes outputs m*ti .. m*ti + m - 1 (those beyond
// oh, ow are dropped). The transforms run over a row of tiles at once (lanes tj); their reads of every
// m-th cell keep them scalar, which is why AVX-512 and AVX2 run the lane kernels instead.
#include "ops/conv_winograd.h"

#include <cblas.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/conv_simd.h"
#include "ops/winograd_maps_strided.h"

namespace xgrad {
namespace {

using winograd::F2;
using winograd::F4;

// Tiles of one image and the zero-padded input region they read.
struct Tiles {
  int64_t th, tw, rows, cols;
};
template <class V>
Tiles tiles_of(const ConvDims& d) {
  const int64_t th = (d.g.out_h + V::kM - 1) / V::kM, tw = (d.g.out_w + V::kM - 1) / V::kM;
  return {th, tw, V::kM * th + V::kR - 1, V::kM * tw + V::kR - 1};
}

// A band of whole tile rows [ti0, ti1): the transforms and the A² sgemm calls run band by band,
// so V and M of a band stay in cache. Its n = (ti1 - ti0) * tw tiles are the GEMMs' N.
struct Band {
  int64_t ti0, ti1, n;
};
constexpr int64_t kBandTiles = 128;
int64_t band_rows(const Tiles& t) { return std::max<int64_t>(1, std::min(t.th, kBandTiles / t.tw)); }
template <class F>
void each_band(const Tiles& t, F&& f) {
  for (int64_t ti0 = 0; ti0 < t.th; ti0 += band_rows(t)) {
    const int64_t ti1 = std::min(t.th, ti0 + band_rows(t));
    f(Band{ti0, ti1, (ti1 - ti0) * t.tw});
  }
}

// Floats from one cell's [rows, n] block to the next: one cache line more than the block, so the
// blocks (often 2^k floats apart otherwise) do not compete for the same L1 sets.
int64_t cell_stride(int64_t rows, int64_t n) { return rows * n + 16; }

// One worker's scratch: the padded region [C, rows, cols], a band's V or dV [A², C, n] and M or
// dM [A², O, n], and one tile row's half-transformed values [A, A, tw].
struct Scratch {
  float *region, *v, *m, *rowbuf;
};
template <class V>
Scratch layout(const ConvDims& d, float* base, int64_t* size = nullptr) {
  const Tiles t = tiles_of<V>(d);
  const int64_t n = band_rows(t) * t.tw, cells = V::kA * V::kA;
  const int64_t region = d.c * t.rows * t.cols, v = cells * cell_stride(d.c, n),
                m = cells * cell_stride(d.o, n);
  if (size) *size = region + v + m + cells * t.tw;
  if (!base) return {};
  return {base, base + region, base + region + v, base + region + v + m};
}
template <class V>
int64_t scratch_size(const ConvDims& d) {
  int64_t size = 0;
  layout<V>(d, nullptr, &size);
  return size;
}

// region [C, rows, cols] = x [C, h, w] shifted by the padding, zeros elsewhere; crop_region is the way
// back (input cells no tile reads get 0).
void pad_region(const ConvDims& d, const Tiles& t, const float* x, float* region) {
  std::fill(region, region + d.c * t.rows * t.cols, 0.0f);
  const int64_t r1 = std::min(d.h, t.rows - d.g.pad_top), s1 = std::min(d.w, t.cols - d.g.pad_left);
  for (int64_t c = 0; c < d.c && s1 > 0; ++c)
    for (int64_t r = 0; r < r1; ++r) {
      const float* src = x + (c * d.h + r) * d.w;
      std::copy(src, src + s1, region + (c * t.rows + r + d.g.pad_top) * t.cols + d.g.pad_left);
    }
}
void crop_region(const ConvDims& d, const Tiles& t, const float* region, float* dx) {
  std::fill(dx, dx + d.c * d.h * d.w, 0.0f);
  const int64_t r1 = std::min(d.h, t.rows - d.g.pad_top), s1 = std::min(d.w, t.cols - d.g.pad_left);
  for (int64_t c = 0; c < d.c && s1 > 0; ++c)
    for (int64_t r = 0; r < r1; ++r) {
      const float* src = region + (c * t.rows + r + d.g.pad_top) * t.cols + d.g.pad_left;
      std::copy(src, src + s1, dx + (c * d.h + r) * d.w);
    }
}

// Lane j reads NI inputs, input i at a[i*as + j*AJ] (missing ones are 0), applies map, and writes (or
// with ADD adds) outputs k in [K0, K1) at o[k*os + j*OJ]. n is a constant 16 for whole blocks, so
// each becomes straight vector code without the run-time checks of a loop of unknown length.
template <int NI, int AJ, int OJ, int K0, int K1, bool ADD, class Map, class N>
void map_lanes(const Map& map, const float* __restrict a, int64_t as, float* __restrict o, int64_t os, N n) {
  for (int64_t j = 0; j < n; ++j) {
    float in[6] = {}, out[6];
    for (int i = 0; i < NI; ++i) in[i] = a[i * as + j * AJ];
    map(in, out);
    for (int k = K0; k < K1; ++k) {
      float& dst = o[k * os + j * OJ];
      dst = ADD ? dst + out[k] : out[k];
    }
  }
}
template <int NI, int AJ, int OJ, int K0, int K1, bool ADD = false, class Map>
void map_row(const Map& map, const float* a, int64_t as, float* o, int64_t os, int64_t n) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    map_lanes<NI, AJ, OJ, K0, K1, ADD>(map, a + j * AJ, as, o + j * OJ, os,
                                       std::integral_constant<int64_t, 16>{});
  if (j < n) map_lanes<NI, AJ, OJ, K0, K1, ADD>(map, a + j * AJ, as, o + j * OJ, os, n - j);
}
// Calls f(integral_constant r) for the r = ow % m outputs of a last, partial tile (if there is one).
template <class V, class F>
void partial_tile(int64_t ow, F&& f) {
  if (ow % V::kM) with_count<V::kM - 1>(ow % V::kM, f);
}

// V [A², C, n] = Bᵀ d B for the band's tiles; e [A rows, A, tw] holds one tile row's row maps.
template <class V>
void input_transform(const ConvDims& d, const Tiles& t, const Band& b, const float* region, float* v,
                     float* e) {
  constexpr int M = V::kM, A = V::kA;
  const int64_t tw = t.tw, cs = cell_stride(d.c, b.n);
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t ti = b.ti0; ti < b.ti1; ++ti) {
      for (int64_t r = 0; r < A; ++r)  // along each row: tile j reads cells m*j .. m*j + A - 1
        map_row<A, M, 1, 0, A>(V::template bt<float>, region + (c * t.rows + M * ti + r) * t.cols, 1,
                               e + r * A * tw, tw, tw);
      for (int64_t k = 0; k < A; ++k)  // down the columns
        map_row<A, 1, 1, 0, A>(V::template bt<float>, e + k * tw, A * tw,
                               v + k * cs + c * b.n + (ti - b.ti0) * tw, A * cs, tw);
    }
}

// y [O, oh, ow] = Aᵀ M A (+ bias) for the band's tiles; f [m rows, A, tw].
template <class V>
void output_transform(const ConvDims& d, const Tiles& t, const Band& b, const float* m, const float* bias,
                      float* y, float* f) {
  constexpr int M = V::kM, A = V::kA;
  const int64_t tw = t.tw, cs = cell_stride(d.o, b.n), oh = d.g.out_h, ow = d.g.out_w;
  const auto at = [](const float* in, float* out) { V::at(in, 0.0f, out); };
  for (int64_t o = 0; o < d.o; ++o) {
    const float add = bias ? bias[o] : 0.0f;
    const auto at_bias = [add](const float* in, float* out) { V::at(in, add, out); };
    for (int64_t ti = b.ti0; ti < b.ti1; ++ti) {
      for (int64_t k = 0; k < A; ++k)
        map_row<A, 1, 1, 0, M>(at, m + k * cs + o * b.n + (ti - b.ti0) * tw, A * cs, f + k * tw, A * tw, tw);
      for (int64_t a = 0; a < M && M * ti + a < oh; ++a) {  // along the row: outputs m*j .. m*j + m - 1
        const float* fa = f + a * A * tw;
        float* yr = y + (o * oh + M * ti + a) * ow;
        map_row<A, 1, M, 0, M>(at_bias, fa, tw, yr, 1, ow / M);
        partial_tile<V>(ow, [&](auto r) {
          map_row<A, 1, M, 0, decltype(r)::value>(at_bias, fa + ow / M, tw, yr + ow / M * M, 1, 1);
        });
      }
    }
  }
}

// dM [A², O, n] = A dY Aᵀ for the band's tiles (dY: g's m x m block, zeros beyond oh, ow); h [m, A, tw].
template <class V>
void grad_transform(const ConvDims& d, const Tiles& t, const Band& b, const float* g, float* dm, float* h) {
  constexpr int M = V::kM, A = V::kA;
  const int64_t tw = t.tw, cs = cell_stride(d.o, b.n), oh = d.g.out_h, ow = d.g.out_w;
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t ti = b.ti0; ti < b.ti1; ++ti) {
      for (int64_t a = 0; a < M; ++a) {  // along the row
        float* ha = h + a * A * tw;
        if (M * ti + a >= oh) {
          std::fill(ha, ha + A * tw, 0.0f);
          continue;
        }
        const float* gr = g + (o * oh + M * ti + a) * ow;
        map_row<M, M, 1, 0, A>(V::template ad<float>, gr, 1, ha, tw, ow / M);
        partial_tile<V>(ow, [&](auto r) {
          map_row<decltype(r)::value, M, 1, 0, A>(V::template ad<float>, gr + ow / M * M, 1, ha + ow / M, tw,
                                                  1);
        });
      }
      for (int64_t k = 0; k < A; ++k)  // down the columns
        map_row<M, 1, 1, 0, A>(V::template ad<float>, h + k * tw, A * tw,
                               dm + k * cs + o * b.n + (ti - b.ti0) * tw, A * cs, tw);
    }
}

// region += B dV Bᵀ of the band's tiles, added to the cells each tile read; e [A rows, A, tw].
template <class V>
void input_adjoint(const ConvDims& d, const Tiles& t, const Band& b, const float* dv, float* region,
                   float* e) {
  constexpr int M = V::kM, A = V::kA;
  const int64_t tw = t.tw, cs = cell_stride(d.c, b.n);
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t ti = b.ti0; ti < b.ti1; ++ti) {
      for (int64_t k = 0; k < A; ++k)
        map_row<A, 1, 1, 0, A>(V::template b<float>, dv + k * cs + c * b.n + (ti - b.ti0) * tw, A * cs,
                               e + k * tw, A * tw, tw);
      for (int64_t r = 0; r < A; ++r) {
        // Neighbouring tiles share two columns: add the first m of each tile, then the last two.
        float* row = region + (c * t.rows + M * ti + r) * t.cols;
        map_row<A, 1, M, 0, M, true>(V::template b<float>, e + r * A * tw, tw, row, 1, tw);
        map_row<A, 1, M, M, A, true>(V::template b<float>, e + r * A * tw, tw, row, 1, tw);
      }
    }
}

// U [A², O, C] = G w Gᵀ for every (o, c); w [O, C, r, r].
template <class V>
void prepare(const ConvDims& d, const float* w, float* u) {
  constexpr int A = V::kA, R = V::kR;
  const int64_t cs = d.o * d.c;
  for (int64_t oc = 0; oc < cs; ++oc) {
    float rows[R][A], col[R], out[A];  // G along each kernel row, then down each column
    for (int p = 0; p < R; ++p) V::g(w + (oc * R + p) * R, rows[p]);
    for (int k = 0; k < A; ++k) {
      for (int p = 0; p < R; ++p) col[p] = rows[p][k];
      V::g(col, out);
      for (int i = 0; i < A; ++i) u[(i * A + k) * cs + oc] = out[i];
    }
  }
}

// dw [O, C, r, r] += Gᵀ dU G.
template <class V>
void weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  constexpr int A = V::kA, R = V::kR;
  const int64_t cs = d.o * d.c;
  for (int64_t oc = 0; oc < cs; ++oc) {
    float rows[A][R], col[A], out[R];
    for (int i = 0; i < A; ++i) {
      float cells[A];
      for (int k = 0; k < A; ++k) cells[k] = acc[(i * A + k) * cs + oc];
      V::gt(cells, rows[i]);
    }
    for (int q = 0; q < R; ++q) {
      for (int i = 0; i < A; ++i) col[i] = rows[i][q];
      V::gt(col, out);
      for (int p = 0; p < R; ++p) dw[(oc * R + p) * R + q] += out[p];
    }
  }
}

template <class V>
void forward(const ConvDims& d, const float* x, const float* u, const float* b, float*, float* scratch,
             float* y) {
  const Tiles t = tiles_of<V>(d);
  const Scratch s = layout<V>(d, scratch);
  const int o = int(d.o), c = int(d.c);
  pad_region(d, t, x, s.region);
  each_band(t, [&](const Band& band) {
    const int n = int(band.n);
    input_transform<V>(d, t, band, s.region, s.v, s.rowbuf);
    for (int64_t xi = 0; xi < V::kA * V::kA; ++xi)  // M_ξ [O, n] = U_ξ [O, C] · V_ξ [C, n]
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, n, c, 1.0f, u + xi * o * c, c,
                  s.v + xi * cell_stride(c, n), n, 0.0f, s.m + xi * cell_stride(o, n), n);
    output_transform<V>(d, t, band, s.m, b, y, s.rowbuf);
  });
}

template <class V>
void weight_grad(const ConvDims& d, const float* x, const float*, const float* g, float* scratch,
                 float* acc) {
  const Tiles t = tiles_of<V>(d);
  const Scratch s = layout<V>(d, scratch);
  const int o = int(d.o), c = int(d.c);
  pad_region(d, t, x, s.region);
  each_band(t, [&](const Band& band) {
    const int n = int(band.n);
    input_transform<V>(d, t, band, s.region, s.v, s.rowbuf);
    grad_transform<V>(d, t, band, g, s.m, s.rowbuf);
    for (int64_t xi = 0; xi < V::kA * V::kA; ++xi)  // dU_ξ [O, C] += dM_ξ [O, n] · V_ξ [C, n]ᵀ
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o, c, n, 1.0f, s.m + xi * cell_stride(o, n), n,
                  s.v + xi * cell_stride(c, n), n, 1.0f, acc + xi * o * c, c);
  });
}

template <class V>
void input_grad(const ConvDims& d, const float* g, const float*, const float* u, float* scratch, float* dx) {
  const Tiles t = tiles_of<V>(d);
  const Scratch s = layout<V>(d, scratch);
  const int o = int(d.o), c = int(d.c);
  std::fill(s.region, s.region + d.c * t.rows * t.cols, 0.0f);
  each_band(t, [&](const Band& band) {
    const int n = int(band.n);
    grad_transform<V>(d, t, band, g, s.m, s.rowbuf);
    for (int64_t xi = 0; xi < V::kA * V::kA; ++xi)  // dV_ξ [C, n] = U_ξ [O, C]ᵀ · dM_ξ [O, n]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, n, o, 1.0f, u + xi * o * c, c,
                  s.m + xi * cell_stride(o, n), n, 0.0f, s.v + xi * cell_stride(c, n), n);
    input_adjoint<V>(d, t, band, s.v, s.region, s.rowbuf);
  });
  crop_region(d, t, s.region, dx);
}

// Nothing kept (the weight gradient transforms x again); U and dU [A², O, C].
template <class V>
ConvSizes sizes(const ConvDims& d) {
  const int64_t s = scratch_size<V>(d), u = V::kA * V::kA * d.o * d.c;
  return {0, u, s, u, s};
}

}  // namespace

bool winograd_applies(const ConvDims& d, int r) {
  return d.kh == r && d.kw == r && d.stride[0] == 1 && d.stride[1] == 1 && d.dilation[0] == 1 &&
         d.dilation[1] == 1;
}

ConvKernel plain_winograd_conv_kernel() {
  return {
      nullptr,       nullptr, sizes<F2>, prepare<F2>, forward<F2>, weight_grad<F2>, weight_grad_finish<F2>,
      input_grad<F2>};
}

const float* winograd_weight_matrix(int m, int r, int stride) {
  // K's column t is U of the unit kernel e_t: prepare over r² channel pairs, pair t holding e_t.
  const auto matrix = [](auto variant) {
    using V = decltype(variant);
    constexpr int R2 = V::kR * V::kR;
    ConvDims d{};
    d.o = R2, d.c = 1;
    std::vector<float> unit(R2 * R2, 0.0f), k(size_t(V::kA * V::kA * R2));
    for (int t = 0; t < R2; ++t) unit[size_t(t * R2 + t)] = 1.0f;
    prepare<V>(d, unit.data(), k.data());
    return k;
  };
  static const std::vector<float> f2 = matrix(F2{}), f4 = matrix(F4{}), f2x5 = matrix(winograd::F2x5{}),
                                  f3x5 = matrix(winograd::F3x5{}), f4x5 = matrix(winograd::F4x5{}),
                                  f2x7 = matrix(winograd::F2x7{});
  static const std::vector<float> s2f2x3 = matrix(winograd::S2F2x3{}), s2f2x5 = matrix(winograd::S2F2x5{});
  if (stride == 2) return r == 5 ? s2f2x5.data() : s2f2x3.data();
  if (r == 7) return f2x7.data();
  if (r == 5) return m == 4 ? f4x5.data() : m == 3 ? f3x5.data() : f2x5.data();
  return m == 4 ? f4.data() : f2.data();
}

}  // namespace xgrad
