#include "graph/dot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/json_io.h"

extern char** environ;

namespace xgrad {
namespace {

// A DOT string literal's contents: quotes and backslashes escaped, newlines as \n (centred lines).
std::string escaped(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + (s[i] == -1 ? "N" : std::to_string(s[i]));
  return out + "]";
}

bool is_weight(const Node& n) { return n.kind != NodeKind::Input && n.kind != NodeKind::Op; }

}  // namespace

std::string graph_to_dot(const Graph& g) {
  std::string out =
      "digraph \"" + escaped(g.name()) + "\" {\n  rankdir=TB;\n  node [fontname=\"Helvetica\"];\n";
  const std::vector<int> reader = first_readers(g);
  std::vector<int64_t> weights(size_t(g.size()), 0);  // params and states, by the node that first reads them
  for (int id = 0; id < g.size(); ++id)
    if (is_weight(g.node(id)) && reader[size_t(id)] != -1)
      weights[size_t(reader[size_t(id)])] += numel(g.node(id).info.shape);
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (is_weight(n)) continue;
    std::string label = n.name + "\n", shape = "box";
    if (n.kind == NodeKind::Input) {
      label += std::string("input ") + dtype_name(n.info.dtype) + "\n" + shape_text(n.info.shape);
      shape = "ellipse";
    } else {
      label += std::string(n.op->type()) + "\n" + shape_text(n.info.shape);
      if (weights[size_t(id)]) label += "\n" + std::to_string(weights[size_t(id)]) + " params";
    }
    out += "  n" + std::to_string(id) + " [shape=" + shape + ", label=\"" + escaped(label) + "\"];\n";
    for (int in : n.inputs)
      if (!is_weight(g.node(in))) out += "  n" + std::to_string(in) + " -> n" + std::to_string(id) + ";\n";
  }
  for (const auto& [role, id] : g.outputs()) {
    out += "  \"out_" + escaped(role) + "\" [shape=plaintext, label=\"" + escaped(role) + "\"];\n";
    out += "  n" + std::to_string(id) + " -> \"out_" + escaped(role) + "\" [style=dashed];\n";
  }
  return out + "}\n";
}

std::string dot_to_svg(const std::string& dot_text) {
  namespace fs = std::filesystem;
  // A private directory (mkdtemp): a name from the PID alone can be taken by another thread of this
  // process, by a process in another PID namespace, or planted by another user of /tmp.
  std::string dir = (fs::temp_directory_path() / "xgrad-dot-XXXXXX").string();
  if (!::mkdtemp(dir.data()))
    throw Error(std::string("cannot make a temporary directory for Graphviz: ") + std::strerror(errno));
  const std::string in = dir + "/graph.dot", out = dir + "/graph.svg", err = dir + "/dot.err";
  write_file_atomic(in, dot_text);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string a0 = "dot", a1 = "-Tsvg", a2 = "-o" + out;
  char* argv[] = {a0.data(), a1.data(), a2.data(), const_cast<char*>(in.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (rc == 0) waitpid(pid, &status, 0);
  std::string svg, message;
  std::error_code ec;
  if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) svg = read_text_file(out);
  if (rc == 0 && fs::exists(err, ec)) message = read_text_file(err);
  fs::remove_all(dir, ec);
  if (rc == ENOENT || (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127))
    throw Error("Graphviz's dot program is not installed (install the graphviz package), cannot write SVG");
  if (rc != 0) throw Error(std::string("cannot run Graphviz's dot: ") + std::strerror(rc));
  if (svg.empty())
    throw Error("Graphviz's dot failed" + (message.empty() ? std::string() : ": " + message.substr(0, 300)));
  return svg;
}

}  // namespace xgrad
