// matmul(x [M,K], w [K,N][, b [N]]) = x·w (+ b), through OpenBLAS sgemm. The optional bias makes
// a dense layer one node (like ONNX Gemm); `add` with broadcasting does the same in two.
#include <cblas.h>

#include "core/error.h"
#include "ops/attrs.h"
#include "ops/registry.h"

namespace xgrad {
namespace {

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
    if (m && n)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, in[0]->data(), k, in[1]->data(),
                  n, beta, y, n);
  }

  // dx = g·wᵀ, dw = xᵀ·g, db = Σ_rows g
  void backward(const Inputs& in, const Tensor&, const Tensor& g, Workspace&,
                const Grads& gx) const override {
    const int m = int(in[0]->shape(0)), k = int(in[0]->shape(1)), n = int(in[1]->shape(1));
    if (gx[0]) {
      ensure_shape(*gx[0], shape_of(*in[0]));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0f, g.data(), n, in[1]->data(), n, 0.0f,
                  gx[0]->data(), k);
    }
    if (gx[1]) {
      ensure_shape(*gx[1], shape_of(*in[1]));
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0f, in[0]->data(), k, g.data(), n, 0.0f,
                  gx[1]->data(), n);
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
