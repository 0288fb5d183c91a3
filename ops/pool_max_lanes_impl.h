// The body of the lanes max pool (ops/pool_max_lanes.cpp), included once per instruction set after
// its `Vec` (kLanes planes a vector: V, I, loadu, storeu, set1, take_larger, origins, transpose).
// Not a header of its own: no include guard, no includes.

// y and argmax of planes [p0, p1): each block of kLanes planes copied channel-last (cells x kLanes),
// pooled there in the reference's cell order (the first largest cell wins; NaN never replaces), and
// the outputs and argmaxes copied back.
inline void max_lanes(const PoolDims& d, int64_t p0, int64_t p1, const float* x, float* y, int32_t* argmax) {
  constexpr int64_t L = Vec::kLanes;
  const int64_t cells = d.h * d.w, outs = d.g.out_h * d.g.out_w;
  std::vector<float> xt(size_t(cells * L)), yt(size_t(outs * L)), at(size_t(outs * L));
  for (int64_t b = p0; b < p1; b += L) {
    const int64_t n = std::min(L, p1 - b);
    for (int64_t k0 = 0; k0 < cells; k0 += L)  // xt [cell, plane] = x [plane, cell]
      Vec::transpose(x + b * cells + k0, cells, xt.data() + k0 * L, L, n, std::min(L, cells - k0));
    const typename Vec::I origin = Vec::origins(b, cells);  // each lane's cell 0 as an index into x
    for (int64_t i = 0; i < d.g.out_h; ++i)
      for (int64_t j = 0; j < d.g.out_w; ++j) {
        const Cells c = xgrad::cells(d, i, j);
        typename Vec::V best = Vec::loadu(xt.data() + (c.r0 * d.w + c.s0) * L);
        typename Vec::I best_at = Vec::set1(int32_t(c.r0 * d.w + c.s0));
        for (int64_t r = c.r0; r < c.r1; ++r)
          for (int64_t s = c.s0; s < c.s1; ++s)
            Vec::take_larger(Vec::loadu(xt.data() + (r * d.w + s) * L), int32_t(r * d.w + s), best, best_at);
        const int64_t o = i * d.g.out_w + j;
        Vec::storeu(yt.data() + o * L, best);
        Vec::store_index(at.data() + o * L, best_at, origin);
      }
    for (int64_t o0 = 0; o0 < outs; o0 += L) {  // y [plane, output] = yt [output, plane]
      const int64_t m = std::min(L, outs - o0);
      Vec::transpose(yt.data() + o0 * L, L, y + b * outs + o0, outs, m, n);
      // The indices move as float bit patterns: the transpose only moves them.
      Vec::transpose(at.data() + o0 * L, L, reinterpret_cast<float*>(argmax + b * outs + o0), outs, m, n);
    }
  }
}
