// The thread pool: every task runs exactly once, the grains are fixed and shared out dynamically,
// errors come back to the caller, and nested regions run inline.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"
#include "graph/builder.h"
#include "graph/serialize.h"
#include "tests/paths.h"
#include "tests/temp_dir.h"

using namespace xgrad;

namespace {
// Restores the thread count a test changed.
struct Threads {
  int saved = num_threads();
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(saved); }
};
}  // namespace

TEST_CASE("parallel_for runs every task exactly once, for any thread count") {
  for (int threads : {1, 2, 3, 5}) {
    Threads t(threads);
    CHECK(num_threads() == threads);
    for (int64_t tasks : {0, 1, 2, 7, 64, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
      parallel_for(tasks, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (int64_t i = 0; i < tasks; ++i) {
        INFO("threads " << threads << ", tasks " << tasks << ", task " << i);
        CHECK(hits[size_t(i)] == 1);
      }
    }
  }
}

TEST_CASE("the grains are fixed: with T threads, min(n, 4T) grains [g*n/G, (g+1)*n/G)") {
  Threads t(3);
  for (int64_t tasks : {5, 30}) {
    const int64_t grains = std::min<int64_t>(tasks, 12);
    std::vector<std::atomic<int64_t>> ends(size_t(tasks + 1));
    for (auto& e : ends) e = -1;
    parallel_for(tasks, [&](int64_t b, int64_t e) { ends[size_t(b)] = e; });
    for (int64_t g = 0; g < grains; ++g) {
      INFO("tasks " << tasks << ", grain " << g);
      CHECK(ends[size_t(tasks * g / grains)] == tasks * (g + 1) / grains);
    }
  }
}

TEST_CASE("a thread held up in one grain leaves the other grains to the others") {
  Threads t(2);
  std::atomic<int> others{0};  // grains other than the first that have run
  parallel_for(8, [&](int64_t b, int64_t) {
    if (b != 0) return void(++others);
    for (int i = 0; i < 2000 && others < 7; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  CHECK(others == 7);  // with a static split, the held thread's own later grains would wait for it
}

TEST_CASE("an exception in a part reaches the caller and the pool keeps working") {
  Threads t(2);
  CHECK_THROWS_WITH(parallel_for(8,
                                 [](int64_t b, int64_t) {
                                   if (b >= 4) throw std::runtime_error("part two failed");
                                 }),
                    "part two failed");
  std::atomic<int> sum{0};
  parallel_for(8, [&](int64_t b, int64_t e) { sum += int(e - b); });
  CHECK(sum == 8);
}

TEST_CASE("a nested parallel_for runs inline on the calling thread") {
  Threads t(2);
  std::atomic<int> inner{0};
  parallel_for(2, [&](int64_t, int64_t) {
    parallel_for(5, [&](int64_t b, int64_t e) {
      CHECK(b == 0);
      CHECK(e == 5);
      inner += int(e - b);
    });
  });
  CHECK(inner == 10);
}

TEST_CASE("worker_index names a thread of the pool, never two running grains at once") {
  CHECK(worker_index() == 0);  // outside the pool
  for (int threads : {1, 2, 3}) {
    Threads t(threads);
    std::vector<std::atomic<int>> busy(static_cast<size_t>(threads));  // per worker: a grain runs on it
    std::atomic<int> clashes{0}, out_of_range{0}, tasks{0};
    parallel_for(24, [&](int64_t b, int64_t e) {
      const int w = worker_index();
      if (w < 0 || w >= threads) return void(++out_of_range);
      if (busy[size_t(w)].exchange(1) != 0) ++clashes;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the others run meanwhile
      busy[size_t(w)] = 0;
      tasks += int(e - b);
    });
    INFO("threads " << threads);
    CHECK(out_of_range == 0);
    CHECK(clashes == 0);
    CHECK(tasks == 24);
    CHECK(worker_index() == 0);
  }
}

TEST_CASE("thread counts below one mean one") {
  Threads t(0);
  CHECK(num_threads() == 1);
}

TEST_CASE("the default thread count: the machine's CPUs, or XGRAD_NUM_THREADS") {
  const char* saved = std::getenv("XGRAD_NUM_THREADS");
  const std::string before = saved ? saved : "";
  unsetenv("XGRAD_NUM_THREADS");
  const int machine = default_num_threads();
  CHECK(machine >= 1);
  CHECK(machine <= int(std::max(1u, std::thread::hardware_concurrency())));
  setenv("XGRAD_NUM_THREADS", "3", 1);
  CHECK(default_num_threads() == 3);
  for (const char* bad : {"0", "-2", "two", "3x"}) {
    setenv("XGRAD_NUM_THREADS", bad, 1);
    CHECK_THROWS_WITH_AS(default_num_threads(), doctest::Contains("XGRAD_NUM_THREADS"), Error);
  }
  setenv("XGRAD_NUM_THREADS", "", 1);  // empty = not set
  CHECK(default_num_threads() == machine);
  if (saved)
    setenv("XGRAD_NUM_THREADS", before.c_str(), 1);
  else
    unsetenv("XGRAD_NUM_THREADS");
}

namespace {
// Runs the xgrad program; returns its exit status and what it printed on stdout and stderr.
int run_cli(const std::string& args, std::string& output) {
  return test::run_command("'" + test::cli_path() + "' " + args, output);
}
}  // namespace

TEST_CASE("xgrad bench rejects bad thread counts, repeats and model names with a clear message") {
  std::string out;
  CHECK(run_cli("bench --no-torch --threads 0", out) != 0);
  CHECK(out.find("xgrad: error: --threads: expected counts in [1, 256], found 0") != std::string::npos);
  CHECK(run_cli("bench --no-torch --threads 1,x", out) != 0);
  CHECK(out.find("--threads") != std::string::npos);
  CHECK(run_cli("bench --no-torch --repeats 0", out) != 0);
  CHECK(out.find("--repeats") != std::string::npos);
  CHECK(run_cli("bench --no-torch --models lenet,nosuch", out) != 0);
  CHECK(out.find("--models: no model named \"nosuch\"") != std::string::npos);
  // A tree without the model zoo (a build elsewhere, or a wrong --root): a message, not a crash.
  CHECK(run_cli("bench --no-torch --root no-such-tree", out) != 0);
  CHECK(out.find("xgrad: error: no model zoo in no-such-tree/models/zoo") != std::string::npos);
}

// A user's own model file: other input names, float targets, no conv at all.
TEST_CASE("xgrad bench measures a model file of the user's and refuses one it cannot feed") {
  test::TempDir dir;
  GraphBuilder b("regression");
  Value x = b.input("features", {-1, 6});
  Value t = b.input("target", {-1, 2});
  Value y = layers::dense(b, "fc", b.tanh(layers::dense(b, "hidden", x, 8)), 2);
  b.output("logits", y);
  b.output("loss", b.mse(y, t));
  const std::string path = dir.path("regression.json");
  save_model(path, b.finish(), nullptr, nlohmann::json::object());
  std::string out;
  REQUIRE(run_cli("bench --no-torch --threads 1 --repeats 1 --steps 4 --models " + path, out) == 0);
  CHECK(out.find("regression (batch 64, sgd") != std::string::npos);
  CHECK(out.find("hidden       matmul") != std::string::npos);  // the per-node table

  GraphBuilder b3("three-inputs");
  Value a = b3.input("a", {-1, 2});
  Value c = b3.input("c", {-1, 2});
  Value target = b3.input("target", {-1, 2});
  b3.output("loss", b3.mse(b3.add(a, c), target));
  const std::string bad = dir.path("three.json");
  save_model(bad, b3.finish(), nullptr, nlohmann::json::object());
  CHECK(run_cli("bench --no-torch --threads 1 --repeats 1 --models " + bad, out) != 0);
  CHECK(out.find("needs one data input, one label input") != std::string::npos);
  CHECK(run_cli("bench --no-torch --models " + dir.path("missing.json"), out) != 0);
  CHECK(out.find("no model named") != std::string::npos);
}
