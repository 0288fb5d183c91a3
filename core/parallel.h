#pragma once
// A small thread pool for the ops. Work is split statically: with T threads, thread t runs tasks
// [t*n/T, (t+1)*n/T), so which thread does what never depends on timing. Ops that reduce (weight
// gradients) make their own partial sums per fixed chunk of the batch and add them in chunk order,
// so their results do not depend on the thread count either.
#include <cstdint>
#include <functional>

namespace xgrad {

// Threads used by the ops (>= 1; values above the core count are allowed). Also pins OpenBLAS to
// one thread: the pool splits the batch, and nested BLAS threads would only contend with it.
void set_num_threads(int n);
int num_threads();

// Runs f(begin, end) over a static split of [0, tasks) and returns when every part is done. Called
// from inside a parallel region (or with one thread or one task) it runs f(0, tasks) inline.
// The first exception thrown by a part is rethrown here.
void parallel_for(int64_t tasks, const std::function<void(int64_t begin, int64_t end)>& f);

}  // namespace xgrad
