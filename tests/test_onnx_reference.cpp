#ifdef XGRAD_WITH_ONNX
#include "tests/test_onnx_reference.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

#include <xtensor/xmanipulation.hpp>

namespace xgrad::test {
namespace {

using onnx::NodeProto;

int64_t iattr(const NodeProto& n, const std::string& name, int64_t fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}
float fattr(const NodeProto& n, const std::string& name, float fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}
std::vector<int64_t> iattrs(const NodeProto& n, const std::string& name, std::vector<int64_t> fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return {a.ints().begin(), a.ints().end()};
  return fallback;
}

Tensor map(const Tensor& x, const std::function<float(float)>& f) {
  Tensor y = x;
  for (float& v : y) v = f(v);
  return y;
}

// Conv and pools over [N, C, H, W] with pads [t, l, b, r]; `cell(n, o, c-range, oy, ox)` per output.
struct Window2d {
  int64_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
  int64_t out(int64_t in, int axis) const {
    const int64_t k = axis ? kw : kh, s = axis ? sw : sh, d = axis ? dw : dh;
    return (in + (axis ? pl + pr : pt + pb) - ((k - 1) * d + 1)) / s + 1;
  }
};

std::string sattr(const NodeProto& n, const std::string& name, const std::string& fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.s();
  return fallback;
}

// auto_pad SAME_*: output ceil(in / stride), the odd padding cell at the end (UPPER) or start (LOWER).
Window2d window(const NodeProto& n, int64_t kh, int64_t kw, int64_t h, int64_t w) {
  const auto s = iattrs(n, "strides", {1, 1}), d = iattrs(n, "dilations", {1, 1});
  auto p = iattrs(n, "pads", {0, 0, 0, 0});
  const std::string auto_pad = sattr(n, "auto_pad", "NOTSET");
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const int64_t in[2] = {h, w}, k[2] = {kh, kw};
    for (size_t a = 0; a < 2; ++a) {
      const int64_t out = (in[a] + s[a] - 1) / s[a];
      const int64_t total = std::max<int64_t>((out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - in[a], 0);
      const int64_t small = total / 2, large = total - small;
      p[a] = auto_pad == "SAME_UPPER" ? small : large;
      p[a + 2] = auto_pad == "SAME_UPPER" ? large : small;
    }
  }
  return {kh, kw, s[0], s[1], d[0], d[1], p[0], p[1], p[2], p[3]};
}

Tensor conv(const NodeProto& n, const Tensor& x, const Tensor& w, const Tensor* b) {
  const int64_t N = int64_t(x.shape(0)), H = int64_t(x.shape(2)), W = int64_t(x.shape(3));
  const int64_t O = int64_t(w.shape(0)), CG = int64_t(w.shape(1)), G = iattr(n, "group", 1);
  const Window2d win = window(n, int64_t(w.shape(2)), int64_t(w.shape(3)), H, W);
  const int64_t OH = win.out(H, 0), OW = win.out(W, 1);
  Tensor y = make_tensor({N, O, OH, OW});
  for (int64_t i = 0; i < N; ++i)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double s = b ? (*b)(o) : 0.0;
          for (int64_t c = 0; c < CG; ++c)
            for (int64_t ky = 0; ky < win.kh; ++ky)
              for (int64_t kx = 0; kx < win.kw; ++kx) {
                const int64_t iy = oy * win.sh - win.pt + ky * win.dh,
                              ix = ox * win.sw - win.pl + kx * win.dw;
                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                  s += double(x(i, o / (O / G) * CG + c, iy, ix)) * w(o, c, ky, kx);
              }
          y(i, o, oy, ox) = float(s);
        }
  return y;
}

Tensor pool(const NodeProto& n, const Tensor& x, bool max) {
  const auto k = iattrs(n, "kernel_shape", {});
  const bool count_pad = iattr(n, "count_include_pad", 0) != 0;
  const int64_t N = int64_t(x.shape(0)), C = int64_t(x.shape(1)), H = int64_t(x.shape(2)),
                W = int64_t(x.shape(3));
  const Window2d win = window(n, k.at(0), k.at(1), H, W);
  const int64_t OH = win.out(H, 0), OW = win.out(W, 1);
  Tensor y = make_tensor({N, C, OH, OW});
  for (int64_t i = 0; i < N; ++i)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double acc = max ? -INFINITY : 0.0;
          int64_t count = 0;
          for (int64_t ky = 0; ky < win.kh; ++ky)
            for (int64_t kx = 0; kx < win.kw; ++kx) {
              const int64_t iy = oy * win.sh - win.pt + ky, ix = ox * win.sw - win.pl + kx;
              const bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
              if (inside) acc = max ? std::max(acc, double(x(i, c, iy, ix))) : acc + x(i, c, iy, ix);
              count += inside || count_pad;
            }
          y(i, c, oy, ox) = float(max ? acc : acc / double(count));
        }
  return y;
}

