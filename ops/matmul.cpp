// matmul(x [M,K], w [K,N][, b [N]]) = x·w (+ b), through OpenBLAS sgemm (at AVX-512 through
// gemm_avx512, but for dx, whose wᵀ it does not take as it is). The optional bias makes
// a dense layer one node (like ONNX Gemm); `add` with broadcasting does the same in two.
// Large products are split over the thread pool into blocks of the result (gemm_blocks).
#include <cblas.h>

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "ops/attrs.h"
#include "ops/cpu.h"
#include "ops/gemm_avx512.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

// c = a · b (+ beta c), row-major, a [M, K] (or its transpose) with lda, b [K, N] (or its transpose),
// cut into blocks that the pool runs in parallel. The blocks are the same whatever the thread count:
// OpenBLAS's sum for one element can depend on the shape of the call it is in (its AVX2 kernels did,
// on an AMD CPU), and results must not depend on the thread count. Rows are cut where there are more
// rows than columns (each block packs all of b again), else columns (each packs all of a again);
// blocks of at least 16 rows or columns and ~4 MFLOP, at most 4, so no sum is ever split.
void gemm_blocks(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float beta,
                 float* c) {
  const int lda = ta ? m : k, ldb = tb ? k : n;
  const bool by_rows = m >= n;
  const int64_t flops = 2LL * m * n * k;
  const int parts =
      int(std::clamp<int64_t>(std::min<int64_t>(flops / 4000000, (by_rows ? m : n) / 16), 1, 4));
  const auto op = [](bool t) { return t ? CblasTrans : CblasNoTrans; };
  // gemm_avx512 takes b as it is (not transposed): forward and the weight gradient.
  const bool own = cpu_isa() == Isa::Avx512 && !tb && (beta == 0.0f || beta == 1.0f);
  parallel_for(parts, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int total = by_rows ? m : n, i0 = int(p * total / parts), i1 = int((p + 1) * total / parts);
      if (own && by_rows)
        gemm_avx512(i1 - i0, n, k, ta ? a + i0 : a + size_t(i0) * size_t(lda), ta ? 1 : lda, ta ? lda : 1, b,
                    ldb, c + size_t(i0) * size_t(n), n, beta != 0.0f);
      else if (own)
        gemm_avx512(m, i1 - i0, k, a, ta ? 1 : lda, ta ? lda : 1, b + i0, ldb, c + i0, n, beta != 0.0f);
      else if (by_rows)
        cblas_sgemm(CblasRowMajor, op(ta), op(tb), i1 - i0, n, k, 1.0f,
                    ta ? a + i0 : a + size_t(i0) * size_t(lda), lda, b, ldb, beta, c + size_t(i0) * size_t(n),
                    n);
      else
        cblas_sgemm(CblasRowMajor, op(ta), op(tb), m, i1 - i0, k, 1.0f, a, lda,
                    tb ? b + size_t(i0) * size_t(ldb) : b + i0, ldb, beta, c + i0, n);
    }
  });
}

class MatMul final : public Op {
 public:
  std::string_view type() const override { return "matmul"; }
  Arity arity() const override { return {2, 3}; }

  Shape infer_shape(const std::vector<ValueInfo>& in) const override {
    for (const auto& v : in)
      if (v.dtype != DType::Float32) throw Error("expected float32 inputs");
    const Shape &x = in[0].shape, &w = in[1].shape;
    if (x.size() != 2 || w.size() != 2)
      throw Error("expected x [M, K] and w [K, N], found " + to_string(x) + " and " + to_string(w));
    if (x[1] != w[0]) throw Error("inner dimensions differ: x " + to_string(x) + ", w " + to_string(w));
    if (in.size() == 3 && in[2].shape != Shape{w[1]})
      throw Error("bias must have shape " + to_string({w[1]}) + ", found " + to_string(in[2].shape));
    return {x[0], w[1]};
  }

  void forward(const Inputs& in, Tensor& out, Workspace&, bool) const override {
    const int m = int(in[0]->shape(0)), k = int(in[0]->shape(1)), n = int(in[1]->shape(1));
    float* y = out.data();
    float beta = 0.0f;
    if (in.size() == 3) {  // start from the broadcast bias and let sgemm add x·w
      const float* b = in[2]->data();
      for (int r = 0; r < m; ++r) std::copy(b, b + n, y + size_t(r) * size_t(n));
      beta = 1.0f;
    }
    if (m && n) gemm_blocks(false, false, m, n, k, in[0]->data(), in[1]->data(), beta, y);
  }

  // dx = g·wᵀ, dw = xᵀ·g, db = Σ_rows g
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    const int m = int(in[0]->shape(0)), k = int(in[0]->shape(1)), n = int(in[1]->shape(1));
    if (gx[0]) {
      ensure_shape(*gx[0], shape_of(*in[0]));
      if (m && k) gemm_blocks(false, true, m, k, n, g.data(), in[1]->data(), 0.0f, gx[0]->data());
    }
    if (gx[1]) {
      ensure_shape(*gx[1], shape_of(*in[1]));
      if (k && n) gemm_blocks(true, false, k, n, m, in[0]->data(), g.data(), 0.0f, gx[1]->data());
    }
    if (gx.size() == 3 && gx[2]) {
      ensure_shape(*gx[2], shape_of(*in[2]));
      float* db = gx[2]->data();
      std::fill(db, db + n, 0.0f);
      for (int r = 0; r < m; ++r)
        for (int c = 0; c < n; ++c) db[c] += g.data()[size_t(r) * size_t(n) + size_t(c)];
    }
  }
};

}  // namespace

void register_matmul_ops(Registry& r) {
  r.add("matmul", [](const json& a) {
    AttrReader(a).finish();
    return std::make_unique<MatMul>();
  });
}

}  // namespace xgrad
