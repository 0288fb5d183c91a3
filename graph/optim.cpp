#include "graph/optim.h"

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "graph/checkpoint.h"

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

double json_number(const nlohmann::json& j, const std::string& key) {
  const auto& v = j.at(key);
  if (!v.is_number()) throw Error("optimizer." + key + ": expected a number, found " + v.dump());
  return v.get<double>();
}

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
  if (!j.is_object() || !j.contains("type") || !j.at("type").is_string())
    throw Error("optimizer: expected an object with a \"type\", found " + j.dump());
  OptimConfig c;
  c.type = j.at("type").get<std::string>();
  for (const auto& [key, value] : j.items()) {
    if (key == "type") continue;
    if (key == "nesterov") {
      if (!value.is_boolean())
        throw Error("optimizer.nesterov: expected true or false, found " + value.dump());
      c.nesterov = value.get<bool>();
      continue;
    }
    double* field = key == "lr"             ? &c.lr
                    : key == "momentum"     ? &c.momentum
                    : key == "beta1"        ? &c.beta1
                    : key == "beta2"        ? &c.beta2
                    : key == "eps"          ? &c.eps
                    : key == "weight_decay" ? &c.weight_decay
                                            : nullptr;
    if (!field) throw Error("optimizer: unknown setting \"" + key + "\"");
    *field = json_number(j, key);
  }
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

void Optimizer::sgd(Tensor& p, const Tensor& g, Slot& s, float lr) const {
  const float wd = float(config_.weight_decay), mu = float(config_.momentum);
  const bool first = s.steps == 1;
  if (mu != 0 && first) s.m = make_tensor(shape_of(p));
  float* pp = p.data();
  float* buf = mu != 0 ? s.m.data() : nullptr;
  const float* gp = g.data();
  if (!buf && wd == 0) {  // plain SGD: a branch-free loop the compiler vectorises
    for (size_t i = 0, n = p.size(); i < n; ++i) pp[i] -= lr * gp[i];
    return;
  }
  for (size_t i = 0, n = p.size(); i < n; ++i) {
    float d = wd != 0 ? gp[i] + wd * pp[i] : gp[i];
    if (buf) {
      buf[i] = first ? d : mu * buf[i] + d;
      d = config_.nesterov ? d + mu * buf[i] : buf[i];
    }
    pp[i] -= lr * d;
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
  float *pp = p.data(), *m = s.m.data(), *v = s.v.data();
  const float* gp = g.data();
  for (size_t i = 0, n = p.size(); i < n; ++i) {
    float d = gp[i];
    if (wd != 0) {
      if (decoupled)
        pp[i] *= 1 - lr * wd;
      else
        d += wd * pp[i];
    }
    m[i] = b1 * m[i] + (1 - b1) * d;
    v[i] = b2 * v[i] + (1 - b2) * d * d;
    pp[i] -= step_size * m[i] / (std::sqrt(v[i]) / c2_sqrt + eps);
  }
}

nlohmann::json Optimizer::state_to_json() const {
  nlohmann::json slots = nlohmann::json::object();
  for (const auto& [name, s] : slots_) {
    nlohmann::json j = {{"steps", s.steps}};
    if (s.steps > 0 && (config_.type != "sgd" || config_.momentum != 0)) j["m"] = tensor_to_state(s.m);
    if (s.steps > 0 && is_adam(config_.type)) j["v"] = tensor_to_state(s.v);
    slots[name] = j;
  }
  return {{"config", config_.to_json()}, {"slots", slots}};
}

void Optimizer::load_state(const nlohmann::json& j, const Params& params) {
  if (!j.is_object() || !j.contains("config") || !j.contains("slots") || !j.at("slots").is_object())
    throw Error("optimizer state: expected {\"config\": ..., \"slots\": {...}}");
  const OptimConfig saved = OptimConfig::from_json(j.at("config"));
  if (saved.type != config_.type)
    throw Error("optimizer state is for " + saved.type + ", this run uses " + config_.type);
  std::map<std::string, Slot> slots;
  for (const auto& [name, sj] : j.at("slots").items()) {
    const std::string where = "optimizer state.slots." + name;
    auto p = params.find(name);
    if (p == params.end()) throw Error(where + ": no such param");
    if (!sj.is_object() || !sj.contains("steps") || !sj.at("steps").is_number_integer() ||
        sj.at("steps").get<int64_t>() < 0)
      throw Error(where + ": expected {\"steps\": integer >= 0, ...}");
    Slot s;
    s.steps = sj.at("steps").get<int64_t>();
    for (const char* key : {"m", "v"}) {
      if (!sj.contains(key)) continue;
      Tensor t = tensor_from_state(sj.at(key), where + "." + key);
      if (shape_of(t) != shape_of(p->second))
        throw Error(where + "." + key + ": shape " + to_string(shape_of(t)) + ", param has " +
                    to_string(shape_of(p->second)));
      (key[0] == 'm' ? s.m : s.v) = std::move(t);
    }
    const bool needs_m = config_.type != "sgd" || config_.momentum != 0;
    if (s.steps > 0 && ((needs_m && !sj.contains("m")) || (is_adam(config_.type) && !sj.contains("v"))))
      throw Error(where + ": moment buffers missing");
    slots[name] = std::move(s);
  }
  slots_ = std::move(slots);
}

}  // namespace xgrad
