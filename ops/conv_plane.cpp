#include "ops/conv_plane.h"

#include <algorithm>

#include "ops/im2col.h"
#include "ops/vmath.h"

namespace xgrad {
namespace {

#define XGRAD_INLINE inline __attribute__((always_inline))

// The padded plane split into its sw column phases, [rows][sw][cph]: padded cell (r, s) sits at
// (r*sw + s % sw)*cph + s / sw, so the cells a tap reads along an output row (columns j*sw + q*dw)
// are contiguous and every inner loop below is a plain vector loop, at any stride.
struct Phased {
  int64_t rows, sw, cph;
  int64_t size() const { return rows * sw * cph; }
  int64_t at(int64_t r, int64_t s) const { return (r * sw + s % sw) * cph + s / sw; }
};
Phased phased(const ConvDims& d) {
  const PaddedPlane pp = padded_plane(d);
  return {pp.rows, d.stride[1], (pp.cols + d.stride[1] - 1) / d.stride[1]};
}
// dst[k] = src[k * step] for k < n, and its reverse: a plain copy at step 1 and a deinterleave the
// compiler vectorises at step 2 (the strides convs use); any other step element by element.
XGRAD_INLINE void gather_every(const float* src, int64_t step, int64_t n, float* __restrict dst) {
  if (step == 1) {
    std::copy(src, src + n, dst);
  } else if (step == 2) {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[2 * k];
  } else {
    for (int64_t k = 0; k < n; ++k) dst[k] = src[k * step];
  }
}
XGRAD_INLINE void scatter_every(const float* src, int64_t step, int64_t n, float* __restrict dst) {
  if (step == 1) {
    std::copy(src, src + n, dst);
  } else if (step == 2) {
    for (int64_t k = 0; k < n; ++k) dst[2 * k] = src[k];
  } else {
    for (int64_t k = 0; k < n; ++k) dst[k * step] = src[k];
  }
}

// Between an image x [h, w] and its phased padded plane: cell (r, s) of x is padded cell
// (r + pt, s + pl); to_phased writes the plane (zeros first), else the plane's cells go to x (0 for
// cells outside it).
void copy_phased(const ConvDims& d, const Phased& ph, float* plane, float* x, bool to_phased) {
  const int64_t cols = padded_plane(d).cols, sw = ph.sw, padded_row = sw * ph.cph;
  if (to_phased) std::fill(plane, plane + ph.size(), 0.0f);
  // One column phase of x at a time, so the divisions stay out of the row loop.
  for (int64_t c0 = 0; c0 < std::min(sw, d.w); ++c0) {
    const int64_t pc0 = c0 + d.g.pad_left, n = (d.w - c0 + sw - 1) / sw;  // columns c0 + k*sw of x
    const int64_t inside = pc0 < cols ? std::min(n, (cols - pc0 + sw - 1) / sw) : 0, start = ph.at(0, pc0);
    for (int64_t r = 0; r < d.h; ++r) {
      const int64_t pr = r + d.g.pad_top, in_row = pr < ph.rows ? inside : 0;
      float* xr = x + r * d.w + c0;
      float* pl = in_row ? plane + start + pr * padded_row : plane;
      if (to_phased) {
        gather_every(xr, sw, in_row, pl);
      } else {
        scatter_every(pl, sw, in_row, xr);
        for (int64_t k = in_row; k < n; ++k) xr[k * sw] = 0.0f;
      }
    }
  }
}

// The cell that tap (p, q) reads for output (0, 0); output row i reads row_step(d, ph) * i further.
int64_t tap_start(const ConvDims& d, const Phased& ph, int64_t p, int64_t q) {
  return ph.at(p * d.dilation[0], q * d.dilation[1]);
}
int64_t row_step(const ConvDims& d, const Phased& ph) { return d.stride[0] * ph.sw * ph.cph; }

XGRAD_INLINE void forward_body(const ConvDims& d, const float* xp, const float* w, const float* b,
                               float* __restrict y) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, step = row_step(d, ph);
  for (int64_t o = 0; o < d.o; ++o) {
    std::fill(y + o * oh * ow, y + (o + 1) * oh * ow, b ? b[o] : 0.0f);
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const float wv = w[(o * d.kh + p) * d.kw + q], *s = xp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          float* __restrict yr = y + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) yr[j] += wv * s[i * step + j];
        }
      }
  }
}

