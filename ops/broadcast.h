#pragma once
// numpy broadcasting of two inputs as plain loops over raw buffers. The output is walked as rows
// of one inner run: the longest trailing block of dimensions over which each input is either
// contiguous (step 1) or a single repeated value (step 0), so the inner loop is a vector loop with
// compile-time steps. Rows walk the other dimensions with each input's strides (0 where it is
// broadcast).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace xgrad {

struct BroadcastPlan {
  std::vector<int64_t> dims, stride_a, stride_b;  // the dimensions outside the inner run
  int64_t inner = 1;
  int step_a = 1, step_b = 1;

  BroadcastPlan(const Shape& a, const Shape& b, const Shape& out) {
    std::vector<int64_t> sa, sb, od;
    strides(a, out, sa);
    strides(b, out, sb);
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] != 1) {  // a size-1 output dimension moves nothing
        od.push_back(out[i]);
        stride_a.push_back(sa[i]);
        stride_b.push_back(sb[i]);
      }
    size_t d = od.size();
    if (d > 0) {
      step_a = stride_a.back() != 0;
      step_b = stride_b.back() != 0;
    }
    for (; d > 0 && (stride_a[d - 1] != 0) == bool(step_a) && (stride_b[d - 1] != 0) == bool(step_b); --d)
      inner *= od[d - 1];
    dims.assign(od.begin(), od.begin() + int64_t(d));
    stride_a.resize(d);
    stride_b.resize(d);
  }
  // Offsets of row r's first elements in a and b.
  void offsets(int64_t r, int64_t& oa, int64_t& ob) const {
    oa = ob = 0;
    for (size_t i = dims.size(); i-- > 0;) {
      const int64_t at = r % dims[i];
      r /= dims[i];
      oa += at * stride_a[i];
      ob += at * stride_b[i];
    }
  }

 private:
  // Element strides of `s` aligned to the right of `out`; 0 where s is broadcast (size 1 or absent).
  static void strides(const Shape& s, const Shape& out, std::vector<int64_t>& st) {
    st.assign(out.size(), 0);
    const size_t lead = out.size() - s.size();
    int64_t step = 1;
    for (size_t i = out.size(); i-- > lead;) {
      const int64_t dim = s[i - lead];
      st[i] = dim == 1 ? 0 : step;
      step *= dim;
    }
  }
};

// y = f(a, b) over one inner run, with the inputs' steps known at compile time.
template <int SA, int SB, class F>
void broadcast_run(const float* a, const float* b, float* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(a[i * SA], b[i * SB]);
}

// f(oa, ob, at, count) for each inner run of the output's flat range [begin, end), cut to the range:
// the run's first output element `at` and the offsets in a and b of its inputs.
template <class F>
void for_runs(const BroadcastPlan& p, int64_t begin, int64_t end, F&& f) {
  const int64_t n = p.inner;
  if (n == 0) return;
  for (int64_t r = begin / n; r * n < end; ++r) {
    int64_t oa, ob;
    p.offsets(r, oa, ob);
    const int64_t at = std::max(begin, r * n), skip = at - r * n;
    f(oa + skip * p.step_a, ob + skip * p.step_b, at, std::min(end, (r + 1) * n) - at);
  }
}

// y[i] = f(a[ia], b[ib]) for every output element i in [begin, end) (the thread pool's part).
template <class F>
void broadcast_apply(const BroadcastPlan& p, const float* a, const float* b, float* y, F f, int64_t begin,
                     int64_t end) {
  for_runs(p, begin, end, [&](int64_t oa, int64_t ob, int64_t at, int64_t n) {
    if (p.step_a && p.step_b)
      broadcast_run<1, 1>(a + oa, b + ob, y + at, n, f);
    else if (p.step_a)
      broadcast_run<1, 0>(a + oa, b + ob, y + at, n, f);
    else if (p.step_b)
      broadcast_run<0, 1>(a + oa, b + ob, y + at, n, f);
    else
      broadcast_run<0, 0>(a + oa, b + ob, y + at, n, f);
  });
}

// One inner run of a gradient: acc (input k's gradient at the run's offset) += f(g, a, b, y) per
// element (= where `overwrite`), summed first when input k is one repeated value over the run (SK = 0),
// in 16 lanes.
template <int SA, int SB, int SK, class F>
void reduce_run(const float* g, const float* a, const float* b, const float* y, float* acc, int64_t n, F f,
                bool overwrite) {
  if (SK && overwrite) {
    for (int64_t i = 0; i < n; ++i) acc[i] = f(g[i], a[i * SA], b[i * SB], y[i]);
    return;
  }
  if (SK) {
    for (int64_t i = 0; i < n; ++i) acc[i] += f(g[i], a[i * SA], b[i * SB], y[i]);
    return;
  }
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) lanes[l] += f(g[i + l], a[(i + l) * SA], b[(i + l) * SB], y[i + l]);
  float s = 0;
  for (int l = 0; l < 16; ++l) s += lanes[l];
  for (; i < n; ++i) s += f(g[i], a[i * SA], b[i * SB], y[i]);
  acc[0] += s;
}

// grad[ia] (to_a) or grad[ib] += f(g[i], a[ia], b[ib], y[i]) over the output elements i in
// [begin, end): an input's gradient summed over the axes broadcasting expanded. `grad` must start at
// zero, unless the input has the output's shape (one term per element): then `overwrite` writes
// each term instead, and saves the pass that zeroes grad and the read of it. Only then may the
// output be cut into parts that run at once (a sum's parts would write the same elements); a sum
// over whole runs adds in the same order whatever the parts.
template <class F>
void broadcast_reduce(const BroadcastPlan& p, bool to_a, const float* g, const float* a, const float* b,
                      const float* y, float* grad, F f, bool overwrite, int64_t begin, int64_t end) {
  const int sk = to_a ? p.step_a : p.step_b;
  for_runs(p, begin, end, [&](int64_t oa, int64_t ob, int64_t at, int64_t n) {
    const float *ar = a + oa, *br = b + ob, *gr = g + at, *yr = y + at;
    float* acc = grad + (to_a ? oa : ob);
    if (p.step_a && p.step_b)
      reduce_run<1, 1, 1>(gr, ar, br, yr, acc, n, f, overwrite);
    else if (p.step_a)
      sk ? reduce_run<1, 0, 1>(gr, ar, br, yr, acc, n, f, overwrite)
         : reduce_run<1, 0, 0>(gr, ar, br, yr, acc, n, f, overwrite);
    else if (p.step_b)
      sk ? reduce_run<0, 1, 1>(gr, ar, br, yr, acc, n, f, overwrite)
         : reduce_run<0, 1, 0>(gr, ar, br, yr, acc, n, f, overwrite);
    else
      reduce_run<0, 0, 0>(gr, ar, br, yr, acc, n, f, overwrite);
  });
}

}  // namespace xgrad
