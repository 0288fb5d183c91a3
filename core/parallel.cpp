#include "core/parallel.h"

#include <cblas.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"

namespace xgrad {
namespace {

thread_local bool in_region = false;
thread_local int worker = 0;  // worker_index(): the pool's thread t, set once when it starts

// Grains per thread: enough that a thread slowed down by another process on its core leaves most
// of the work to the others, few enough that taking a grain stays cheap.
constexpr int kGrainsPerThread = 4;

// Thread t first takes its own grains [G*t/T, G*(t+1)/T) (the same part of the batch in every op,
// so the data it wrote is still in its cache), then takes what is left of the others'.
struct alignas(64) Cursor {
  std::atomic<int64_t> next{0};
  int64_t end = 0;
};

// Workers spin briefly after a job (ops follow each other within microseconds during a step),
// then sleep on a condition variable so an idle pool costs no CPU. The caller waits for the job's
// grains, not for every worker: a worker that has not woken yet (its core taken by another
// process) is shut out of the finished job instead of waited for, so one busy core does not stall
// every op for a time slice.
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads), cursors_(new Cursor[size_t(threads)]) {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { work(t); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      ++generation_;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int threads() const { return threads_; }
  void run(int64_t tasks, const std::function<void(int64_t, int64_t)>& f) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &f;
      tasks_ = tasks;
      grains_ = std::min<int64_t>(tasks, int64_t(kGrainsPerThread) * threads_);
      for (int t = 0; t < threads_; ++t) {
        cursors_[t].next.store(grains_ * t / threads_);
        cursors_[t].end = grains_ * (t + 1) / threads_;
      }
      error_ = nullptr;
      done_.store(0);
      const uint64_t generation = ++generation_;
      state_.store(generation << kGenerationShift);  // open, no worker inside
    }
    wake_.notify_all();
    part(0);
    while (done_.load(std::memory_order_acquire) != grains_) std::this_thread::yield();
    // Shut the job: no worker enters from now on; wait for those inside (past their last grain).
    state_.fetch_or(kClosed, std::memory_order_acq_rel);
    while ((state_.load(std::memory_order_acquire) & kInsideMask) != 0) std::this_thread::yield();
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // state_: the job's generation (high bits), whether it is shut, and the workers inside it.
  static constexpr int kGenerationShift = 32;
  static constexpr uint64_t kClosed = uint64_t(1) << 31, kInsideMask = kClosed - 1;

  // Takes grains, its own first, until none is left, counting each one done; after an error the
  // rest are skipped (and counted).
  void part(int t) {
    in_region = true;
    for (int k = 0; k < threads_; ++k) {
      Cursor& c = cursors_[(t + k) % threads_];
      for (int64_t g; (g = c.next.fetch_add(1, std::memory_order_relaxed)) < c.end;) {
        try {
          (*job_)(tasks_ * g / grains_, tasks_ * (g + 1) / grains_);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex_);
          if (!error_) error_ = std::current_exception();
          for (int u = 0; u < threads_; ++u) {
            const int64_t skipped = cursors_[u].end - cursors_[u].next.exchange(cursors_[u].end);
            if (skipped > 0) done_.fetch_add(skipped, std::memory_order_relaxed);
          }
        }
        done_.fetch_add(1, std::memory_order_release);
      }
    }
    in_region = false;
  }
  // Joins job `generation` unless it is shut or already replaced.
  bool enter(uint64_t generation) {
    uint64_t s = state_.load(std::memory_order_acquire);
    do {
      if ((s >> kGenerationShift) != (generation & 0xffffffffu) || (s & kClosed)) return false;
    } while (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire));
    return true;
  }
  void work(int t) {
    worker = t;
    uint64_t seen = 0;
    for (;;) {
      for (int spin = 0; spin < 5000 && generation_.load(std::memory_order_acquire) == seen; ++spin)
        std::this_thread::yield();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (stop_) return;
      }
      if (!enter(seen)) continue;
      part(t);
      state_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> state_{0};
  std::atomic<int64_t> done_{0};  // grains of the job finished (or skipped after an error)
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t tasks_ = 0, grains_ = 0;
  std::unique_ptr<Cursor[]> cursors_;
  std::exception_ptr error_;
  bool stop_ = false;
};

bool configured = false;  // set_num_threads has run (explicitly or with the default)

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> p;
  if (!configured) set_num_threads(default_num_threads());
  return p;
}

int machine_threads() {
#ifdef __linux__
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

int default_num_threads() {
  const char* env = std::getenv("XGRAD_NUM_THREADS");
  if (!env || !*env) return machine_threads();
  char* end = nullptr;
  const long n = std::strtol(env, &end, 10);
  if (*end != '\0' || n < 1 || n > 4096)
    throw Error(std::string("XGRAD_NUM_THREADS: expected a number of threads in [1, 4096], found \"") + env +
                "\"");
  return int(n);
}

void set_num_threads(int n) {
  n = n < 1 ? 1 : n;
  configured = true;
  openblas_set_num_threads(1);
  std::unique_ptr<Pool>& p = pool();
  if (p && p->threads() == n) return;
  p.reset();
  if (n > 1) p = std::make_unique<Pool>(n);
}

int num_threads() { return pool() ? pool()->threads() : 1; }

int worker_index() { return worker; }

void parallel_for(int64_t tasks, const std::function<void(int64_t, int64_t)>& f) {
  if (tasks <= 0) return;
  if (!pool() || tasks == 1 || in_region) {
    f(0, tasks);
    return;
  }
  pool()->run(tasks, f);
}

}  // namespace xgrad
