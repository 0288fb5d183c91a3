#include "core/parallel.h"

#include <cblas.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace xgrad {
namespace {

thread_local bool in_region = false;

// Workers spin briefly after a job (ops follow each other within microseconds during a step),
// then sleep on a condition variable so an idle pool costs no CPU.
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
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
      error_ = nullptr;
      pending_.store(threads_ - 1);
      ++generation_;
    }
    wake_.notify_all();
    part(0);
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void part(int t) {
    const int64_t begin = tasks_ * t / threads_, end = tasks_ * (t + 1) / threads_;
    if (begin >= end) return;
    in_region = true;
    try {
      (*job_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    in_region = false;
  }

  void work(int t) {
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
      part(t);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t tasks_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

std::unique_ptr<Pool>& pool() {
  static std::unique_ptr<Pool> p;
  return p;
}

}  // namespace

void set_num_threads(int n) {
  n = n < 1 ? 1 : n;
  openblas_set_num_threads(1);
  if (pool() && pool()->threads() == n) return;
  pool().reset();
  if (n > 1) pool() = std::make_unique<Pool>(n);
}

int num_threads() { return pool() ? pool()->threads() : 1; }

void parallel_for(int64_t tasks, const std::function<void(int64_t, int64_t)>& f) {
  if (tasks <= 0) return;
  if (!pool() || tasks == 1 || in_region) {
    f(0, tasks);
    return;
  }
  pool()->run(tasks, f);
}

}  // namespace xgrad