Tensor global_pool(const Tensor& x, bool max) {
  const size_t N = x.shape(0), C = x.shape(1), HW = x.shape(2) * x.shape(3);
  Tensor y = make_tensor({int64_t(N), int64_t(C), 1, 1});
  for (size_t p = 0; p < N * C; ++p) {
    const float* v = x.data() + p * HW;
    double acc = max ? -INFINITY : 0.0;
    for (size_t i = 0; i < HW; ++i) acc = max ? std::max(acc, double(v[i])) : acc + v[i];
    y.data()[p] = float(max ? acc : acc / double(HW));
  }
  return y;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  const size_t M = a.shape(0), K = a.shape(1), N = b.shape(1);
  Tensor y = make_tensor({int64_t(M), int64_t(N)});
  for (size_t i = 0; i < M; ++i)
    for (size_t j = 0; j < N; ++j) {
      double s = 0;
      for (size_t k = 0; k < K; ++k) s += double(a(i, k)) * b(k, j);
      y(i, j) = float(s);
    }
  return y;
}

Tensor gemm(const NodeProto& n, Tensor a, Tensor b, const Tensor* c) {
  if (iattr(n, "transA", 0)) a = xt::transpose(a);
  if (iattr(n, "transB", 0)) b = xt::transpose(b);
  Tensor y = matmul(a, b) * fattr(n, "alpha", 1.0f);
  if (c) y = y + fattr(n, "beta", 1.0f) * *c;
  return y;
}

// softmax / log-softmax over one axis (opset 13 semantics).
Tensor softmax(const Tensor& x, int64_t axis, bool log) {
  const int64_t r = int64_t(x.dimension());
  if (axis < 0) axis += r;
  size_t outer = 1, len = x.shape(size_t(axis)), inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.shape(size_t(i));
  for (int64_t i = axis + 1; i < r; ++i) inner *= x.shape(size_t(i));
  Tensor y = x;
  for (size_t o = 0; o < outer; ++o)
    for (size_t in = 0; in < inner; ++in) {
      auto at = [&](size_t j) -> float& { return y.data()[(o * len + j) * inner + in]; };
      double mx = -INFINITY, sum = 0;
      for (size_t j = 0; j < len; ++j) mx = std::max(mx, double(at(j)));
      for (size_t j = 0; j < len; ++j) sum += std::exp(double(at(j)) - mx);
      for (size_t j = 0; j < len; ++j)
        at(j) = float(log ? double(at(j)) - mx - std::log(sum) : std::exp(double(at(j)) - mx) / sum);
    }
  return y;
}

Tensor reshaped(const Tensor& x, Shape s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == 0) s[i] = int64_t(x.shape(i));
  int64_t known = 1;
  for (int64_t d : s) known *= d == -1 ? 1 : d;
  for (int64_t& d : s)
    if (d == -1) d = int64_t(x.size()) / known;
  Tensor y = make_tensor(s);
  std::copy(x.begin(), x.end(), y.begin());
  return y;
}

Shape as_shape(const Tensor& t) { return Shape(t.begin(), t.end()); }

Tensor concat(const std::vector<const Tensor*>& in, int64_t axis) {
  const int64_t r = int64_t(in[0]->dimension());
  if (axis < 0) axis += r;
  Shape s = shape_of(*in[0]);
  s[size_t(axis)] = 0;
  for (const Tensor* t : in) s[size_t(axis)] += int64_t(t->shape(size_t(axis)));
  Tensor y = make_tensor(s);
  size_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= size_t(s[size_t(i)]);
  float* out = y.data();
  for (size_t o = 0; o < outer; ++o)
    for (const Tensor* t : in) {
      const size_t chunk = t->size() / outer;
      out = std::copy(t->data() + o * chunk, t->data() + (o + 1) * chunk, out);
    }
  return y;
}

Tensor batch_norm(const NodeProto& n, const Tensor& x, const std::vector<const Tensor*>& p) {
  const float eps = fattr(n, "epsilon", 1e-5f);
  Tensor y = x;
  const size_t C = x.shape(1), inner = x.size() / x.shape(0) / C;
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = i / inner % C;
    y.data()[i] = float(
        (double(x.data()[i]) - (*p[2])(c)) / std::sqrt(double((*p[3])(c)) + eps) * (*p[0])(c) + (*p[1])(c));
  }
  return y;
}

Tensor reduce(const NodeProto& n, const Tensor& x, bool mean) {
  std::vector<int64_t> axes = iattrs(n, "axes", {});
  const bool keep = iattr(n, "keepdims", 1) != 0;
  if (axes.empty())
    for (size_t i = 0; i < x.dimension(); ++i) axes.push_back(int64_t(i));
  std::vector<size_t> ax;
  for (int64_t a : axes) ax.push_back(size_t(a < 0 ? a + int64_t(x.dimension()) : a));
  std::sort(ax.begin(), ax.end());
  Tensor y = mean ? Tensor(xt::mean(x, ax, xt::evaluation_strategy::immediate))
                  : Tensor(xt::sum(x, ax, xt::evaluation_strategy::immediate));
  if (!keep) return y;
  Shape s = shape_of(x);
  for (size_t a : ax) s[a] = 1;
  return reshaped(y, s);
}

