// Strict JSON parsing on nlohmann's parser: its callback sees every event, which is where depth,
// size and duplicate keys are checked (nlohmann itself keeps the last of two equal keys).
#include <set>
#include <vector>

#include "core/error.h"
#include "core/json_io.h"

namespace xgrad {
namespace {

using json = nlohmann::json;

// Where the parser is: one frame per open object/array, so errors can give the JSON path.
class PathTracker {
 public:
  PathTracker(const std::string& source, const JsonLimits& limits) : source_(source), limits_(limits) {}

  bool on_event(int depth, json::parse_event_t event, const json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        if (depth >= limits_.max_depth)
          fail("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
        count_value();
        frames_.push_back({event == E::array_start, 0, {}, {}});
        break;
      case E::key: {
        Frame& f = frames_.back();
        if (!f.keys.insert(parsed.get<std::string>()).second)
          fail("duplicate key " + parsed.dump(), /*container=*/true);
        f.key = parsed.get<std::string>();
        break;
      }
      case E::value:
        count_value();
        element_done();
        break;
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        element_done();
        break;
    }
    return true;
  }

 private:
  struct Frame {
    bool is_array;
    size_t index;
    std::string key;
    std::set<std::string> keys;
  };

  void count_value() {
    if (++values_ > limits_.max_values)
      fail("more than " + std::to_string(limits_.max_values) + " JSON values");
  }
  void element_done() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
  }
  // "graph.nodes[3].name", the position of the current element (or of its container).
  std::string path(bool container) const {
    std::string p;
    for (size_t i = 0; i < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (container && i + 1 == frames_.size()) break;
      if (f.is_array)
        p += "[" + std::to_string(f.index) + "]";
      else if (!f.key.empty() || !f.keys.empty())
        p += (p.empty() ? "" : ".") + f.key;
    }
    return p;
  }
  [[noreturn]] void fail(const std::string& what, bool container = false) const {
    const std::string where = path(container);
    throw Error(source_ + ": " + (where.empty() ? "" : where + ": ") + what);
  }

  const std::string& source_;
  const JsonLimits& limits_;
  std::vector<Frame> frames_;
  size_t values_ = 0;
};

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is the useful part.
std::string strip_exception_id(const std::string& what) {
  const size_t end = what.find("] ");
  return what.rfind("[json.exception.", 0) == 0 && end != std::string::npos ? what.substr(end + 2) : what;
}

}  // namespace

nlohmann::json parse_json(const std::string& text, const std::string& source, const JsonLimits& limits) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(source + ": " + (text.empty() ? "the file is empty" : "holds only whitespace") +
                ", expected JSON");
  PathTracker tracker(source, limits);
  try {
    return json::parse(text, [&](int depth, json::parse_event_t event, json& parsed) {
      return tracker.on_event(depth, event, parsed);
    });
  } catch (const json::parse_error& e) {
    throw Error(source + ": not valid JSON: " + strip_exception_id(e.what()));
  } catch (const json::exception& e) {
    throw Error(source + ": " + strip_exception_id(e.what()));
  }
}

}  // namespace xgrad
