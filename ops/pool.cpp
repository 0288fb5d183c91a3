// max_pool2d and avg_pool2d over [N,C,H,W]. Padded cells never count: max ignores them, avg divides
// by the number of real cells in the window (Keras' "same"). Max keeps its argmax for backward.
// Windows that never touch padding (LeNet's 2x2/2) take a fast path split over planes by the thread
// pool; everything else runs the reference loops of pool_reference.cpp, which are the tests' oracle.
#include <algorithm>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "core/error.h"
#include "core/parallel.h"
#include "ops/pool_reference.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

bool no_padding_reached(const PoolDims& d) {
  return d.g.pad_top == 0 && d.g.pad_left == 0 &&
         (d.g.out_h - 1) * d.win.stride[0] + d.win.kernel[0] <= d.h &&
         (d.g.out_w - 1) * d.win.stride[1] + d.win.kernel[1] <= d.w;
}

// One output row of a 2x2 window, branch-free (comparisons as 0/1 arithmetic) so that it
// vectorises and random data costs no mispredicted branches. SW: column stride, 0 = runtime.
template <int SW>
void max_row_2x2(const float* r0, const float* r1, int sw, int ow, int w, int32_t at0, float* y,
                 int32_t* argmax) {
  if (SW) sw = SW;
  for (int j = 0; j < ow; ++j) {
    const float a = r0[j * sw], b = r0[j * sw + 1], c = r1[j * sw], e = r1[j * sw + 1];
    const int32_t right0 = b > a, right1 = e > c;
    const float top = std::max(a, b), bottom = std::max(c, e);
    const int32_t down = bottom > top;
    y[j] = std::max(top, bottom);
    argmax[j] = at0 + j * sw + down * (w + right1) + (1 - down) * right0;
  }
}

