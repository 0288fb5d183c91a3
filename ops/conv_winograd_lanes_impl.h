// The Winograd lane kernels (ops/conv_winograd_lanes.cpp) written once over a vector type. No include
// guard on purpose: conv_winograd_lanes.cpp includes this once per instruction set, inside that set's
// target region and namespace, after defining `struct Vec` there: the vector type V, its kLanes, loadu,
// storeu, zero, load_first (the first n floats, zeros after) and transpose (a kLanes x kLanes block,
// transpose_block's contract). L below is Vec::kLanes.

using V = Vec::V;
constexpr int64_t kWidth = Vec::kLanes;

int64_t lanes_up(int64_t n) { return (n + kWidth - 1) / kWidth * kWidth; }

// One image's tiles, the padded region they read and the buffers' strides.
struct Geometry {
  int64_t th, tw;          // tiles down and across
  int64_t rows, cols;      // the padded input region: s*m*th + A - s*m (stride s; A - m = r - 1 at s = 1)
  int64_t cp, op;          // channels rounded up to whole vectors
  int64_t band;            // tile rows per band (≤ 128 tiles, so V and M of a band stay in cache)
  int64_t images;          // images per call (> 1 only where one band holds whole images)
  int64_t v_cell, m_cell;  // floats from one cell's [n, cp] (or [n, op]) block to the next
};
template <class F>
Geometry geometry(const ConvDims& d, int64_t images = 1) {
  Geometry g;
  g.th = (d.g.out_h + F::kM - 1) / F::kM, g.tw = (d.g.out_w + F::kM - 1) / F::kM;
  constexpr int64_t step = F::kS * F::kM, tail = F::kA - step;  // a tile's inputs past the next tile's start
  g.rows = step * g.th + tail, g.cols = step * g.tw + tail;
  g.cp = lanes_up(d.c), g.op = lanes_up(d.o);
  g.band = images > 1 ? g.th : std::max<int64_t>(1, std::min(g.th, 128 / g.tw));
  g.images = images;
  g.v_cell = g.images * g.band * g.tw * g.cp + kWidth,
  g.m_cell = g.images * g.band * g.tw * g.op + kWidth;  // + a line: no L1 set clashes
  return g;
}

// Images per call: whole images while their tiles fill at most 32 GEMM rows, so the reads of U_ξ serve
// them all (128 -> 128 at 8x8 has 4 tiles an image: 17,338 -> 12,916 µs per 64 images, forward and
// both gradients; caps of 64 and 128 rows, or a cache budget for V and M, measured no better). Only
// with our own GEMM: sgemm's sums may depend on its row count, and the count per call varies with the
// thread count.
template <class F>
int64_t images_per_call(const ConvDims& d) {
  const Geometry g = geometry<F>(d);
  if (!Vec::kOwnGemm || g.band < g.th) return 1;
  return std::clamp<int64_t>(32 / (g.th * g.tw), 1, std::max<int64_t>(d.n, 1));
}

// One worker's scratch: the channel-last region [cp/L, rows, cols, L] (forward: x; backward: dx's
// sums), V or dV [A², n, cp], M or dM [A², n, op], and the channel-last output (forward: y; backward:
// g) [op/L, m*th, m*tw, L].
struct Scratch {
  float *region, *v, *m, *image;
};
template <class F>
Scratch layout(const Geometry& g, float* base, int64_t* size = nullptr) {
  constexpr int64_t cells = F::kA * F::kA;
  const int64_t region = g.cp * g.rows * g.cols, v = cells * g.v_cell, m = cells * g.m_cell;
  if (size) *size = region + v + m + g.op * F::kM * g.th * F::kM * g.tw;
  if (!base) return {};
  return {base, base + region, base + region + v, base + region + v + m};
}
// Variant W's tiles over the region of variant F's forward: the same origin, at least as large.
template <class F, class W>
Geometry reading_region_of(const ConvDims& d, int64_t images) {
  const Geometry f = geometry<F>(d);
  Geometry g = geometry<W>(d, images);
  g.rows = f.rows, g.cols = f.cols;
  return g;
}
template <class F>
int64_t scratch_size(const ConvDims& d) {
  int64_t size = 0, f2 = 0;
  const int64_t images = images_per_call<F>(d);
  layout<F>(geometry<F>(d, images), nullptr, &size);
  if (std::is_same_v<F, F4>)
    layout<F2>(reading_region_of<F, F2>(d, images), nullptr, &f2);  // F(4, 3)'s dw may be F(2, 3)'s
  return std::max(size, f2);
}
template <class F>
int64_t weights_size(const ConvDims& d) {
  return F::kA * F::kA * lanes_up(d.c) * lanes_up(d.o);
}

