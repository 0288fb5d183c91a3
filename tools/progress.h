#pragma once
// Training progress on the console: on a terminal, one bar per epoch redrawn in place (samples/s,
// running loss and accuracy, ETA); otherwise plain lines at most every `plain_every` seconds, so
// logs stay readable.
#include <chrono>
#include <ostream>
#include <string>

#include "graph/train.h"

namespace xgrad::cli {

bool stdout_is_terminal();
std::string format_seconds(double s);  // "42s", "3m05s", "1h02m"

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, bool terminal, int64_t epochs, double plain_every = 10.0)
      : out_(out), terminal_(terminal), epochs_(epochs), plain_every_(plain_every) {}

  void update(const StepInfo& s);  // throttled
  void clear();                    // before printing an epoch line

 private:
  using Clock = std::chrono::steady_clock;
  std::ostream& out_;
  bool terminal_;
  int64_t epochs_;
  double plain_every_;
  int64_t epoch_ = -1;
  size_t start_position_ = 0;
  Clock::time_point start_, last_;
  bool drawn_ = false;
};

}  // namespace xgrad::cli
