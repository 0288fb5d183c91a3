// Winograd F(2x2, 3x3); see conv_winograd.h for the math. The 1-D transforms of F(2, 3):
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 -1 -1].
// Tile (ti, tj) reads rows 2ti..2ti+3 and columns 2tj..2tj+3 of the padded region and writes
// outputs 2ti..2ti+1 x 2tj..2tj+1 (those beyond oh, ow are dropped). Every transform runs over a
// row of tiles at once (loops over tj), so the compiler vectorises it.
#include "ops/conv_winograd.h"

#include <cblas.h>

#include <algorithm>

namespace xgrad {
namespace {

constexpr int64_t kCells = 16;  // ξ = i*4 + k, the cells of a 4x4 tile

// Tiles of one image and the zero-padded input region they read.
struct Tiles {
  int64_t th, tw, rows, cols;
  int64_t count() const { return th * tw; }
};
Tiles tiles_of(const ConvDims& d) {
  const int64_t th = (d.g.out_h + 1) / 2, tw = (d.g.out_w + 1) / 2;
  return {th, tw, 2 * th + 2, 2 * tw + 2};
}

// One worker's scratch: the padded region [C, rows, cols], V or dV [16, C, T], M or dM [16, O, T]
// and a row of transformed tiles [16, tw].
struct Scratch {
  float *region, *v, *m, *rowbuf;
};
Scratch split(const ConvDims& d, float* s) {
  const Tiles t = tiles_of(d);
  Scratch r{};
  r.region = s;
  r.v = r.region + d.c * t.rows * t.cols;
  r.m = r.v + kCells * d.c * t.count();
  r.rowbuf = r.m + kCells * d.o * t.count();
  return r;
}

// region [C, rows, cols] = x [C, h, w] shifted by the padding, zeros elsewhere.
void pad_region(const ConvDims& d, const Tiles& t, const float* x, float* region) {
  std::fill(region, region + d.c * t.rows * t.cols, 0.0f);
  const int64_t r1 = std::min(d.h, t.rows - d.g.pad_top), s1 = std::min(d.w, t.cols - d.g.pad_left);
  for (int64_t c = 0; c < d.c && s1 > 0; ++c)
    for (int64_t r = 0; r < r1; ++r) {
      const float* src = x + (c * d.h + r) * d.w;
      std::copy(src, src + s1, region + (c * t.rows + r + d.g.pad_top) * t.cols + d.g.pad_left);
    }
}

// dx [C, h, w] = the cells of region that are input cells (0 for input cells no tile reads).
void crop_region(const ConvDims& d, const Tiles& t, const float* region, float* dx) {
  std::fill(dx, dx + d.c * d.h * d.w, 0.0f);
  const int64_t r1 = std::min(d.h, t.rows - d.g.pad_top), s1 = std::min(d.w, t.cols - d.g.pad_left);
  for (int64_t c = 0; c < d.c && s1 > 0; ++c)
    for (int64_t r = 0; r < r1; ++r) {
      const float* src = region + (c * t.rows + r + d.g.pad_top) * t.cols + d.g.pad_left;
      std::copy(src, src + s1, dx + (c * d.h + r) * d.w);
    }
}

// V [16, C, T] = Bᵀ d B for every tile; e [4 rows, 4, tw] holds one tile row's column transforms.
void input_transform(const ConvDims& d, const Tiles& t, const float* region, float* v, float* e) {
  const int64_t tw = t.tw, cs = d.c * t.count();
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t ti = 0; ti < t.th; ++ti) {
      for (int64_t r = 0; r < 4; ++r) {
        const float* row = region + (c * t.rows + 2 * ti + r) * t.cols;
        float* er = e + r * 4 * tw;
        for (int64_t j = 0; j < tw; ++j) {
          const float* x = row + 2 * j;
          er[j] = x[0] - x[2], er[tw + j] = x[1] + x[2], er[2 * tw + j] = x[2] - x[1],
          er[3 * tw + j] = x[1] - x[3];
        }
      }
      float* vt = v + c * t.count() + ti * tw;
      for (int64_t k = 0; k < 4; ++k) {
        const float *e0 = e + k * tw, *e1 = e0 + 4 * tw, *e2 = e1 + 4 * tw, *e3 = e2 + 4 * tw;
        float *v0 = vt + k * cs, *v1 = v0 + 4 * cs, *v2 = v1 + 4 * cs, *v3 = v2 + 4 * cs;
        for (int64_t j = 0; j < tw; ++j)
          v0[j] = e0[j] - e2[j], v1[j] = e1[j] + e2[j], v2[j] = e2[j] - e1[j], v3[j] = e1[j] - e3[j];
      }
    }
}

// y [O, oh, ow] = Aᵀ M A (+ b) for every tile; f [2 rows, 4, tw].
void output_transform(const ConvDims& d, const Tiles& t, const float* m, const float* b, float* y, float* f) {
  const int64_t tw = t.tw, cs = d.o * t.count(), oh = d.g.out_h, ow = d.g.out_w;
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t ti = 0; ti < t.th; ++ti) {
      const float* mt = m + o * t.count() + ti * tw;
      for (int64_t k = 0; k < 4; ++k) {
        const float *m0 = mt + k * cs, *m1 = m0 + 4 * cs, *m2 = m1 + 4 * cs, *m3 = m2 + 4 * cs;
        float *f0 = f + k * tw, *f1 = f0 + 4 * tw;
        for (int64_t j = 0; j < tw; ++j) f0[j] = m0[j] + m1[j] + m2[j], f1[j] = m1[j] - m2[j] - m3[j];
      }
      const float bias = b ? b[o] : 0.0f;
      for (int64_t a = 0; a < 2 && 2 * ti + a < oh; ++a) {
        const float *f0 = f + a * 4 * tw, *f1 = f0 + tw, *f2 = f1 + tw, *f3 = f2 + tw;
        float* yr = y + (o * oh + 2 * ti + a) * ow;
        for (int64_t j = 0; j < ow / 2; ++j)
          yr[2 * j] = f0[j] + f1[j] + f2[j] + bias, yr[2 * j + 1] = f1[j] - f2[j] - f3[j] + bias;
        if (ow % 2) yr[ow - 1] = f0[tw - 1] + f1[tw - 1] + f2[tw - 1] + bias;
      }
    }
}