// out [c/L blocks, rows, cols, L] = in [c, h, w] moved down by `top` and right by `left`, zeros
// elsewhere and in the channels past c (cells beyond the region are not copied).
void to_lanes(const float* in, int64_t c, int64_t h, int64_t w, int64_t top, int64_t left, int64_t rows,
              int64_t cols, float* out) {
  const int64_t h1 = std::max<int64_t>(0, std::min(h, rows - top)),
                w1 = std::max<int64_t>(0, std::min(w, cols - left));
  for (int64_t cb = 0; cb * kWidth < c; ++cb) {
    const int64_t chans = std::min(kWidth, c - cb * kWidth);
    for (int64_t r = 0; r < rows; ++r) {
      float* row = out + (cb * rows + r) * cols * kWidth;
      const bool inside = r >= top && r < top + h1 && w1 > 0;
      if (!inside || chans < kWidth) {
        std::fill(row, row + cols * kWidth, 0.0f);
      } else {
        std::fill(row, row + left * kWidth, 0.0f);
        std::fill(row + (left + w1) * kWidth, row + cols * kWidth, 0.0f);
      }
      if (!inside) continue;
      for (int64_t j0 = 0; j0 < w1; j0 += kWidth)
        Vec::transpose(in + (cb * kWidth * h + r - top) * w + j0, h * w, row + (left + j0) * kWidth, kWidth,
                       chans, std::min(kWidth, w1 - j0));
    }
  }
}

// out [c, h, w] = in [c/L blocks, rows, cols, L] read from (top, left); cells the region does not
// reach are 0. stream: whole blocks go out with non-temporal stores (ConvDims::stream_output).
void from_lanes(const float* in, int64_t c, int64_t h, int64_t w, int64_t top, int64_t left, int64_t rows,
                int64_t cols, float* out, bool stream = false) {
  const int64_t h1 = std::max<int64_t>(0, std::min(h, rows - top)),
                w1 = std::max<int64_t>(0, std::min(w, cols - left));
  if (h1 < h || w1 < w) std::fill(out, out + c * h * w, 0.0f);
  for (int64_t cb = 0; cb * kWidth < c; ++cb) {
    const int64_t chans = std::min(kWidth, c - cb * kWidth);
    for (int64_t r = 0; r < h1; ++r)
      for (int64_t j0 = 0; j0 < w1; j0 += kWidth)
        Vec::transpose(in + ((cb * rows + r + top) * cols + left + j0) * kWidth, kWidth,
                       out + (cb * kWidth * h + r) * w + j0, h * w, std::min(kWidth, w1 - j0), chans, stream);
  }
  if (stream) _mm_sfence();  // the non-temporal stores are visible before out is read
}

// The copies of to_lanes and from_lanes by a CellMap (ops/conv_dilated.h) instead of a shift: each
// source row goes through `row` [w, L] channel-last, so a cell moves as one vector wherever it lands.

// dst [map.width cells, L] = the cells of src [cells, L] that the map's runs name, zeros elsewhere.
void copy_cells(const CellMap& map, const float* src, float* dst) {
  int64_t next = 0;  // the first cell not yet written
  for (const CellRun& run : map.runs) {
    std::fill(dst + next * kWidth, dst + run.at * kWidth, 0.0f);
    for (int64_t k = 0; k < run.count; ++k)
      Vec::storeu(dst + (run.at + k) * kWidth, Vec::loadu(src + (run.from + k * run.step) * kWidth));
    next = run.at + run.count;
  }
  std::fill(dst + next * kWidth, dst + map.width * kWidth, 0.0f);
}

// out [c/L blocks, map rows, map width, L] = the cells of in [c, h, w] the map names, zeros elsewhere.
void to_lanes_mapped(const float* in, int64_t c, int64_t h, int64_t w, const CellMap& map, float* row,
                     float* out) {
  const int64_t rows = int64_t(map.row_of.size()), cols = map.width;
  for (int64_t cb = 0; cb * kWidth < c; ++cb) {
    const int64_t chans = std::min(kWidth, c - cb * kWidth);
    if (chans < kWidth) std::fill(row, row + w * kWidth, 0.0f);  // the transposes leave those lanes
    for (int64_t r = 0; r < rows; ++r) {
      float* dst = out + (cb * rows + r) * cols * kWidth;
      const int64_t src = map.row_of[size_t(r)];
      if (src < 0) {
        std::fill(dst, dst + cols * kWidth, 0.0f);
        continue;
      }
      for (int64_t j0 = 0; j0 < w; j0 += kWidth)
        Vec::transpose(in + (cb * kWidth * h + src) * w + j0, h * w, row + j0 * kWidth, kWidth, chans,
                       std::min(kWidth, w - j0));
      copy_cells(map, row, dst);
    }
  }
}

// out [c, h, w] (h = the map's rows, w its width) = the cells of in [c/L blocks, rows, cols, L] the map
// names, zeros elsewhere.
void from_lanes_mapped(const float* in, int64_t c, int64_t rows, int64_t cols, const CellMap& map, float* row,
                       float* out) {
  const int64_t h = int64_t(map.row_of.size()), w = map.width;
  for (int64_t cb = 0; cb * kWidth < c; ++cb) {
    const int64_t chans = std::min(kWidth, c - cb * kWidth);
    for (int64_t i = 0; i < h; ++i) {
      const int64_t src = map.row_of[size_t(i)];
      if (src < 0) {
        for (int64_t ch = 0; ch < chans; ++ch) std::fill_n(out + ((cb * kWidth + ch) * h + i) * w, w, 0.0f);
        continue;
      }
      copy_cells(map, in + (cb * rows + src) * cols * kWidth, row);
      for (int64_t j0 = 0; j0 < w; j0 += kWidth)
        Vec::transpose(row + j0 * kWidth, kWidth, out + (cb * kWidth * h + i) * w + j0, h * w,
                       std::min(kWidth, w - j0), chans);
    }
  }
}

