#include "tools/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace xgrad::cli {
namespace {

constexpr double kPanelW = 420, kPanelH = 300, kMargin = 50, kTop = 40;

struct Series {
  const char* label;
  const char* color;
  std::vector<double> y;  // NaN = not measured
};

std::string fmt(double v, const char* pattern = "%.1f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, pattern, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return out;
}

// One panel at x offset `left`: axes, 5 y ticks, epoch ticks, a polyline and dots per series.
void panel(std::ostringstream& o, double left, const std::string& name, const std::vector<Series>& series,
           double lo, double hi, size_t epochs) {
  if (!(hi > lo)) lo = hi - 1;
  const double x0 = left + kMargin, x1 = left + kPanelW - 10, y0 = kTop + kPanelH - 30, y1 = kTop + 20;
  auto sx = [&](size_t i) {
    return epochs < 2 ? (x0 + x1) / 2 : x0 + (x1 - x0) * double(i) / double(epochs - 1);
  };
  auto sy = [&](double v) { return y0 - (y0 - y1) * (v - lo) / (hi - lo); };
  o << "<text x='" << fmt((x0 + x1) / 2) << "' y='" << fmt(kTop + 10)
    << "' text-anchor='middle' font-weight='bold'>" << name << "</text>\n";
  o << "<path d='M" << fmt(x0) << ' ' << fmt(y1) << " V" << fmt(y0) << " H" << fmt(x1)
    << "' stroke='black' fill='none'/>\n";
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4, y = sy(v);
    o << "<line x1='" << fmt(x0 - 4) << "' x2='" << fmt(x1) << "' y1='" << fmt(y) << "' y2='" << fmt(y)
      << "' stroke='#ddd'/><text x='" << fmt(x0 - 6) << "' y='" << fmt(y + 4) << "' text-anchor='end'>"
      << fmt(v, "%.3g") << "</text>\n";
  }
  const size_t every = std::max<size_t>(1, epochs / 10);
  for (size_t i = 0; i < epochs; i += every)
    o << "<text x='" << fmt(sx(i)) << "' y='" << fmt(y0 + 16) << "' text-anchor='middle'>" << i + 1
      << "</text>\n";
  o << "<text x='" << fmt((x0 + x1) / 2) << "' y='" << fmt(y0 + 30)
    << "' text-anchor='middle'>epoch</text>\n";
  double legend_y = y1 + 4;
  for (const auto& s : series) {
    std::string points;
    for (size_t i = 0; i < s.y.size(); ++i)
      if (std::isfinite(s.y[i])) {
        points += fmt(sx(i)) + "," + fmt(sy(s.y[i])) + " ";
        o << "<circle cx='" << fmt(sx(i)) << "' cy='" << fmt(sy(s.y[i])) << "' r='3' fill='" << s.color
          << "'/>\n";
      }
    if (points.empty()) continue;
    o << "<polyline points='" << points << "' fill='none' stroke='" << s.color << "' stroke-width='2'/>\n";
    o << "<text x='" << fmt(x1 - 4) << "' y='" << fmt(legend_y + 10) << "' text-anchor='end' fill='"
      << s.color << "'>" << s.label << "</text>\n";
    legend_y += 16;
  }
}

void range_of(const std::vector<Series>& series, double& lo, double& hi) {
  lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series)
    for (double v : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
}

}  // namespace

std::string svg_curves(const std::vector<EpochMetrics>& history, const std::string& title,
                       MetricKind metric) {
  Series train_loss{"train", "#1f77b4", {}}, test_loss{"test", "#d62728", {}};
  Series train_metric{"train", "#1f77b4", {}}, test_metric{"test", "#d62728", {}};
  for (const auto& m : history) {
    train_loss.y.push_back(m.train_loss), test_loss.y.push_back(m.test_loss);
    train_metric.y.push_back(MetricValues{m.train_accuracy, m.train_mse}.of(metric));
    test_metric.y.push_back(MetricValues{m.test_accuracy, m.test_mse}.of(metric));
  }
  const bool has_metric = metric != MetricKind::None;
  std::ostringstream o;
  const double width = (has_metric ? 2 : 1) * kPanelW, height = kTop + kPanelH;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
    << "' viewBox='0 0 " << width << ' ' << height << "' font-family='sans-serif' font-size='12'>\n";
  o << "<rect width='100%' height='100%' fill='white'/>\n";
  o << "<text x='" << width / 2 << "' y='20' text-anchor='middle' font-size='15'>" << escape(title)
    << "</text>\n";
  double lo, hi;
  range_of({train_loss, test_loss}, lo, hi);
  panel(o, 0, "loss", {train_loss, test_loss}, std::min(lo, 0.0), hi, history.size());
  range_of({train_metric, test_metric}, lo, hi);
  if (metric == MetricKind::MeanSquaredError)
    panel(o, kPanelW, "mse", {train_metric, test_metric}, std::min(lo, 0.0), hi, history.size());
  else if (has_metric)
    panel(o, kPanelW, metric_name(metric), {train_metric, test_metric}, std::floor(lo * 10) / 10,
          std::min(1.0, std::ceil(hi * 10) / 10), history.size());
  o << "</svg>\n";
  return o.str();
}

std::string csv_curves(const std::vector<EpochMetrics>& history, MetricKind metric) {
  const bool has_metric = metric != MetricKind::None;
  const std::string name = metric_name(metric);
  std::ostringstream o;
  o << "epoch,lr,train_loss," << (has_metric ? "train_" + name + "," : "") << "test_loss,"
    << (has_metric ? "test_" + name + "," : "") << "seconds\n";
  auto cell = [](double v) { return std::isfinite(v) ? fmt(v, "%.6g") : std::string(); };
  for (const auto& m : history) {
    o << m.epoch << ',' << cell(m.lr) << ',' << cell(m.train_loss) << ',';
    if (has_metric) o << cell(MetricValues{m.train_accuracy, m.train_mse}.of(metric)) << ',';
    o << cell(m.test_loss) << ',';
    if (has_metric) o << cell(MetricValues{m.test_accuracy, m.test_mse}.of(metric)) << ',';
    o << fmt(m.seconds, "%.2f") << '\n';
  }
  return o.str();
}

}  // namespace xgrad::cli
