// `xgrad dot`: the DOT text of a small graph checked line by line, names escaped, SVG through
// Graphviz when it is installed and a clear error when it is not.
#include <doctest/doctest.h>

#include <cstdlib>

#include "core/error.h"
#include "graph/builder.h"
#include "graph/dot.h"
#include "tests/cli.h"
#include "tests/idx_writer.h"
#include "tests/paths.h"

using namespace xgrad;

namespace {

Graph tiny() {
  GraphBuilder b("tiny \"net\"");
  Value x = b.input("x", {-1, 4});
  Value h = b.relu(layers::dense(b, "fc", x, 3), "act");
  b.output("out", h);
  return b.finish();
}

}  // namespace

TEST_CASE("dot: ops with shapes and parameter counts, weights folded, outputs marked") {
  CHECK(graph_to_dot(tiny()) ==
        "digraph \"tiny \\\"net\\\"\" {\n"
        "  rankdir=TB;\n"
        "  node [fontname=\"Helvetica\"];\n"
        "  n0 [shape=ellipse, label=\"x\\ninput float32\\n[N, 4]\"];\n"
        "  n3 [shape=box, label=\"fc\\nmatmul\\n[N, 3]\\n15 params\"];\n"
        "  n0 -> n3;\n"
        "  n4 [shape=box, label=\"act\\nrelu\\n[N, 3]\"];\n"
        "  n3 -> n4;\n"
        "  \"out_out\" [shape=plaintext, label=\"out\"];\n"
        "  n4 -> \"out_out\" [style=dashed];\n"
        "}\n");
}

TEST_CASE("dot: a shared weight counts once, at its first reader, even when read twice there") {
  GraphBuilder b("shared");
  Value x = b.input("x", {-1, 4});
  Value w = b.param("w", {4, 4}, Init{});
  Value h = b.matmul(b.mul(w, w, "square"), w, "twice");  // reads w three times
  b.output("out", b.matmul(x, h, "again"));
  const Graph g = b.finish();
  const std::string dot = graph_to_dot(g);
  CHECK(dot.find("square\\nmul\\n[4, 4]\\n16 params\"") != std::string::npos);
  CHECK(dot.find("twice\\nmatmul\\n[4, 4]\"") != std::string::npos);
  CHECK(dot.find("again\\nmatmul\\n[N, 4]\"") != std::string::npos);
  CHECK(first_readers(g).at(size_t(w.id)) == g.id("square"));
  CHECK(first_readers(g).at(size_t(g.id("again"))) == -1);
}

TEST_CASE("dot: SVG through Graphviz, or an error saying it is missing") {
  const std::string dot = graph_to_dot(tiny());
  if (std::system("dot -V >/dev/null 2>&1") == 0) {
    const std::string svg = dot_to_svg(dot);
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("matmul") != std::string::npos);
    CHECK_THROWS_WITH_AS(dot_to_svg("digraph {"), doctest::Contains("Graphviz's dot failed: "), Error);
  }
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  setenv("PATH", "/nonexistent", 1);
  CHECK_THROWS_WITH_AS(
      dot_to_svg(dot),
      "Graphviz's dot program is not installed (install the graphviz package), cannot write SVG", Error);
  setenv("PATH", path.c_str(), 1);
}

TEST_CASE("dot: the command prints DOT and writes SVG") {
  TempDir dir;
  const std::string model = "'" + test::source_dir() + "/models/lenet.json'";
  auto r = test::run_xgrad(dir.path(), "dot --model " + model);
  CHECK(r.status == 0);
  CHECK(r.out.find("label=\"conv2\\nconv2d\\n[N, 16, 8, 8]\\n2416 params\"") != std::string::npos);
  if (std::system("dot -V >/dev/null 2>&1") == 0) {
    r = test::run_xgrad(dir.path(), "dot --model " + model + " --svg lenet.svg");
    CHECK(r.status == 0);
    CHECK(r.out.empty());
  }
  r = test::run_xgrad(dir.path(), "dot --model missing.json");
  CHECK(r.status == 1);
  CHECK(r.err.find("xgrad: error: missing.json: ") == 0);
}