// Where a call's planes meet the kernel's channel-last grids, image i of the call. A plain conv's x
// (and dx) sit in the region shifted by the padding, g (and y) at the output image's origin.
struct PlainPlanes {
  const ConvDims& d;
  void x_in(const float* x, int64_t i, const Geometry& g, float* region) const {
    to_lanes(x + i * d.c * d.h * d.w, d.c, d.h, d.w, d.g.pad_top, d.g.pad_left, g.rows, g.cols, region);
  }
  void g_in(const float* gy, int64_t i, int64_t rows, int64_t cols, float* image) const {
    to_lanes(gy + i * d.o * d.positions(), d.o, d.g.out_h, d.g.out_w, 0, 0, rows, cols, image);
  }
  void y_out(const float* image, int64_t rows, int64_t cols, int64_t i, float* y) const {
    from_lanes(image, d.o, d.g.out_h, d.g.out_w, 0, 0, rows, cols, y + i * d.o * d.positions(),
               d.stream_output);
  }
  void dx_out(const float* region, const Geometry& g, int64_t i, float* dx) const {
    from_lanes(region, d.c, d.h, d.w, d.g.pad_top, d.g.pad_left, g.rows, g.cols, dx + i * d.c * d.h * d.w);
  }
};

// A dilated conv d's planes on the mosaic of its phases (ops/conv_dilated.h): the kernel's geometry is
// the mosaic's, its grids' cells are mapped to d's planes; `row` holds one channel-last row.
struct MosaicPlanes {
  const ConvDims& d;
  float* row;
  void x_in(const float* x, int64_t i, const Geometry& g, float* region) const {
    to_lanes_mapped(x + i * d.c * d.h * d.w, d.c, d.h, d.w, mosaic_of_x(d, g.rows, g.cols), row, region);
  }
  void g_in(const float* gy, int64_t i, int64_t rows, int64_t cols, float* image) const {
    to_lanes_mapped(gy + i * d.o * d.positions(), d.o, d.g.out_h, d.g.out_w,
                    mosaic_outputs_of_g(d, rows, cols), row, image);
  }
  void y_out(const float* image, int64_t rows, int64_t cols, int64_t i, float* y) const {
    from_lanes_mapped(image, d.o, rows, cols, y_of_mosaic_outputs(d), row, y + i * d.o * d.positions());
  }
  void dx_out(const float* region, const Geometry& g, int64_t i, float* dx) const {
    from_lanes_mapped(region, d.c, g.rows, g.cols, dx_of_mosaic(d), row, dx + i * d.c * d.h * d.w);
  }
};
// Floats of MosaicPlanes' row: the wider of x's and y's rows.
int64_t mosaic_row_size(const ConvDims& d) { return std::max(d.w, d.g.out_w) * kWidth; }

// V [A², n, cp] = Bᵀ d B for the tiles of tile rows [ti0, ti1), tile t = (ti - ti0)·tw + tj.
template <class F>
void input_transform(const Geometry& g, const float* region, int64_t ti0, int64_t ti1, float* v) {
  constexpr int A = F::kA;
  constexpr int64_t step = F::kS * F::kM;  // a tile's inputs start s·m after the last's
  for (int64_t cb = 0; cb < g.cp / kWidth; ++cb)
    for (int64_t ti = ti0; ti < ti1; ++ti)
      for (int64_t tj = 0; tj < g.tw; ++tj) {
        float* vt = v + ((ti - ti0) * g.tw + tj) * g.cp + cb * kWidth;
        V e[A][A];  // e[i][k]: row i of the tile transformed along the row
        for (int i = 0; i < A; ++i) {
          const float* cell = region + ((cb * g.rows + step * ti + i) * g.cols + step * tj) * kWidth;
          V a[A];
          for (int j = 0; j < A; ++j) a[j] = Vec::loadu(cell + j * kWidth);
          F::bt(a, e[i]);
        }
        for (int k = 0; k < A; ++k) {
          V col[A], out[A];
          for (int i = 0; i < A; ++i) col[i] = e[i][k];
          F::bt(col, out);
          for (int i = 0; i < A; ++i) Vec::storeu(vt + (i * A + k) * g.v_cell, out[i]);
        }
      }
}

