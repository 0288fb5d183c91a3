#include "graph/distributed.h"

#include <cstring>
#include <numeric>
#include <thread>

#include "core/hash.h"
#include "core/parallel.h"

#include "graph/train.h"

namespace xgrad {
namespace {

uint64_t tensor_fingerprint(const Tensor& t, uint64_t h) {
  for (size_t d : t.shape()) h = mix64(h ^ d);
  return fingerprint(t.data(), t.size() * sizeof(float), h);
}

}  // namespace

int threads_per_rank(const Communicator& comm) {
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, std::min(default_num_threads(), cores / std::max(1, comm.local_size())));
}

Shard shard_of(size_t start, size_t count, int rank, int ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks)
    throw Error("shard_of: rank " + std::to_string(rank) + " of " + std::to_string(ranks));
  const size_t n = size_t(ranks), r = size_t(rank), base = count / n, extra = count % n;
  return {start + r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

uint64_t fingerprint(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  h = mix64(h ^ bytes);
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {  // a word at a time: hashing the data set takes ~0.1 s
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = mix64(h ^ word);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, bytes - i);
  return mix64(h ^ tail);
}

uint64_t fingerprint(const std::string& text, uint64_t h) { return fingerprint(text.data(), text.size(), h); }

uint64_t fingerprint(const BatchSource& data) {
  constexpr size_t kChunk = 256;
  std::vector<uint32_t> order(data.size);
  std::iota(order.begin(), order.end(), 0u);
  uint64_t h = mix64(data.size);
  Tensor images, labels;
  for (size_t start = 0; start < data.size; start += kChunk) {
    data.batch(order, start, std::min(kChunk, data.size - start), images, labels);
    h = tensor_fingerprint(labels, tensor_fingerprint(images, h));
  }
  return h;
}

void check_same_run(Communicator& comm, const std::vector<std::pair<std::string, uint64_t>>& parts) {
  // The part count first: an allgather of unequal lengths would be an MPI error, not a message.
  const std::vector<uint64_t> counts = comm.allgather({parts.size()});
  for (int r = 1; r < comm.size(); ++r)
    if (counts[size_t(r)] != counts[0])
      throw CollectiveError("rank " + std::to_string(r) +
                            " checks a different set of run settings than rank 0: run the same xgrad "
                            "version on every rank");
  std::vector<uint64_t> mine;
  for (const auto& part : parts) mine.push_back(part.second);
  const std::vector<uint64_t> all = comm.allgather(mine);
  for (size_t i = 0; i < parts.size(); ++i)
    for (int r = 1; r < comm.size(); ++r)
      if (all[size_t(r) * parts.size() + i] != all[i])
        throw CollectiveError("the ranks disagree: rank " + std::to_string(r) + " has a different " +
                              parts[i].first +
                              " than rank 0 (every rank must run the same xgrad version "
                              "with the same model file, data, seed and options)");
}

int run_on_rank(Communicator& comm, const std::function<void()>& body,
                const std::function<void(const std::string&)>& report) {
  try {
    body();
    return 0;
  } catch (const CollectiveError& e) {
    if (comm.rank() == 0) report(e.what());
    return 1;
  } catch (const std::exception& e) {
    if (comm.size() == 1) {
      report(e.what());
      return 1;
    }
    report("rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) + ": " + e.what());
    comm.abort(1);
  }
  return 1;  // not reached: abort() ends the process
}

}  // namespace xgrad