Tensor unary(const std::string& op, const NodeProto& n, const Tensor& x) {
  const float alpha = fattr(n, "alpha", op == "LeakyRelu" ? 0.01f : 1.0f);
  static const std::map<std::string, std::function<float(float, float)>> f = {
      {"Relu", [](float v, float) { return std::max(v, 0.0f); }},
      {"Sigmoid", [](float v, float) { return float(1 / (1 + std::exp(-double(v)))); }},
      {"Tanh", [](float v, float) { return std::tanh(v); }},
      {"Erf", [](float v, float) { return std::erf(v); }},
      {"Exp", [](float v, float) { return std::exp(v); }},
      {"Log", [](float v, float) { return std::log(v); }},
      {"Sqrt", [](float v, float) { return std::sqrt(v); }},
      {"Abs", [](float v, float) { return std::fabs(v); }},
      {"Neg", [](float v, float) { return -v; }},
      {"Softplus", [](float v, float) { return float(std::log1p(std::exp(double(v)))); }},
      {"LeakyRelu", [](float v, float a) { return v >= 0 ? v : a * v; }},
      {"Elu", [](float v, float a) { return v >= 0 ? v : float(a * std::expm1(double(v))); }},
  };
  const auto& g = f.at(op);
  return map(x, [&](float v) { return g(v, alpha); });
}

Tensor evaluate_node(const NodeProto& n, const std::vector<const Tensor*>& in) {
  const std::string& op = n.op_type();
  auto at = [&](size_t i) -> const Tensor& { return *in.at(i); };
  if (op == "Conv") return conv(n, at(0), at(1), in.size() > 2 ? in[2] : nullptr);
  if (op == "MaxPool" || op == "AveragePool") return pool(n, at(0), op == "MaxPool");
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") return global_pool(at(0), op == "GlobalMaxPool");
  if (op == "Gemm") return gemm(n, at(0), at(1), in.size() > 2 ? in[2] : nullptr);
  if (op == "MatMul") return matmul(at(0), at(1));
  if (op == "Add") return at(0) + at(1);
  if (op == "Sub") return at(0) - at(1);
  if (op == "Mul") return at(0) * at(1);
  if (op == "Div") return at(0) / at(1);
  if (op == "Clip") return xt::clip(at(0), at(1)(), at(2)());
  if (op == "Softmax" || op == "LogSoftmax") return softmax(at(0), iattr(n, "axis", -1), op == "LogSoftmax");
  if (op == "Flatten") return reshaped(at(0), {int64_t(at(0).shape(0)), -1});
  if (op == "Reshape") return reshaped(at(0), as_shape(at(1)));
  if (op == "Concat") return concat(in, iattr(n, "axis", 0));
  if (op == "BatchNormalization") return batch_norm(n, at(0), {in[1], in[2], in[3], in[4]});
  if (op == "ReduceMean" || op == "ReduceSum") return reduce(n, at(0), op == "ReduceMean");
  if (op == "Identity" || op == "Dropout" || op == "Pad" || op == "Cast") return at(0);
  if (op == "Shape") {
    const Shape s = shape_of(at(0));
    Tensor t = make_tensor({int64_t(s.size())});
    std::copy(s.begin(), s.end(), t.begin());
    return t;
  }
  if (op == "Gather") return make_tensor({}, at(0)(size_t(at(1)())));      // scalar index into a 1-D tensor
  if (op == "Unsqueeze") return reshaped(at(0), {int64_t(at(0).size())});  // of a scalar (shape chains)
  return unary(op, n, at(0));
}

}  // namespace

Values onnx_evaluate(const onnx::ModelProto& m, const Values& feeds) {
  Values v = feeds;
  for (const auto& t : m.graph().initializer()) v[t.name()] = onnx_proto::to_tensor(t);
  for (const auto& n : m.graph().node()) {
    if (n.op_type() == "Constant") {
      v[n.output(0)] = onnx_proto::to_tensor(n.attribute(0).t());
      continue;
    }
    std::vector<const Tensor*> in;
    for (const auto& name : n.input())
      if (!name.empty()) in.push_back(&v.at(name));
    try {
      v[n.output(0)] = evaluate_node(n, in);
    } catch (const std::exception& e) {
      throw std::runtime_error("reference evaluator: node " + n.name() + " (" + n.op_type() +
                               "): " + e.what());
    }
  }
  return v;
}

}  // namespace xgrad::test
#endif