// The channel-last output image [op/L, m*th, m*tw, L] = Aᵀ M A + bias for the band's tiles.
template <class F>
void output_transform(const Geometry& g, const float* m, const float* bias, int64_t o, int64_t ti0,
                      int64_t ti1, float* image) {
  constexpr int M = F::kM, A = F::kA;
  const int64_t oh = M * g.th, ow = M * g.tw;
  const V zero = Vec::zero();
  for (int64_t ob = 0; ob < g.op / kWidth; ++ob) {
    const V add = bias ? Vec::load_first(bias + ob * kWidth, std::min(kWidth, o - ob * kWidth)) : zero;
    for (int64_t ti = ti0; ti < ti1; ++ti)
      for (int64_t tj = 0; tj < g.tw; ++tj) {
        const float* mt = m + ((ti - ti0) * g.tw + tj) * g.op + ob * kWidth;
        V f[M][A];  // f[a][k]: column k of the tile transformed down the column
        for (int k = 0; k < A; ++k) {
          V col[A], out[M];
          for (int i = 0; i < A; ++i) col[i] = Vec::loadu(mt + (i * A + k) * g.m_cell);
          F::at(col, zero, out);
          for (int a = 0; a < M; ++a) f[a][k] = out[a];
        }
        for (int a = 0; a < M; ++a) {
          V out[M];
          F::at(f[a], add, out);
          float* cell = image + ((ob * oh + M * ti + a) * ow + M * tj) * kWidth;
          for (int b = 0; b < M; ++b) Vec::storeu(cell + b * kWidth, out[b]);
        }
      }
  }
}

// dM [A², n, op] = A dY Aᵀ for the band's tiles, dY from the channel-last g (zeros beyond oh, ow).
template <class F>
void grad_transform(const Geometry& g, const float* image, int64_t ti0, int64_t ti1, float* dm) {
  constexpr int M = F::kM, A = F::kA;
  const int64_t oh = M * g.th, ow = M * g.tw;
  for (int64_t ob = 0; ob < g.op / kWidth; ++ob)
    for (int64_t ti = ti0; ti < ti1; ++ti)
      for (int64_t tj = 0; tj < g.tw; ++tj) {
        float* mt = dm + ((ti - ti0) * g.tw + tj) * g.op + ob * kWidth;
        V h[M][A];  // h[a][k]: output row a of the block mapped along the row
        for (int a = 0; a < M; ++a) {
          const float* cell = image + ((ob * oh + M * ti + a) * ow + M * tj) * kWidth;
          V in[M];
          for (int b = 0; b < M; ++b) in[b] = Vec::loadu(cell + b * kWidth);
          F::ad(in, h[a]);
        }
        for (int k = 0; k < A; ++k) {
          V col[M], out[A];
          for (int a = 0; a < M; ++a) col[a] = h[a][k];
          F::ad(col, out);
          for (int i = 0; i < A; ++i) Vec::storeu(mt + (i * A + k) * g.m_cell, out[i]);
        }
      }
}

// region += B dV Bᵀ of the band's tiles, added to the cells each tile read (tiles overlap by A - s·m).
template <class F>
void input_adjoint(const Geometry& g, const float* dv, int64_t ti0, int64_t ti1, float* region) {
  constexpr int A = F::kA;
  constexpr int64_t step = F::kS * F::kM;
  for (int64_t cb = 0; cb < g.cp / kWidth; ++cb)
    for (int64_t ti = ti0; ti < ti1; ++ti)
      for (int64_t tj = 0; tj < g.tw; ++tj) {
        const float* vt = dv + ((ti - ti0) * g.tw + tj) * g.cp + cb * kWidth;
        V e[A][A];  // e[r][k]: column k mapped back to the tile's rows r
        for (int k = 0; k < A; ++k) {
          V col[A], out[A];
          for (int i = 0; i < A; ++i) col[i] = Vec::loadu(vt + (i * A + k) * g.v_cell);
          F::b(col, out);
          for (int r = 0; r < A; ++r) e[r][k] = out[r];
        }
        for (int r = 0; r < A; ++r) {
          V out[A];
          F::b(e[r], out);
          float* cell = region + ((cb * g.rows + step * ti + r) * g.cols + step * tj) * kWidth;
          for (int j = 0; j < A; ++j) Vec::storeu(cell + j * kWidth, Vec::loadu(cell + j * kWidth) + out[j]);
        }
      }
}

// The cells' GEMMs, C [m, n] (+)= A · B as gemm_avx512 (ops/gemm_avx512.h) defines them: ours at
// AVX-512, sgemm at AVX2, where it measured faster than 4 x 3 register blocks (by 0-40 %).
void cell_gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t ars, int64_t aks, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if constexpr (Vec::kOwnGemm) {
    gemm_avx512(m, n, k, a, ars, aks, b, ldb, c, ldc, accumulate);
  } else {  // A is row-major (aks = 1) or transposed (ars = 1)
    const bool trans = aks != 1;
    cblas_sgemm(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, CblasNoTrans, int(m), int(n), int(k), 1.0f,
                a, int(trans ? aks : ars), b, int(ldb), accumulate ? 1.0f : 0.0f, c, int(ldc));
  }
}