// dM [16, O, T] = A dY Aᵀ for every tile (dY: g's 2x2 block, zeros beyond oh, ow); h [2, 4, tw].
void grad_transform(const ConvDims& d, const Tiles& t, const float* g, float* dm, float* h) {
  const int64_t tw = t.tw, cs = d.o * t.count(), oh = d.g.out_h, ow = d.g.out_w;
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t ti = 0; ti < t.th; ++ti) {
      for (int64_t a = 0; a < 2; ++a) {  // along the row: (u0, u1) -> (u0, u0 + u1, u0 - u1, -u1)
        float *h0 = h + a * 4 * tw, *h1 = h0 + tw, *h2 = h1 + tw, *h3 = h2 + tw;
        if (2 * ti + a >= oh) {
          std::fill(h0, h0 + 4 * tw, 0.0f);
          continue;
        }
        const float* gr = g + (o * oh + 2 * ti + a) * ow;
        for (int64_t j = 0; j < ow / 2; ++j) {
          const float u0 = gr[2 * j], u1 = gr[2 * j + 1];
          h0[j] = u0, h1[j] = u0 + u1, h2[j] = u0 - u1, h3[j] = -u1;
        }
        if (ow % 2) h0[tw - 1] = h1[tw - 1] = h2[tw - 1] = gr[ow - 1], h3[tw - 1] = 0.0f;
      }
      float* mt = dm + o * t.count() + ti * tw;
      for (int64_t k = 0; k < 4; ++k) {  // down the column, the same map
        const float *a0 = h + k * tw, *a1 = a0 + 4 * tw;
        float *m0 = mt + k * cs, *m1 = m0 + 4 * cs, *m2 = m1 + 4 * cs, *m3 = m2 + 4 * cs;
        for (int64_t j = 0; j < tw; ++j)
          m0[j] = a0[j], m1[j] = a0[j] + a1[j], m2[j] = a0[j] - a1[j], m3[j] = -a1[j];
      }
    }
}

// region += B dV Bᵀ of every tile, scattered to the cells the tile read; e [4 rows, 4, tw].
// B maps (v0..v3) to (v0, v1 - v2 + v3, v1 + v2 - v0, -v3).
void input_adjoint(const ConvDims& d, const Tiles& t, const float* dv, float* region, float* e) {
  const int64_t tw = t.tw, cs = d.c * t.count();
  for (int64_t c = 0; c < d.c; ++c)
    for (int64_t ti = 0; ti < t.th; ++ti) {
      const float* vt = dv + c * t.count() + ti * tw;
      for (int64_t k = 0; k < 4; ++k) {
        const float *v0 = vt + k * cs, *v1 = v0 + 4 * cs, *v2 = v1 + 4 * cs, *v3 = v2 + 4 * cs;
        float *e0 = e + k * tw, *e1 = e0 + 4 * tw, *e2 = e1 + 4 * tw, *e3 = e2 + 4 * tw;
        for (int64_t j = 0; j < tw; ++j)
          e0[j] = v0[j], e1[j] = v1[j] - v2[j] + v3[j], e2[j] = v1[j] + v2[j] - v0[j], e3[j] = -v3[j];
      }
      for (int64_t r = 0; r < 4; ++r) {
        const float *e0 = e + r * 4 * tw, *e1 = e0 + tw, *e2 = e1 + tw, *e3 = e2 + tw;
        float* row = region + (c * t.rows + 2 * ti + r) * t.cols;
        // Neighbouring tiles share two columns: add the left halves, then the right halves.
        for (int64_t j = 0; j < tw; ++j) row[2 * j] += e0[j], row[2 * j + 1] += e1[j] - e2[j] + e3[j];
        for (int64_t j = 0; j < tw; ++j) row[2 * j + 2] += e1[j] + e2[j] - e0[j], row[2 * j + 3] -= e3[j];
      }
    }
}

