#include "tests/gradcheck.h"

#include <cmath>
#include <sstream>

#include "core/rng.h"

namespace xgrad::test {
namespace {

Tensor forward_op(const Op& op, const std::vector<Tensor>& in, const std::vector<DType>& dtypes,
                  Workspace& ws, const RunContext& ctx) {
  std::vector<ValueInfo> infos;
  Inputs ptrs;
  for (size_t i = 0; i < in.size(); ++i) {
    infos.push_back({shape_of(in[i]), dtypes[i]});
    ptrs.push_back(&in[i]);
  }
  Tensor out = make_tensor(op.infer_shape(infos));
  op.run_forward(ctx, ptrs, out, ws);
  return out;
}

double weighted_sum(const Tensor& out, const Tensor& r) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += double(out.data()[i]) * r.data()[i];
  return s;
}

bool close(double analytic, double numeric, const Tolerance& tol) {
  return std::fabs(analytic - numeric) <= tol.atol + tol.rtol * std::fabs(numeric);
}

}  // namespace

CheckResult check_op_gradients(const Op& op, std::vector<Tensor> in, const std::vector<DType>& dtypes,
                               const Tolerance& tol, uint64_t seed, Mode mode) {
  Rng rng(seed);
  Workspace ws;
  const RunContext train{mode, true, seed, 0, 0}, probe{mode, false, seed, 0, 0};
  const Tensor out = forward_op(op, in, dtypes, ws, train);
  Tensor r = make_tensor(shape_of(out));
  for (float& v : r) v = rng.uniform(-1.0f, 1.0f);
  std::vector<Tensor> grads(in.size());
  Grads slots;
  Inputs ptrs;
  for (size_t i = 0; i < in.size(); ++i) {
    slots.push_back(dtypes[i] == DType::Float32 ? &grads[i] : nullptr);
    ptrs.push_back(&in[i]);
  }
  op.run_backward(train, ptrs, out, r, ws, slots);

  CheckResult res;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!slots[i]) continue;
    for (size_t e = 0; e < in[i].size(); ++e) {
      const float saved = in[i].data()[e];
      Workspace scratch;
      in[i].data()[e] = saved + float(tol.eps);
      const double up = weighted_sum(forward_op(op, in, dtypes, scratch, probe), r);
      in[i].data()[e] = saved - float(tol.eps);
      const double down = weighted_sum(forward_op(op, in, dtypes, scratch, probe), r);
      in[i].data()[e] = saved;
      const double numeric = (up - down) / (2 * tol.eps);
      const double analytic = grads[i].data()[e];
      ++res.checked;
      if (!close(analytic, numeric, tol) && res.ok) {
        std::ostringstream msg;
        msg << op.type() << ": input " << i << " element " << e << ": analytic " << analytic << ", numeric "
            << numeric;
        res.ok = false;
        res.failure = msg.str();
      }
    }
  }
  return res;
}

CheckResult check_graph_gradients(const Graph& g, const Feeds& feeds, Params params, const Tolerance& tol,
                                  int per_param, Mode mode) {
  const int loss = g.output("loss");
  Engine engine(g);
  ForwardOptions options;
  options.mode = mode;
  options.backward = true;
  engine.forward(feeds, params, options);
  engine.backward(loss);
  Params analytic;
  for (int id : g.params()) analytic[g.node(id).name] = *engine.grad(id);

  Engine probe(g);
  auto loss_at = [&]() {
    options.backward = false;
    probe.forward(feeds, params, options);
    return double(probe.value(loss)());
  };
  CheckResult res;
  for (auto& [name, w] : params) {
    if (!analytic.count(name)) continue;  // states get no gradient
    const size_t step = std::max<size_t>(1, w.size() / size_t(per_param));
    for (size_t e = 0; e < w.size(); e += step) {
      const float saved = w.data()[e];
      w.data()[e] = saved + float(tol.eps);
      const double up = loss_at();
      w.data()[e] = saved - float(tol.eps);
      const double down = loss_at();
      w.data()[e] = saved;
      const double numeric = (up - down) / (2 * tol.eps);
      const double a = analytic[name].data()[e];
      ++res.checked;
      if (!close(a, numeric, tol) && res.ok) {
        std::ostringstream msg;
        msg << name << "[" << e << "]: analytic " << a << ", numeric " << numeric;
        res.ok = false;
        res.failure = msg.str();
      }
    }
  }
  return res;
}

}  // namespace xgrad::test