// U [A², cp, op] (forward) or, `for_dx`, [A², op, cp] = K · w for each channel pair, as one GEMM
// per input (or output) channel; zeros for the rounded-up channels.
template <class F, bool for_dx>
void prepare(const ConvDims& d, const float* w, float* u) {
  constexpr int cells = F::kA * F::kA, taps = F::kR * F::kR;
  const float* k = winograd_weight_matrix(F::kM, F::kR, F::kS);
  const int64_t cp = lanes_up(d.c), op = lanes_up(d.o);
  if (cp > d.c || op > d.o) std::fill(u, u + cells * cp * op, 0.0f);
  const int c = int(d.c), o = int(d.o);
  // One GEMM per channel, split over the thread pool (each the same call whoever runs it): run once
  // per training step in each direction, serially it held up the other thread.
  if (for_dx) {
    parallel_for(d.o, [&](int64_t o0, int64_t o1) {
      for (int64_t oi = o0; oi < o1; ++oi)  // [A², C] of output channel oi = K · w[oi]ᵀ
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cells, c, taps, 1.0f, k, taps,
                    w + oi * d.c * taps, taps, 0.0f, u + oi * cp, int(op * cp));
    });
  } else {
    parallel_for(d.c, [&](int64_t c0, int64_t c1) {
      for (int64_t ci = c0; ci < c1; ++ci)  // [A², O] of input channel ci = K · w[:, ci]ᵀ
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cells, o, taps, 1.0f, k, taps, w + ci * taps,
                    int(d.c * taps), 0.0f, u + ci * op, int(cp * op));
    });
  }
}

// The kernels over planes P (PlainPlanes, MosaicPlanes); d is the geometry's conv (a dilated conv's
// mosaic), of d.n images.
template <class F, class P>
void forward_on(const ConvDims& d, const P& planes, const float* x, const float* u, const float* b,
                float* scratch, float* y) {
  const Geometry g = geometry<F>(d, d.n);
  const Scratch s = layout<F>(g, scratch);
  for (int64_t ti0 = 0; ti0 < g.th; ti0 += g.band) {
    const int64_t ti1 = std::min(g.th, ti0 + g.band), n = (ti1 - ti0) * g.tw;
    for (int64_t i = 0; i < g.images; ++i) {
      if (ti0 == 0) planes.x_in(x, i, g, s.region);
      input_transform<F>(g, s.region, ti0, ti1, s.v + i * n * g.cp);
    }
    // M_ξ [n, op] = V_ξ [n, cp] · U_ξ [cp, op], the n tiles of every image at once
    for (int64_t xi = 0; xi < F::kA * F::kA; ++xi)
      cell_gemm(g.images * n, g.op, g.cp, s.v + xi * g.v_cell, g.cp, 1, u + xi * g.cp * g.op, g.op,
                s.m + xi * g.m_cell, g.op, false);
    for (int64_t i = 0; i < g.images; ++i) {
      output_transform<F>(g, s.m + i * n * g.op, b, d.o, ti0, ti1, s.image);
      if (ti1 < g.th) continue;
      // The activation on the channel-last image (elementwise: the same bits as on y), before y
      // leaves the cache; cells past the plane's edge are computed too and dropped.
      activate(d.act, s.image, g.op * F::kM * g.th * F::kM * g.tw);
      planes.y_out(s.image, F::kM * g.th, F::kM * g.tw, i, y);
    }
  }
}

// The weight gradient's GEMMs are as deep as an image has tiles: F(4, 3)'s with fewer than 16 tiles
// measured slower than F(2, 3)'s with 4x as many, so those convs take F(2, 3)'s (its tiles read the
// region F(4, 3)'s forward reads: the same origin, at least as large).
bool weight_grad_by_f2(const ConvDims& d) { return ((d.g.out_h + 3) / 4) * ((d.g.out_w + 3) / 4) < 16; }

// V and dM of the band's tiles (tile rows [ti0, ti1)) of every image of the call by variant W; x and
// g are copied channel-last at the first band.
template <class W, class P>
void transform_x_and_g(const Geometry& g, const P& planes, const Scratch& s, const float* x, const float* gy,
                       int64_t ti0, int64_t ti1) {
  const int64_t n = (ti1 - ti0) * g.tw;
  for (int64_t i = 0; i < g.images; ++i) {
    if (ti0 == 0) {
      planes.x_in(x, i, g, s.region);
      planes.g_in(gy, i, W::kM * g.th, W::kM * g.tw, s.image);
    }
    input_transform<W>(g, s.region, ti0, ti1, s.v + i * n * g.cp);
    grad_transform<W>(g, s.image, ti0, ti1, s.m + i * n * g.op);
  }
}

// The weight gradient over the batch (ConvKernel::batch_weight_grad): the call's V and dM by variant
// W go to d.batch, [A², N, cp] and then [A², N, op] for the batch's N tiles (image-major, a line
// between cells), at its first image's tiles. Only where an image's tiles are one band.
inline bool one_band(const Geometry& g) { return g.band >= g.th; }
inline Geometry in_batch(Geometry g, int64_t images) {
  const int64_t tiles = images * g.th * g.tw;
  g.v_cell = tiles * g.cp + kWidth, g.m_cell = tiles * g.op + kWidth;
  return g;
}
template <class W>
Scratch batch_part(const ConvDims& d, const Geometry& gb, const Scratch& s) {
  const int64_t first = d.batch_first * gb.th * gb.tw;
  float* m = d.batch + W::kA * W::kA * gb.v_cell;
  return {s.region, d.batch + first * gb.cp, m + first * gb.op, s.image};
}

