// `xgrad summary --model M.json [--kernels]`: a Keras-style table of the graph: node, op, output
// shape, the parameters each node reads (each param counted once, at its first reader) and the
// total; with --kernels, the kernel each conv/pool node runs on this CPU after its op name.
#include <iostream>
#include <memory>

#include "graph/serialize.h"
#include "models/builtin.h"
#include "tools/commands.h"

namespace xgrad::cli {
namespace {

// 44426 -> "44,426"
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// [-1, 6, 24, 24] -> "[N, 6, 24, 24]": the batch dimension by its usual name.
std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + (s[i] == -1 ? "N" : std::to_string(s[i]));
  return out + "]";
}

using Row = std::array<std::string, 4>;

// "conv2d: ovec_avx512" with kernels wanted and an op that has several, else "conv2d".
std::string op_text(const Graph& g, const Node& n, bool kernels) {
  std::string text(n.op->type());
  if (!kernels) return text;
  std::vector<ValueInfo> in;
  for (int id : n.inputs) in.push_back(g.node(id).info);
  const std::string k = n.op->kernel_name(in);
  return k.empty() ? text : text + ": " + k;
}

std::vector<Row> summary_rows(const Graph& g, bool kernels) {
  const std::vector<int> reader = first_readers(g);
  std::vector<int64_t> params(size_t(g.size()), 0);  // by the node that first reads them
  for (int id : g.params())
    if (reader[size_t(id)] != -1) params[size_t(reader[size_t(id)])] += numel(g.node(id).info.shape);
  std::vector<Row> rows;
  for (int id = 0; id < g.size(); ++id) {
    const Node& n = g.node(id);
    if (n.kind == NodeKind::Param || n.kind == NodeKind::State) continue;
    const std::string op =
        n.kind == NodeKind::Input ? std::string("input ") + dtype_name(n.info.dtype) : op_text(g, n, kernels);
    rows.push_back({n.name, op, shape_text(n.info.shape), with_commas(params[size_t(id)])});
  }
  for (int id : g.params())  // params no node reads
    if (reader[size_t(id)] == -1)
      rows.push_back({g.node(id).name, "param (unused)", shape_text(g.node(id).info.shape),
                      with_commas(numel(g.node(id).info.shape))});
  return rows;
}

void print_summary(const Model& m, bool kernels, std::ostream& os) {
  const Graph& g = m.graph;
  std::vector<Row> rows = summary_rows(g, kernels);
  rows.insert(rows.begin(), Row{"Node", "Op", "Output shape", "Params"});
  std::array<size_t, 4> width{};
  for (const Row& r : rows)
    for (size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], r[c].size());
  const size_t total_width = width[0] + width[1] + width[2] + width[3] + 6;
  os << "Model \"" << g.name() << "\"\n" << std::string(total_width, '=') << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    os << r[0] << std::string(width[0] - r[0].size() + 2, ' ') << r[1]
       << std::string(width[1] - r[1].size() + 2, ' ') << r[2] << std::string(width[2] - r[2].size() + 2, ' ')
       << std::string(width[3] - r[3].size(), ' ') << r[3] << "\n";
    if (i == 0) os << std::string(total_width, '-') << "\n";
  }
  os << std::string(total_width, '=') << "\n";
  os << "Total params: " << with_commas(g.param_count()) << "\n";
  int64_t state_values = 0;
  for (int id : g.states()) state_values += numel(g.node(id).info.shape);
  if (state_values) os << "State values (not trained): " << with_commas(state_values) << "\n";
  os << "Weights in the file: " << m.weights.size() << " of " << weight_nodes(g).size()
     << " params and states\n";
  std::string outputs;
  for (const auto& [role, id] : g.outputs())
    outputs += (outputs.empty() ? "" : ", ") + role + " = " + g.node(id).name;
  os << "Outputs: " << (outputs.empty() ? "(none)" : outputs) << "\n";
}

}  // namespace

void add_summary_command(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto kernels = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("summary", "Print a model's nodes, output shapes and parameter counts");
  cmd->add_option("--model", *model,
                  "Built-in model (lenet, lenet-relu, mlp) or model file (xgrad-model JSON, optionally .gz)")
      ->required();
  cmd->add_flag("--kernels", *kernels, "Show the kernel each conv and pool node runs on this CPU");
  cmd->callback([model, kernels] { print_summary(load_model_or_builtin(*model), *kernels, std::cout); });
}

}  // namespace xgrad::cli