// (w0, w1, w2) -> G w = (w0, (w0 + w1 + w2)/2, (w0 - w1 + w2)/2, w2), and its adjoint Gᵀ.
void g_map(const float* w, int64_t ws, float* u, int64_t us) {
  u[0] = w[0], u[us] = 0.5f * (w[0] + w[ws] + w[2 * ws]), u[2 * us] = 0.5f * (w[0] - w[ws] + w[2 * ws]);
  u[3 * us] = w[2 * ws];
}
void g_adjoint(const float* u, int64_t us, float* w, int64_t ws) {
  const float s = 0.5f * (u[us] + u[2 * us]);
  w[0] = u[0] + s, w[ws] = 0.5f * (u[us] - u[2 * us]), w[2 * ws] = s + u[3 * us];
}

}  // namespace

bool winograd_applies(const ConvDims& d) {
  return d.kh == 3 && d.kw == 3 && d.stride[0] == 1 && d.stride[1] == 1 && d.dilation[0] == 1 &&
         d.dilation[1] == 1;
}

int64_t winograd_weights_size(const ConvDims& d) { return kCells * d.o * d.c; }

int64_t winograd_scratch_size(const ConvDims& d) {
  const Tiles t = tiles_of(d);
  return d.c * t.rows * t.cols + kCells * (d.c + d.o) * t.count() + kCells * t.tw;
}

void winograd_prepare(const ConvDims& d, const float* w, float* u) {
  const int64_t cs = d.o * d.c;
  for (int64_t oc = 0; oc < cs; ++oc) {
    float half[3][4];  // G applied along each kernel row p
    for (int64_t p = 0; p < 3; ++p) g_map(w + oc * 9 + p * 3, 1, &half[p][0], 1);
    for (int64_t k = 0; k < 4; ++k) g_map(&half[0][k], 4, u + k * cs + oc, 4 * cs);
  }
}

void winograd_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  const int64_t cs = d.o * d.c;
  for (int64_t oc = 0; oc < cs; ++oc) {
    float half[4][3];  // Gᵀ along each row i of dU
    for (int64_t i = 0; i < 4; ++i) g_adjoint(acc + i * 4 * cs + oc, cs, &half[i][0], 1);
    float part[3][3];
    for (int64_t q = 0; q < 3; ++q) g_adjoint(&half[0][q], 3, &part[0][q], 3);
    for (int64_t k = 0; k < 9; ++k) dw[oc * 9 + k] += part[k / 3][k % 3];
  }
}

void winograd_forward(const ConvDims& d, const float* x, const float* u, const float* b, float* scratch,
                      float* y) {
  const Tiles t = tiles_of(d);
  const Scratch s = split(d, scratch);
  const int o = int(d.o), c = int(d.c), n = int(t.count());
  pad_region(d, t, x, s.region);
  input_transform(d, t, s.region, s.v, s.rowbuf);
  for (int64_t xi = 0; xi < kCells; ++xi)  // M_ξ [O, T] = U_ξ [O, C] · V_ξ [C, T]
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, n, c, 1.0f, u + xi * o * c, c, s.v + xi * c * n,
                n, 0.0f, s.m + xi * o * n, n);
  output_transform(d, t, s.m, b, y, s.rowbuf);
}

void winograd_weight_grad(const ConvDims& d, const float* x, const float* g, float* scratch, float* acc) {
  const Tiles t = tiles_of(d);
  const Scratch s = split(d, scratch);
  const int o = int(d.o), c = int(d.c), n = int(t.count());
  pad_region(d, t, x, s.region);
  input_transform(d, t, s.region, s.v, s.rowbuf);
  grad_transform(d, t, g, s.m, s.rowbuf);
  for (int64_t xi = 0; xi < kCells; ++xi)  // dU_ξ [O, C] += dM_ξ [O, T] · V_ξ [C, T]ᵀ
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o, c, n, 1.0f, s.m + xi * o * n, n, s.v + xi * c * n,
                n, 1.0f, acc + xi * o * c, c);
}

void winograd_input_grad(const ConvDims& d, const float* g, const float* u, float* scratch, float* dx) {
  const Tiles t = tiles_of(d);
  const Scratch s = split(d, scratch);
  const int o = int(d.o), c = int(d.c), n = int(t.count());
  grad_transform(d, t, g, s.m, s.rowbuf);
  for (int64_t xi = 0; xi < kCells; ++xi)  // dV_ξ [C, T] = U_ξ [O, C]ᵀ · dM_ξ [O, T]
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, n, o, 1.0f, u + xi * o * c, c, s.m + xi * o * n,
                n, 0.0f, s.v + xi * c * n, n);
  std::fill(s.region, s.region + d.c * t.rows * t.cols, 0.0f);
  input_adjoint(d, t, s.v, s.region, s.rowbuf);
  crop_region(d, t, s.region, dx);
}

}  // namespace xgrad