// acc: dU [A², op, cp] += dM_ξᵀ · V_ξ of d.n images by variant W, V from the region F's forward reads
// (dU = that where d.acc_fresh); where d.batch is set, V and dM stored there instead.
template <class F, class W, class P>
void weight_grad_by(const ConvDims& d, const P& planes, const float* x, const float* gy, float* scratch,
                    float* acc) {
  const Geometry g = reading_region_of<F, W>(d, d.n);
  const Scratch s = layout<W>(g, scratch);
  if (d.batch) {
    const Geometry gb = in_batch(g, d.batch_images);
    return transform_x_and_g<W>(gb, planes, batch_part<W>(d, gb, s), x, gy, 0, g.th);
  }
  for (int64_t ti0 = 0; ti0 < g.th; ti0 += g.band) {
    const int64_t ti1 = std::min(g.th, ti0 + g.band), n = (ti1 - ti0) * g.tw;
    transform_x_and_g<W>(g, planes, s, x, gy, ti0, ti1);
    for (int64_t xi = 0; xi < W::kA * W::kA; ++xi)  // dU_ξ [op, cp] (+)= dM_ξ [n, op]ᵀ · V_ξ [n, cp]
      cell_gemm(g.op, g.cp, g.images * n, s.m + xi * g.m_cell, 1, g.op, s.v + xi * g.v_cell, g.cp,
                acc + xi * g.op * g.cp, g.cp, !(d.acc_fresh && ti0 == 0));
  }
}
template <class F, class P>
void weight_grad_on(const ConvDims& d, const P& planes, const float* x, const float* gy, float* scratch,
                    float* acc) {
  if (std::is_same_v<F, F4> && weight_grad_by_f2(d))
    return weight_grad_by<F, F2>(d, planes, x, gy, scratch, acc);
  weight_grad_by<F, F>(d, planes, x, gy, scratch, acc);
}

// dw [O, C, r, r] += Gᵀ dU G = dUᵀ · K (dU by variant W): one GEMM per block of 16 output channels
// where no input channel is rounded up (dU's pairs are then dw's, in order), else one per output
// channel; the blocks split over the thread pool, each the same call whoever runs it, so the sums do
// not depend on the thread count. (One call per output channel cost alexnet-cifar ~3 % at 1 thread.)
template <class W>
void weight_grad_finish_by(const ConvDims& d, const float* acc, float* dw) {
  constexpr int cells = W::kA * W::kA, taps = W::kR * W::kR;
  const float* k = winograd_weight_matrix(W::kM, W::kR, W::kS);
  const int64_t cp = lanes_up(d.c), op = lanes_up(d.o), per_call = cp == d.c ? 16 : 1;
  parallel_for((d.o + per_call - 1) / per_call, [&](int64_t b0, int64_t b1) {
    for (int64_t o0 = b0 * per_call; o0 < std::min(d.o, b1 * per_call); o0 += per_call) {
      const int64_t rows = std::min(per_call, d.o - o0) * d.c;  // dw[pairs, r²] += dU[:, pairs]ᵀ · K [A², r²]
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(rows), taps, cells, 1.0f, acc + o0 * cp,
                  int(op * cp), k, taps, 1.0f, dw + o0 * d.c * taps, taps);
    }
  });
}

// Floats of d.batch for a batch of d.n images (0 where an image's tiles take more than one band), and
// dU [A², op, cp] from it: one GEMM per cell, as deep as the batch has tiles, the cells split over the
// thread pool (each the same call whoever runs it, so the sums do not depend on the thread count).
template <class F, class W>
int64_t batch_size_by(const ConvDims& d) {
  const Geometry g = in_batch(reading_region_of<F, W>(d, images_per_call<F>(d)), d.n);
  return one_band(g) ? W::kA * W::kA * (g.v_cell + g.m_cell) : 0;
}
template <class W>
void batch_weight_grad_by(const ConvDims& d, const float* batch, float* acc) {
  constexpr int64_t cells = W::kA * W::kA;
  const Geometry g = in_batch(geometry<W>(d), d.n);
  const int64_t tiles = d.n * g.th * g.tw;
  const float* m = batch + cells * g.v_cell;
  parallel_for(cells, [&](int64_t x0, int64_t x1) {
    for (int64_t xi = x0; xi < x1; ++xi)  // dU_ξ [op, cp] = dM_ξ [N, op]ᵀ · V_ξ [N, cp]
      cell_gemm(g.op, g.cp, tiles, m + xi * g.m_cell, 1, g.op, batch + xi * g.v_cell, g.cp,
                acc + xi * g.op * g.cp, g.cp, false);
  });
}
template <class F>
int64_t batch_size(const ConvDims& d) {
  if (std::is_same_v<F, F4> && weight_grad_by_f2(d)) return batch_size_by<F, F2>(d);
  return batch_size_by<F, F>(d);
}
template <class F>
void batch_weight_grad(const ConvDims& d, const float* batch, float* acc) {
  if (std::is_same_v<F, F4> && weight_grad_by_f2(d)) return batch_weight_grad_by<F2>(d, batch, acc);
  batch_weight_grad_by<F>(d, batch, acc);
}