// acc[o, tap, j] += g[o, i, j] * (the cell tap reads for output (i, j)): no reduction inside the
// loop, so it vectorises; the sums over j happen once per chunk of images.
XGRAD_INLINE void weight_body(const ConvDims& d, const float* xp, const float* g, float* __restrict acc) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, taps = d.kh * d.kw, step = row_step(d, ph);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        float* __restrict a = acc + (o * taps + p * d.kw + q) * ow;
        const float* s = xp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          const float* gr = g + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) a[j] += gr[j] * s[i * step + j];
        }
      }
}

// dxp (phased) [cells tap reads for output (i, j)] += w[o, tap] * g[o, i, j], then cropped to dx.
XGRAD_INLINE void input_body(const ConvDims& d, const float* g, const float* w, float* __restrict dxp,
                             float* dx) {
  const Phased ph = phased(d);
  const int64_t oh = d.g.out_h, ow = d.g.out_w, step = row_step(d, ph);
  std::fill(dxp, dxp + ph.size(), 0.0f);
  for (int64_t o = 0; o < d.o; ++o)
    for (int64_t p = 0; p < d.kh; ++p)
      for (int64_t q = 0; q < d.kw; ++q) {
        const float wv = w[(o * d.kh + p) * d.kw + q];
        float* __restrict s = dxp + tap_start(d, ph, p, q);
        for (int64_t i = 0; i < oh; ++i) {
          const float* gr = g + (o * oh + i) * ow;
          for (int64_t j = 0; j < ow; ++j) s[i * step + j] += wv * gr[j];
        }
      }
  copy_phased(d, ph, dxp, dx, false);
}

// The three entry points of one instruction set; TARGET is its attribute (or nothing).
#define XGRAD_PLANE_VARIANT(name, TARGET)                                                                    \
  TARGET void name##_forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) { \
    forward_body(d, xp, w, b, y);                                                                            \
  }                                                                                                          \
  TARGET void name##_weight(const ConvDims& d, const float* xp, const float* g, float* acc) {                \
    weight_body(d, xp, g, acc);                                                                              \
  }                                                                                                          \
  TARGET void name##_input(const ConvDims& d, const float* g, const float* w, float* scratch, float* dx) {   \
    input_body(d, g, w, scratch, dx);                                                                        \
  }

XGRAD_PLANE_VARIANT(avx512, XGRAD_TARGET_AVX512)
XGRAD_PLANE_VARIANT(avx2, XGRAD_TARGET_AVX2)
XGRAD_PLANE_VARIANT(generic, )

}  // namespace

const PlaneKernel& plane_kernel(Isa isa) {
  static const PlaneKernel avx512{avx512_forward, avx512_weight, avx512_input};
  static const PlaneKernel avx2{avx2_forward, avx2_weight, avx2_input};
  static const PlaneKernel generic{generic_forward, generic_weight, generic_input};
  return isa == Isa::Avx512 ? avx512 : isa == Isa::Avx2 ? avx2 : generic;
}

int64_t plane_acc_size(const ConvDims& d) { return d.o * d.kh * d.kw * d.g.out_w; }
int64_t plane_dx_scratch(const ConvDims& d) { return phased(d).size(); }
int64_t plane_kept_size(const ConvDims& d) { return phased(d).size(); }

void plane_pad(const ConvDims& d, const float* x, float* xp) {
  copy_phased(d, phased(d), xp, const_cast<float*>(x), true);  // to_phased only reads x
}

void plane_weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  for (int64_t k = 0; k < d.o * d.kh * d.kw; ++k) dw[k] += sum_lanes(acc + k * d.g.out_w, d.g.out_w);
}

}  // namespace xgrad