#ifdef __AVX512F__
// The same for stride 2 with AVX-512: 16 windows at a time, the even and odd columns of two rows
// split out by permutes; blends and masks do what the comparisons do above.
void max_row_2x2_s2(const float* r0, const float* r1, int ow, int w, int32_t at0, float* y, int32_t* argmax) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lanes2 =
      _mm512_slli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 1);
  for (int j0 = 0; j0 < ow; j0 += 16) {
    const int n = std::min(16, ow - j0);
    const __mmask16 m = __mmask16((1u << n) - 1);
    const __mmask16 lo = __mmask16((1u << std::min(16, 2 * n)) - 1),
                    hi = __mmask16((1u << std::max(0, 2 * n - 16)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(lo, r0 + 2 * j0),
                 x1 = _mm512_maskz_loadu_ps(hi, r0 + 2 * j0 + 16);
    const __m512 z0 = _mm512_maskz_loadu_ps(lo, r1 + 2 * j0),
                 z1 = _mm512_maskz_loadu_ps(hi, r1 + 2 * j0 + 16);
    const __m512 a = _mm512_permutex2var_ps(x0, even, x1), b = _mm512_permutex2var_ps(x0, odd, x1);
    const __m512 c = _mm512_permutex2var_ps(z0, even, z1), e = _mm512_permutex2var_ps(z0, odd, z1);
    const __mmask16 right0 = _mm512_cmp_ps_mask(b, a, _CMP_GT_OQ),
                    right1 = _mm512_cmp_ps_mask(e, c, _CMP_GT_OQ);
    const __m512 top = _mm512_mask_blend_ps(right0, a, b), bottom = _mm512_mask_blend_ps(right1, c, e);
    const __mmask16 down = _mm512_cmp_ps_mask(bottom, top, _CMP_GT_OQ);
    _mm512_mask_storeu_ps(y + j0, m, _mm512_mask_blend_ps(down, top, bottom));
    const __m512i up_off = _mm512_maskz_mov_epi32(right0, _mm512_set1_epi32(1));
    const __m512i down_off = _mm512_mask_blend_epi32(right1, _mm512_set1_epi32(w), _mm512_set1_epi32(w + 1));
    const __m512i at = _mm512_add_epi32(_mm512_set1_epi32(at0 + 2 * j0), lanes2);
    _mm512_mask_storeu_epi32(argmax + j0, m,
                             _mm512_add_epi32(at, _mm512_mask_blend_epi32(down, up_off, down_off)));
  }
}
#endif

// The first largest cell of each window, as the reference picks it (strictly greater replaces).
// argmax is written even for inference (a scratch buffer then): one loop, no branch in it.
void max_pool_fast(const PoolDims& d, const float* x, float* y, int32_t* argmax) {
  const int64_t kh = d.win.kernel[0], kw = d.win.kernel[1], oh = d.g.out_h, ow = d.g.out_w;
  parallel_for(d.planes, [&](int64_t pl0, int64_t pl1) {
    for (int64_t pl = pl0; pl < pl1; ++pl)
      for (int64_t i = 0; i < oh; ++i) {
        const int64_t row = (pl * d.h + i * d.win.stride[0]) * d.w, o = (pl * oh + i) * ow;
        if (kh == 2 && kw == 2) {
#ifdef __AVX512F__
          if (d.win.stride[1] == 2) {
            max_row_2x2_s2(x + row, x + row + d.w, int(ow), int(d.w), int32_t(row), y + o, argmax + o);
            continue;
          }
#endif
          auto* f = d.win.stride[1] == 2 ? max_row_2x2<2> : max_row_2x2<0>;
          f(x + row, x + row + d.w, d.win.stride[1], ow, d.w, int32_t(row), y + o,
            argmax ? argmax + o : nullptr);
          continue;
        }
        for (int64_t j = 0; j < ow; ++j) {
          const int64_t origin = (pl * d.h + i * d.win.stride[0]) * d.w + j * d.win.stride[1];
          float best = x[origin];
          int64_t best_at = origin;
          for (int64_t p = 0; p < kh; ++p)
            for (int64_t q = 0; q < kw; ++q) {
              const int64_t at = origin + p * d.w + q;
              if (x[at] > best) best = x[at], best_at = at;
            }
          y[o + j] = best;
          argmax[o + j] = int32_t(best_at);
        }
      }
  });
}

void max_unpool_fast(const PoolDims& d, const float* g, const int32_t* argmax, float* dx) {
  const int64_t plane_in = d.h * d.w, plane_out = d.g.out_h * d.g.out_w;
  parallel_for(d.planes, [&](int64_t pl0, int64_t pl1) {
    std::fill(dx + pl0 * plane_in, dx + pl1 * plane_in, 0.0f);
    for (int64_t o = pl0 * plane_out; o < pl1 * plane_out; ++o) dx[argmax[o]] += g[o];
  });
}

class Pool2d final : public Op {
 public:
  Pool2d(Window w, bool is_max) : win_(w), is_max_(is_max) {}
  std::string_view type() const override { return is_max_ ? "max_pool2d" : "avg_pool2d"; }
  Arity arity() const override { return {1, 1}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    const Shape& x = in[0].shape;
    if (in[0].dtype != DType::Float32 || x.size() != 4)
      throw Error("expected float32 x as [N, C, H, W], found " + to_string(x));
    const Geometry g = geometry(x[2], x[3], win_);
    return {x[0], x[1], g.out_h, g.out_w};
  }

  void forward(const Inputs& in, Tensor& out, Workspace& ws, bool) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    if (!is_max_) return avg_pool_reference_forward(d, in[0]->data(), out.data());
    ws.indices.resize(out.size());
    if (no_padding_reached(d))
      max_pool_fast(d, in[0]->data(), out.data(), ws.indices.data());
    else
      max_pool_reference_forward(d, in[0]->data(), out.data(), ws.indices.data());
  }

  void backward(const Inputs& in, const Tensor& out, const Tensor& gy, Workspace& ws,
                const Grads& gx) const override {
    const PoolDims d = pool_dims(*in[0], win_);
    ensure_shape(*gx[0], shape_of(*in[0]));
    if (!is_max_) return avg_pool_reference_backward(d, gy.data(), gx[0]->data());
    if (ws.indices.size() != out.size())
      throw Error("backward needs a training forward of the same batch first");
    max_unpool_fast(d, gy.data(), ws.indices.data(), gx[0]->data());
  }

  json attrs() const override { return window_attrs(win_, true, false); }

 private:
  Window win_;
  bool is_max_;
};

std::unique_ptr<Op> make_pool(const json& a, bool is_max) {
  AttrReader reader(a);
  Window w;
  w.kernel = reader.required_pair("kernel", 1);
  w.stride = reader.pair("stride", w.kernel, 1);
  w.padding = reader.padding("padding");
  reader.finish();
  // A window made only of padding would have no cell to pool.
  if (w.padding.mode == Padding::Mode::Explicit &&
      (w.padding.pad[0] >= w.kernel[0] || w.padding.pad[1] >= w.kernel[1]))
    throw Error("attrs.padding: must be smaller than the kernel, found " + w.padding.to_json().dump());
  return std::make_unique<Pool2d>(w, is_max);
}

}  // namespace

void register_pool_ops(Registry& r) {
  r.add("max_pool2d", [](const json& a) { return make_pool(a, true); });
  r.add("avg_pool2d", [](const json& a) { return make_pool(a, false); });
}

}  // namespace xgrad