template <class F>
void weight_grad_finish(const ConvDims& d, const float* acc, float* dw) {
  if (std::is_same_v<F, F4> && weight_grad_by_f2(d)) return weight_grad_finish_by<F2>(d, acc, dw);
  weight_grad_finish_by<F>(d, acc, dw);
}

template <class F, class P>
void input_grad_on(const ConvDims& d, const P& planes, const float* gy, const float* ut, float* scratch,
                   float* dx) {
  const Geometry g = geometry<F>(d, d.n);
  const Scratch s = layout<F>(g, scratch);
  for (int64_t ti0 = 0; ti0 < g.th; ti0 += g.band) {
    const int64_t ti1 = std::min(g.th, ti0 + g.band), n = (ti1 - ti0) * g.tw;
    for (int64_t i = 0; i < g.images; ++i) {
      if (ti0 == 0) planes.g_in(gy, i, F::kM * g.th, F::kM * g.tw, s.image);
      grad_transform<F>(g, s.image, ti0, ti1, s.m + i * n * g.op);
    }
    for (int64_t xi = 0; xi < F::kA * F::kA; ++xi)  // dV_ξ [n, cp] = dM_ξ [n, op] · Uᵀ_ξ [op, cp]
      cell_gemm(g.images * n, g.cp, g.op, s.m + xi * g.m_cell, g.op, 1, ut + xi * g.cp * g.op, g.cp,
                s.v + xi * g.v_cell, g.cp, false);
    for (int64_t i = 0; i < g.images; ++i) {  // one image in bands, or whole images in one band
      if (ti0 == 0) std::fill(s.region, s.region + g.cp * g.rows * g.cols, 0.0f);
      input_adjoint<F>(g, s.v + i * n * g.cp, ti0, ti1, s.region);
      if (ti1 == g.th) planes.dx_out(s.region, g, i, dx);
    }
  }
}

// Both gradients in one pass: what weight_grad and then input_grad do, with g copied and transformed
// once. dM is used twice, dU += dMᵀ·V and then dV = dM·Uᵀ into V's buffer (read by then); dx's sums
// go to dx_scratch's region, since x's stays for the later bands. The same sums in the same order as
// the two calls. F(4, 3) with its weight gradient by F(2, 3) makes the two calls.
template <class F, class P>
void both_grads_on(const ConvDims& d, const P& planes, const float* x, const float* gy, const float* ut,
                   float* scratch, float* dx_scratch, float* acc, float* dx) {
  if (std::is_same_v<F, F4> && weight_grad_by_f2(d)) {
    weight_grad_on<F>(d, planes, x, gy, scratch, acc);
    return input_grad_on<F>(d, planes, gy, ut, dx_scratch, dx);
  }
  const Geometry g = geometry<F>(d, d.n);
  const Scratch s = layout<F>(g, scratch);
  float* dx_region = layout<F>(g, dx_scratch).region;
  // Over the batch (one band): V and dM go to d.batch and only dV's GEMMs run here, into V's scratch.
  const Geometry gb = d.batch ? in_batch(g, d.batch_images) : g;
  const Scratch t = d.batch ? batch_part<F>(d, gb, s) : s;  // where V and dM go
  for (int64_t ti0 = 0; ti0 < g.th; ti0 += g.band) {
    const int64_t ti1 = std::min(g.th, ti0 + g.band), n = (ti1 - ti0) * g.tw;
    transform_x_and_g<F>(gb, planes, t, x, gy, ti0, ti1);
    for (int64_t xi = 0; xi < F::kA * F::kA; ++xi) {
      if (!d.batch)
        cell_gemm(g.op, g.cp, g.images * n, s.m + xi * g.m_cell, 1, g.op, s.v + xi * g.v_cell, g.cp,
                  acc + xi * g.op * g.cp, g.cp, !(d.acc_fresh && ti0 == 0));
      cell_gemm(g.images * n, g.cp, g.op, t.m + xi * gb.m_cell, g.op, 1, ut + xi * g.cp * g.op, g.cp,
                s.v + xi * g.v_cell, g.cp, false);
    }
    for (int64_t i = 0; i < g.images; ++i) {
      if (ti0 == 0) std::fill(dx_region, dx_region + g.cp * g.rows * g.cols, 0.0f);
      input_adjoint<F>(g, s.v + i * n * g.cp, ti0, ti1, dx_region);
      if (ti1 == g.th) planes.dx_out(dx_region, g, i, dx);
    }
  }
}

