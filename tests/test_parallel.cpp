// The thread pool: every task runs exactly once, the split is static, errors come back to the
// caller, and nested regions run inline.
#include <doctest/doctest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/parallel.h"

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

TEST_CASE("the split is static: part t of T threads gets [t*n/T, (t+1)*n/T)") {
  Threads t(3);
  std::vector<int64_t> begins(3, -1), ends(3, -1);
  parallel_for(10, [&](int64_t b, int64_t e) {
    const size_t part = b == 0 ? 0 : b == 3 ? 1 : 2;
    begins[part] = b, ends[part] = e;
  });
  CHECK(begins == std::vector<int64_t>{0, 3, 6});
  CHECK(ends == std::vector<int64_t>{3, 6, 10});
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

TEST_CASE("thread counts below one mean one") {
  Threads t(0);
  CHECK(num_threads() == 1);
}
