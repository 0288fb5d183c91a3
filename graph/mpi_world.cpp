// The Open MPI side of graph/distributed.h, the one file that includes <mpi.h>. CMake compiles it
// with XGRAD_WITH_MPI when its XGRAD_MPI option is on; otherwise graph/mpi_unavailable.cpp stands in.
#ifdef XGRAD_WITH_MPI
#include <mpi.h>

#include <algorithm>
#include <cstdlib>

#include "graph/distributed.h"

namespace xgrad {
namespace {

// MPI_COMM_WORLD keeps MPI's default error handler (errors are fatal to the whole job), so a
// failed call aborts every rank instead of leaving some of them waiting.
class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int provided = 0;  // only the main thread calls MPI; the ops' thread pool never does
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
  ~MpiWorld() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void allreduce_sum(float* data, size_t n) override {
    constexpr size_t kMaxCount = size_t(1) << 30;  // MPI counts are int
    for (size_t i = 0; i < n; i += kMaxCount)
      MPI_Allreduce(MPI_IN_PLACE, data + i, int(std::min(kMaxCount, n - i)), MPI_FLOAT, MPI_SUM,
                    MPI_COMM_WORLD);
  }

  std::vector<uint64_t> allgather(const std::vector<uint64_t>& values) override {
    std::vector<uint64_t> all(values.size() * size_t(size_));
    MPI_Allgather(values.data(), int(values.size()), MPI_UINT64_T, all.data(), int(values.size()),
                  MPI_UINT64_T, MPI_COMM_WORLD);
    return all;
  }

  [[noreturn]] void abort(int status) override {
    MPI_Abort(MPI_COMM_WORLD, status);
    std::_Exit(status);  // MPI_Abort does not return; this tells the compiler so
  }

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace

bool mpi_available() { return true; }

Communicator& mpi_world() {
  static MpiWorld world;  // finalised by static destruction, at exit() or the end of main()
  return world;
}

}  // namespace xgrad
#endif