// The table's entry points: plain convs as they are; dilated convs on their mosaic, whose channel-last
// row sits after the kernel's scratch (sizes_dilated).
template <class F>
void forward(const ConvDims& d, const float* x, const float* u, const float* b, float*, float* scratch,
             float* y) {
  forward_on<F>(d, PlainPlanes{d}, x, u, b, scratch, y);
}
template <class F>
void weight_grad(const ConvDims& d, const float* x, const float*, const float* gy, float* scratch,
                 float* acc) {
  weight_grad_on<F>(d, PlainPlanes{d}, x, gy, scratch, acc);
}
template <class F>
void input_grad(const ConvDims& d, const float* gy, const float*, const float* ut, float* scratch,
                float* dx) {
  input_grad_on<F>(d, PlainPlanes{d}, gy, ut, scratch, dx);
}
template <class F>
void both_grads(const ConvDims& d, const float* x, const float*, const float* gy, const float* ut,
                float* scratch, float* dx_scratch, float* acc, float* dx) {
  both_grads_on<F>(d, PlainPlanes{d}, x, gy, ut, scratch, dx_scratch, acc, dx);
}

template <class F>
int64_t scratch_size_dilated(const ConvDims& d) {
  return scratch_size<F>(mosaic_dims(d)) + mosaic_row_size(d);
}
template <class F>
float* mosaic_row(const ConvDims& d, float* scratch) {
  return scratch + scratch_size<F>(mosaic_dims(d));
}
template <class F>
void forward_dilated(const ConvDims& d, const float* x, const float* u, const float* b, float*,
                     float* scratch, float* y) {
  forward_on<F>(mosaic_dims(d), MosaicPlanes{d, mosaic_row<F>(d, scratch)}, x, u, b, scratch, y);
}
template <class F>
void weight_grad_dilated(const ConvDims& d, const float* x, const float*, const float* gy, float* scratch,
                         float* acc) {
  weight_grad_on<F>(mosaic_dims(d), MosaicPlanes{d, mosaic_row<F>(d, scratch)}, x, gy, scratch, acc);
}
template <class F>
void weight_grad_finish_dilated(const ConvDims& d, const float* acc, float* dw) {
  weight_grad_finish<F>(mosaic_dims(d), acc, dw);
}
template <class F>
void input_grad_dilated(const ConvDims& d, const float* gy, const float*, const float* ut, float* scratch,
                        float* dx) {
  input_grad_on<F>(mosaic_dims(d), MosaicPlanes{d, mosaic_row<F>(d, scratch)}, gy, ut, scratch, dx);
}
template <class F>
void both_grads_dilated(const ConvDims& d, const float* x, const float*, const float* gy, const float* ut,
                        float* scratch, float* dx_scratch, float* acc, float* dx) {
  both_grads_on<F>(mosaic_dims(d), MosaicPlanes{d, mosaic_row<F>(d, scratch)}, x, gy, ut, scratch, dx_scratch,
                   acc, dx);
}

// Nothing kept: forward and the weight gradient each copy x channel-last into their scratch (keeping
// the batch's copies for the weight gradient wrote them all to memory: 32 -> 32 at 32x32, forward
// 6429 -> 5742 µs per 64 images without, the weight gradient the same). acc: dU [A², op, cp] of the
// variant the weight gradient runs; the prepared weights for either direction.
template <class F>
ConvSizes sizes(const ConvDims& d) {
  const int64_t u = weights_size<F>(d), s = scratch_size<F>(d);
  const int64_t acc = std::is_same_v<F, F4> && weight_grad_by_f2(d) ? weights_size<F2>(d) : u;
  return {0, u, s, acc, s, u};
}

template <class F>
ConvKernel kernel_of() {
  ConvKernel k{nullptr,
               nullptr,
               sizes<F>,
               prepare<F, false>,
               forward<F>,
               weight_grad<F>,
               weight_grad_finish<F>,
               input_grad<F>,
               false,
               prepare<F, true>,
               true,
               images_per_call<F>};
  k.both_grads = both_grads<F>;
  k.fresh_acc = true;  // the first band's GEMMs write dU
  k.own_activation = true;
  k.batch_size = batch_size<F>;
  k.batch_weight_grad = batch_weight_grad<F>;
  return k;
}

template <class F>
ConvSizes sizes_dilated(const ConvDims& d) {
  ConvSizes s = sizes<F>(mosaic_dims(d));
  const int64_t scratch = scratch_size_dilated<F>(d);
  s.scratch = scratch, s.dx_scratch = scratch;
  return s;
}
template <class F>
int64_t images_per_call_dilated(const ConvDims& d) {
  return images_per_call<F>(mosaic_dims(d));
}

// The same kernel on a dilated conv's mosaic: each entry point takes the dilated conv's dims.
template <class F>
ConvKernel dilated_kernel_of() {
  ConvKernel k = kernel_of<F>();
  k.sizes = sizes_dilated<F>;
  k.forward = forward_dilated<F>;
  k.weight_grad = weight_grad_dilated<F>;
  k.weight_grad_finish = weight_grad_finish_dilated<F>;
  k.input_grad = input_grad_dilated<F>;
  k.images_per_call = images_per_call_dilated<F>;
  k.both_grads = both_grads_dilated<F>;
  k.batch_size = nullptr;  // the mosaic's calls keep their sums per chunk
  k.batch_weight_grad = nullptr;
  return k;
}
