#pragma once
// Data-parallel training across processes ("ranks", started by `mpirun`): every rank holds the whole
// model, draws the same global sample order from the seed and trains on its shard of each global
// batch; one element-wise sum over the ranks per step (graph/step_reducer.h) gives every rank the
// same gradient, so the weights stay bit-identical on all ranks. This file needs no MPI:
// Communicator is the seam, mpi_world() (graph/mpi_world.cpp) its Open MPI implementation.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace xgrad {

struct BatchSource;  // graph/train.h

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;  // ranks on this machine, sharing its cores
  // Element-wise sum over the ranks, in place. Every rank receives the same bits.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  // Every rank's `values` (the same count on each), rank after rank.
  virtual std::vector<uint64_t> allgather(const std::vector<uint64_t>& values) = 0;
  // Ends every rank of the job at once: a rank that failed alone must not leave the others waiting.
  [[noreturn]] virtual void abort(int status) = 0;
};

// Whether this build has Open MPI (CMake option XGRAD_MPI).
bool mpi_available();
// The ranks of the job this process belongs to (`mpirun -np N`; a world of one without mpirun).
// MPI is initialised on the first call and finalised at exit. Throws Error when built without MPI.
Communicator& mpi_world();

// Threads for the ops of one rank: the cores mpirun bound the rank to
// (`--map-by socket:PE=8` gives 8), at most this machine's cores divided by the ranks on it.
int threads_per_rank(const Communicator& comm);

// An error that every rank throws alike (found from reduced values or an agreement check), so
// rank 0 reports it and the others end quietly.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// Rank `rank`'s contiguous part of the `count` samples from `start`: sizes differ by at most one,
// lower ranks take the extra ones, and a rank gets none when count < ranks.
struct Shard {
  size_t start = 0, count = 0;
};
Shard shard_of(size_t start, size_t count, int rank, int ranks);

// A 64-bit hash of bytes, chained through `h` (not cryptographic: it tells copies apart).
uint64_t fingerprint(const void* data, size_t bytes, uint64_t h = 0);
uint64_t fingerprint(const std::string& text, uint64_t h = 0);
// Every sample and label of `data` in order, as the trainer would be fed them.
uint64_t fingerprint(const BatchSource& data);

// Throws CollectiveError on every rank unless all ranks hold the same hash for each named part
// ({"model file", h}, {"data", h}, ...); the message names the first part and rank that differ.
void check_same_run(Communicator& comm, const std::vector<std::pair<std::string, uint64_t>>& parts);

// Runs `body` as this rank's part of a job (every rank calls it). Returns 0 when it returns. A
// CollectiveError goes to `report` on rank 0 only and returns 1 on every rank. Any other error is
// a failure of this rank alone: `report` gets it with "rank R of N: " in front, and the whole job
// is aborted, since the other ranks would wait for this one forever.
int run_on_rank(Communicator& comm, const std::function<void()>& body,
                const std::function<void(const std::string&)>& report);

}  // namespace xgrad
