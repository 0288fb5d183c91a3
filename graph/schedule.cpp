#include "graph/schedule.h"

#include <cmath>

#include "core/error.h"
#include "graph/json_fields.h"

namespace xgrad {

void Schedule::validate() const {
  if (type != "constant" && type != "step" && type != "cosine")
    throw Error("unknown learning-rate schedule \"" + type + "\" (expected constant, step or cosine)");
  if (step_size < 1)
    throw Error("schedule step: step size must be >= 1 epoch, got " + std::to_string(step_size));
  if (!(gamma > 0 && gamma <= 1))
    throw Error("schedule step: gamma must be in (0, 1], got " + std::to_string(gamma));
  if (t_max < 0) throw Error("schedule cosine: t_max must be >= 0 epochs, got " + std::to_string(t_max));
  if (!(std::isfinite(min_lr) && min_lr >= 0))
    throw Error("schedule cosine: min lr must be a finite number >= 0, got " + std::to_string(min_lr));
}

double Schedule::lr(double base, int64_t epoch, int64_t epochs) const {
  if (type == "step") return base * std::pow(gamma, double(epoch / step_size));
  if (type == "cosine") {
    const double period = double(t_max > 0 ? t_max : std::max<int64_t>(epochs, 1));
    return min_lr + (base - min_lr) * (1 + std::cos(M_PI * double(epoch) / period)) / 2;
  }
  return base;
}

nlohmann::json Schedule::to_json() const {
  if (type == "step") return {{"type", type}, {"step_size", step_size}, {"gamma", gamma}};
  if (type == "cosine") return {{"type", type}, {"t_max", t_max}, {"min_lr", min_lr}};
  return {{"type", type}};
}

Schedule Schedule::from_json(const nlohmann::json& j) {
  Fields f(j, "schedule");
  Schedule s;
  s.type = f.string("type");
  if (f.optional("step_size")) s.step_size = f.integer("step_size");
  if (f.optional("t_max")) s.t_max = f.integer("t_max");
  if (f.optional("gamma")) s.gamma = f.number("gamma");
  if (f.optional("min_lr")) s.min_lr = f.number("min_lr");
  f.finish("type, step_size, t_max, gamma, min_lr");
  s.validate();
  return s;
}

}  // namespace xgrad
