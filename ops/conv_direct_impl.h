// The direct conv kernels (ops/conv_direct.h) written once over a vector type. No include guard
// on purpose: ops/conv_direct.cpp includes this once per instruction set, inside that set's
// target region and namespace, after defining `struct Vec` (the vector type V, kLanes, and the
// register blocks that fit the set's register file) there.

// Output columns [L*jv, L*jv + L) that exist, as a lane mask.
inline typename Vec::Mask column_mask(const ConvDims& d, int64_t jv) {
  return Vec::first_lanes(std::min<int64_t>(Vec::kLanes, d.g.out_w - Vec::kLanes * jv));
}

// Output rows [i0, i0 + RB) of OB channels: OB·RB independent accumulators per column vector, so
// the FMA chains overlap even for a single channel (depthwise convs). The sums over input
// channels and taps stay in registers.
template <int OB, int RB>
void forward_rows(const ConvDims& d, int64_t i0, const float* xp, const float* w, const float* b, float* y) {
  constexpr int64_t L = Vec::kLanes;
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.kh * d.kw, patch = d.patch(), ow = d.g.out_w, plane = d.g.out_h * ow;
  for (int64_t jv = 0; jv * L < ow; ++jv) {
    typename Vec::V acc[RB][OB];
    for (int r = 0; r < RB; ++r)
      for (int o = 0; o < OB; ++o) acc[r][o] = Vec::set1(b ? b[o] : 0.0f);
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.kh; ++p)
        for (int64_t q = 0; q < d.kw; ++q) {
          typename Vec::V wv[OB];
          for (int o = 0; o < OB; ++o) wv[o] = Vec::set1(w[o * patch + c * taps + p * d.kw + q]);
          const float* x =
              xp + c * pd.size() + (i0 + p * d.dilation[0]) * pd.cols + jv * L + q * d.dilation[1];
          for (int r = 0; r < RB; ++r) {
            const typename Vec::V xv = Vec::loadu(x + r * pd.cols);
            for (int o = 0; o < OB; ++o) acc[r][o] = Vec::fmadd(wv[o], xv, acc[r][o]);
          }
        }
    const bool whole = (jv + 1) * L <= ow;  // masked stores only at a row's end (slow on some CPUs)
    const typename Vec::Mask m = column_mask(d, jv);
    for (int r = 0; r < RB; ++r)
      for (int o = 0; o < OB; ++o) {
        float* yv = y + o * plane + (i0 + r) * ow + jv * L;
        whole ? Vec::storeu(yv, acc[r][o]) : Vec::store_lanes(yv, m, acc[r][o]);
      }
  }
}

// Acc accumulators per column vector: an FMA's latency is 4 cycles and two issue per cycle.
template <int OB, int Acc>
void forward_group(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  constexpr int kRows = (Acc + OB - 1) / OB;
  int64_t i = 0;
  for (; i + kRows <= d.g.out_h; i += kRows) forward_rows<OB, kRows>(d, i, xp, w, b, y);
  if (i < d.g.out_h)  // the last rows in one block too, so they keep several FMA chains
    with_count<kRows>(d.g.out_h - i,
                      [&](auto rows) { forward_rows<OB, decltype(rows)::value>(d, i, xp, w, b, y); });
}

// Output channels in groups of up to Vec::kGroup, so each group's accumulators are named registers.
inline void forward(const ConvDims& d, const float* xp, const float* w, const float* b, float* y) {
  for (int64_t o0 = 0; o0 < d.o; o0 += Vec::kGroup)
    with_count<Vec::kGroup>(d.o - o0, [&](auto ob) {
      constexpr int OB = decltype(ob)::value;
      const float *wo = w + o0 * d.patch(), *bo = b ? b + o0 : nullptr;
      float* yo = y + o0 * d.positions();
      d.c == 1 ? forward_group<OB, Vec::kAccOneChannel>(d, xp, wo, bo, yo)
               : forward_group<OB, Vec::kAccChannels>(d, xp, wo, bo, yo);
    });
}

// acc [o, tap, 16 lanes] += Σ_{i, j} g[o, i, j] * xp[c, i + p·dh, j + q·dw] for OB channels and TB taps
// (any taps (c, p, q) of the kernel: off[t] = c * rows * cols + p·dh * cols + q·dw), each g and x vector
// loaded once per block. An instruction set of fewer lanes uses the first kLanes of the 16.
template <int OB, int TB>
void weight_block(const ConvDims& d, const float* xp, const int64_t* off, const float* g, float* acc) {
  constexpr int64_t L = Vec::kLanes;
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.patch(), ow = d.g.out_w, plane = d.g.out_h * ow;
  typename Vec::V a[OB][TB];
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) a[o][t] = Vec::loadu(acc + (o * taps + t) * kAccLanes);
  for (int64_t i = 0; i < d.g.out_h; ++i)
    for (int64_t jv = 0; jv * L < ow; ++jv) {
      const bool whole = (jv + 1) * L <= ow;
      const typename Vec::Mask m = column_mask(d, jv);
      typename Vec::V gv[OB];
      for (int o = 0; o < OB; ++o) {
        const float* gp = g + o * plane + i * ow + jv * L;
        gv[o] = whole ? Vec::loadu(gp) : Vec::load_lanes(gp, m);
      }
      const float* x = xp + i * pd.cols + jv * L;
      for (int t = 0; t < TB; ++t) {
        const typename Vec::V xv = Vec::loadu(x + off[t]);
        for (int o = 0; o < OB; ++o) a[o][t] = Vec::fmadd(gv[o], xv, a[o][t]);
      }
    }
  for (int o = 0; o < OB; ++o)
    for (int t = 0; t < TB; ++t) Vec::storeu(acc + (o * taps + t) * kAccLanes, a[o][t]);
}

// Blocks of kWeightChannels x kWeightTaps accumulators; one output channel (depthwise):
// kWeightTapsOne taps, for enough independent FMA chains.
inline void weight_grad(const ConvDims& d, const float* xp, const float* g, float* acc) {
  constexpr int kO = Vec::kWeightChannels, kT = Vec::kWeightTaps, kT1 = Vec::kWeightTapsOne;
  const PaddedDims pd = padded_dims(d);
  const int64_t taps = d.patch(), plane = d.positions(), kernel = d.kh * d.kw;
  int64_t off[64];  // tap offsets of up to 64 taps at a time
  for (int64_t t0 = 0; t0 < taps; t0 += 64) {
    const int64_t n = std::min<int64_t>(64, taps - t0);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t c = (t0 + t) / kernel, k = (t0 + t) % kernel;
      off[t] = c * pd.size() + k / d.kw * d.dilation[0] * pd.cols + k % d.kw * d.dilation[1];
    }
    if (d.o == 1) {
      for (int64_t t1 = 0; t1 < n; t1 += kT1)
        with_count<kT1>(n - t1, [&](auto tb) {
          weight_block<1, decltype(tb)::value>(d, xp, off + t1, g, acc + (t0 + t1) * kAccLanes);
        });
      continue;
    }
    for (int64_t o0 = 0; o0 < d.o; o0 += kO)
      for (int64_t t1 = 0; t1 < n; t1 += kT)
        with_count<kO>(d.o - o0, [&](auto ob) {
          with_count<kT>(n - t1, [&](auto tb) {
            weight_block<decltype(ob)::value, decltype(tb)::value>(d, xp, off + t1, g + o0 * plane,
                                                                   acc + (o0 * taps + t0 + t1) * kAccLanes);
          });
        });
  }
}
