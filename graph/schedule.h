#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace xgrad {

// Learning rate per epoch (0-based), a pure function so a resumed run needs no schedule state:
//   constant: base
//   step:     base * gamma^floor(epoch / step_size)                         (torch StepLR)
//   cosine:   min_lr + (base - min_lr) * (1 + cos(pi * epoch / t_max)) / 2  (torch CosineAnnealingLR)
struct Schedule {
  std::string type = "constant";
  int64_t step_size = 1;
  double gamma = 0.1;
  int64_t t_max = 0;  // cosine period in epochs; 0 = the run's epoch count
  double min_lr = 0.0;

  void validate() const;  // throws Error naming the bad setting
  double lr(double base, int64_t epoch, int64_t epochs) const;
  nlohmann::json to_json() const;
  static Schedule from_json(const nlohmann::json& j);
};

}  // namespace xgrad
