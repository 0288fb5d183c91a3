#include "tools/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace xgrad::cli {

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

std::string format_seconds(double s) {
  char buf[32];
  const long t = long(s + 0.5);
  if (t < 60)
    std::snprintf(buf, sizeof buf, "%lds", t);
  else if (t < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, t / 60 % 60);
  return buf;
}

void ProgressBar::update(const StepInfo& s) {
  const auto now = Clock::now();
  if (s.epoch != epoch_) {  // first step of an epoch (or of a resumed one)
    epoch_ = s.epoch;
    start_ = last_ = now;
    start_position_ = s.position;
    return;
  }
  const double since_last = std::chrono::duration<double>(now - last_).count();
  const bool done = s.position == s.samples;
  if (since_last < (terminal_ ? 0.1 : plain_every_) && !(terminal_ && done)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? double(s.position - start_position_) / elapsed : 0;
  const double eta = rate > 0 ? double(s.samples - s.position) / rate : 0;
  // The running metric: accuracy, else mse, else none (a loss without a metric).
  char metric[48] = "";
  if (!std::isnan(s.running_accuracy))
    std::snprintf(metric, sizeof metric, "  acc %.4f", s.running_accuracy);
  else if (!std::isnan(s.running_mse))
    std::snprintf(metric, sizeof metric, "  mse %.4f", s.running_mse);
  char stats[192];
  std::snprintf(stats, sizeof stats, "%zu/%zu  %.0f samples/s  loss %.4f%s  ETA %s", s.position, s.samples,
                rate, s.running_loss, metric, format_seconds(eta).c_str());
  const std::string head = "epoch " + std::to_string(s.epoch + 1) + "/" + std::to_string(epochs_);
  if (!terminal_) {
    out_ << head << "  " << stats << "\n" << std::flush;
    return;
  }
  constexpr int kWidth = 30;
  const int filled = int(double(kWidth) * double(s.position) / double(s.samples));
  std::string bar = "[" + std::string(size_t(filled), '=') + (filled < kWidth ? ">" : "") +
                    std::string(size_t(std::max(0, kWidth - filled - 1)), ' ') + "]";
  out_ << "\r\033[K" << head << " " << bar << " " << stats << std::flush;
  drawn_ = true;
}

void ProgressBar::clear() {
  if (drawn_) out_ << "\r\033[K" << std::flush;
  drawn_ = false;
  epoch_ = -1;
}

}  // namespace xgrad::cli
