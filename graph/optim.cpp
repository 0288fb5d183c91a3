#include "graph/optim.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "graph/json_fields.h"
#include "graph/tensor_json.h"

namespace xgrad {
namespace {

std::string num(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void require(bool ok, const OptimConfig& c, const std::string& what, double value, const std::string& range) {
  if (!ok) throw Error("optimizer " + c.type + ": " + what + " must be " + range + ", got " + num(value));
}

bool is_adam(const std::string& t) { return t == "adam" || t == "adamw"; }

}  // namespace

void OptimConfig::validate() const {
  if (type != "sgd" && !is_adam(type))
    throw Error("unknown optimizer \"" + type + "\" (expected sgd, adam or adamw)");
  require(std::isfinite(lr) && lr > 0, *this, "lr", lr, "a finite number > 0");
  require(std::isfinite(weight_decay) && weight_decay >= 0, *this, "weight decay", weight_decay,
          "a finite number >= 0");
  if (type == "sgd") {
    require(momentum >= 0 && momentum < 1, *this, "momentum", momentum, "in [0, 1)");
    if (nesterov && momentum == 0) throw Error("optimizer sgd: Nesterov momentum needs momentum > 0");
  } else {
    require(beta1 >= 0 && beta1 < 1, *this, "beta1", beta1, "in [0, 1)");
    require(beta2 >= 0 && beta2 < 1, *this, "beta2", beta2, "in [0, 1)");
    require(std::isfinite(eps) && eps > 0, *this, "eps", eps, "a finite number > 0");
  }
}

nlohmann::json OptimConfig::to_json() const {
  nlohmann::json j = {{"type", type}, {"lr", lr}, {"weight_decay", weight_decay}};
  if (type == "sgd") {
    j["momentum"] = momentum;
    j["nesterov"] = nesterov;
  } else {
    j["beta1"] = beta1;
    j["beta2"] = beta2;
    j["eps"] = eps;
  }
  return j;
}

OptimConfig OptimConfig::from_json(const nlohmann::json& j) {
  Fields f(j, "optimizer");
  OptimConfig c;
  c.type = f.string("type");
  const std::pair<const char*, double*> numbers[] = {{"lr", &c.lr},       {"momentum", &c.momentum},
                                                     {"beta1", &c.beta1}, {"beta2", &c.beta2},
                                                     {"eps", &c.eps},     {"weight_decay", &c.weight_decay}};
  for (const auto& [key, field] : numbers)
    if (f.optional(key)) *field = f.number(key);
  if (f.optional("nesterov")) c.nesterov = f.boolean("nesterov");
  f.finish("type, lr, momentum, nesterov, beta1, beta2, eps, weight_decay");
  c.validate();
  return c;
}

Optimizer::Optimizer(OptimConfig config) : config_(std::move(config)) { config_.validate(); }

void Optimizer::step(Params& params, const GradRefs& grads, double lr) {
  if (!std::isfinite(lr) || lr <= 0)
    throw Error("optimizer step: lr must be a finite number > 0, got " + num(lr));
  for (const auto& [name, g] : grads) {
    if (!g) continue;
    auto it = params.find(name);
    if (it == params.end())
      throw Error("optimizer step: gradient for \"" + name + "\", which is not a param");
    Tensor& p = it->second;
    if (shape_of(*g) != shape_of(p))
      throw Error("optimizer step: gradient of \"" + name + "\" has shape " + to_string(shape_of(*g)) +
                  ", param has " + to_string(shape_of(p)));
    Slot& s = slots_[name];
    ++s.steps;
    if (config_.type == "sgd")
      sgd(p, *g, s, float(lr));
    else
      adam(p, *g, s, float(lr));
  }
}

// Each case is its own branch-free loop, so each vectorises (these passes read every weight and
// gradient of the model once per step).
void Optimizer::sgd(Tensor& p, const Tensor& g, Slot& s, float lr) const {
  const float wd = float(config_.weight_decay), mu = float(config_.momentum);
  const bool first = s.steps == 1;
  if (mu != 0 && first) s.m = make_tensor(shape_of(p));
  float* __restrict pp = p.data();
  const float* __restrict gp = g.data();
  const size_t n = p.size();
  if (mu == 0) {
    if (wd == 0)
      for (size_t i = 0; i < n; ++i) pp[i] -= lr * gp[i];
    else
      for (size_t i = 0; i < n; ++i) pp[i] -= lr * (gp[i] + wd * pp[i]);
    return;
  }
  float* __restrict buf = s.m.data();
  const float keep = first ? 0.0f : mu;  // the first step sets the buffer (zeros) to d
  if (config_.nesterov) {
    for (size_t i = 0; i < n; ++i) {
      const float d = gp[i] + wd * pp[i];
      buf[i] = keep * buf[i] + d;
      pp[i] -= lr * (d + mu * buf[i]);
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const float d = gp[i] + wd * pp[i];
      buf[i] = keep * buf[i] + d;
      pp[i] -= lr * buf[i];
    }
  }
}

void Optimizer::adam(Tensor& p, const Tensor& g, Slot& s, float lr) const {
  if (s.steps == 1) s.m = make_tensor(shape_of(p)), s.v = make_tensor(shape_of(p));
  const float b1 = float(config_.beta1), b2 = float(config_.beta2), eps = float(config_.eps);
  const float wd = float(config_.weight_decay);
  const bool decoupled = config_.type == "adamw";
  const double t = double(s.steps);
  const float step_size = float(double(lr) / (1 - std::pow(config_.beta1, t)));
  const float c2_sqrt = float(std::sqrt(1 - std::pow(config_.beta2, t)));
  float* __restrict pp = p.data(), * __restrict m = s.m.data(), * __restrict v = s.v.data();
  const float* __restrict gp = g.data();
  const size_t n = p.size();
  if (decoupled && wd != 0)  // AdamW: the weights decay before the step
    for (size_t i = 0; i < n; ++i) pp[i] *= 1 - lr * wd;
  const float l2 = decoupled ? 0.0f : wd;  // Adam: weight decay as an L2 term of the gradient
  for (size_t i = 0; i < n; ++i) {
    const float d = gp[i] + l2 * pp[i];
    m[i] = b1 * m[i] + (1 - b1) * d;
    v[i] = b2 * v[i] + (1 - b2) * d * d;
    pp[i] -= step_size * m[i] / (std::sqrt(v[i]) / c2_sqrt + eps);
  }
}

nlohmann::json Optimizer::state_to_json() const {
  nlohmann::json slots = nlohmann::json::object();
  for (const auto& [name, s] : slots_) {
    nlohmann::json j = {{"steps", s.steps}};
    if (s.steps > 0 && (config_.type != "sgd" || config_.momentum != 0)) j["m"] = tensor_to_json_b64(s.m);
    if (s.steps > 0 && is_adam(config_.type)) j["v"] = tensor_to_json_b64(s.v);
    slots[name] = j;
  }
  return {{"config", config_.to_json()}, {"slots", slots}};
}

void Optimizer::load_state(const nlohmann::json& j, const Params& params) {
  Fields f(j, "optimizer state");
  const OptimConfig saved = OptimConfig::from_json(f.required("config"));
  if (saved.type != config_.type)
    throw Error("optimizer state is for " + saved.type + ", this run uses " + config_.type);
  const bool needs_m = config_.type != "sgd" || config_.momentum != 0, needs_v = is_adam(config_.type);
  std::map<std::string, Slot> slots;
  for (const auto& [name, sj] : f.object("slots").items()) {
    const std::string where = json_path(f.at("slots"), name);
    auto p = params.find(name);
    if (p == params.end()) throw Error(where + ": no such param");
    Fields sf(sj, where);
    Slot s;
    s.steps = sf.integer("steps", 0);
    bool has_m = false, has_v = false;
    for (const char* key : {"m", "v"}) {
      const nlohmann::json* tj = sf.optional(key);
      if (!tj) continue;
      Tensor t = tensor_from_json(*tj, sf.at(key), NonFinite::Keep);
      if (shape_of(t) != shape_of(p->second))
        throw Error(sf.at(key) + ": shape " + to_string(shape_of(t)) + ", param has " +
                    to_string(shape_of(p->second)));
      (key[0] == 'm' ? s.m : s.v) = std::move(t);
      (key[0] == 'm' ? has_m : has_v) = true;
    }
    sf.finish("steps, m, v");
    if (s.steps > 0 && ((needs_m && !has_m) || (needs_v && !has_v)))
      throw Error(where + ": moment buffers missing");
    slots[name] = std::move(s);
  }
  f.finish("config, slots");
  slots_ = std::move(slots);
}

}  // namespace xgrad
