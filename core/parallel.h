#pragma once
// A small thread pool for the ops. Work is cut into fixed grains: with T threads, [0, n) becomes
// G = min(n, 4T) grains [g*n/G, (g+1)*n/G). Thread t runs its own share of them first (the same
// part of the batch in every op, for its cache), then takes grains left in the others' shares, so
// a thread slowed down by another process on its core does not hold up the rest. The ranges f sees depend
// only on n and T; which thread runs which does not matter, because f never keeps per-thread state.
// Ops that reduce (weight gradients) make their own partial sums per fixed chunk of the batch and
// add them in chunk order, so their results do not depend on the thread count either.
#include <cstdint>
#include <functional>

namespace xgrad {

// Threads used by the ops (below 1 means 1; values above the core count are allowed). Also pins
// OpenBLAS to one thread: the pool splits the batch, and nested BLAS threads would only contend
// with it. Until it is called, the first op (or num_threads()) sets default_num_threads().
void set_num_threads(int n);
int num_threads();
// $XGRAD_NUM_THREADS when set (a positive integer, else Error), otherwise the CPUs this process may
// run on (its affinity mask, as `nproc` counts them).
int default_num_threads();

// Which of the pool's threads runs the caller: 0 to num_threads() - 1, and 0 outside the pool's
// threads. One grain runs on a thread at a time, so ops index per-worker scratch by it (a single
// buffer at one thread, where one per grain spread a step over more cache than it had). Nothing that
// decides a result may depend on it.
int worker_index();
// Runs f(begin, end) on every grain of [0, tasks) and returns when all are done. Called
// from inside a parallel region (or with one thread or one task) it runs f(0, tasks) inline.
// The first exception thrown by a part is rethrown here.
void parallel_for(int64_t tasks, const std::function<void(int64_t begin, int64_t end)>& f);

}  // namespace xgrad
