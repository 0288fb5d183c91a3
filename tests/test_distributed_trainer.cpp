// The Trainer's data-parallel path in one process, without MPI: a world of one trains bit for bit
// like no world at all (gradients, running statistics and metrics through the one-buffer sum), an
// empty shard is harmless, and verify_every stops a run whose ranks hold different weights.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "graph/builder.h"
#include "graph/distributed.h"
#include "graph/step_reducer.h"
#include "graph/train.h"

using namespace xgrad;

namespace {

// Rank `rank` of `size`, alone in fact: the sum adds nothing from other ranks, and allgather says
// every other rank holds `peer_value`.
class LoneWorld final : public Communicator {
 public:
  LoneWorld(int rank, int size, uint64_t peer_value = 0) : rank_(rank), size_(size), peer_(peer_value) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return size_; }
  void allreduce_sum(float*, size_t) override {}
  std::vector<uint64_t> allgather(const std::vector<uint64_t>& mine) override {
    std::vector<uint64_t> all;
    for (int r = 0; r < size_; ++r)
      for (uint64_t v : mine) all.push_back(r == rank_ ? v : peer_);
    return all;
  }
  [[noreturn]] void abort(int) override { throw std::logic_error("abort"); }

 private:
  int rank_, size_;
  uint64_t peer_;
};

// Dense, batch norm, dropout, dense: params, states and masks all take part.
Graph distributed_bn_net() {
  GraphBuilder b("small");
  Value h = layers::dense(b, "fc1", b.input("image", {-1, 6}), 5);
  h = b.dropout(b.relu(layers::batch_norm(b, "bn", h)), 0.3);
  Value logits = layers::dense(b, "fc2", h, 3);
  b.output("logits", logits);
  b.output("loss", b.softmax_cross_entropy(logits, b.input("label", {-1}, DType::Int32)));
  return b.finish();
}

BatchSource sine_samples(size_t n) {
  return {n, [](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& x, Tensor& y) {
            x = make_tensor({int64_t(count), 6});
            y = make_tensor({int64_t(count)});
            for (size_t i = 0; i < count; ++i) {
              const uint32_t s = order[start + i];
              for (size_t j = 0; j < 6; ++j) x(i, j) = float(std::sin(double(s * 7 + j)));
              y(i) = float(s % 3);
            }
          }};
}

TrainConfig small_config() {
  TrainConfig c;
  c.epochs = 2, c.batch = 5, c.seed = 4;
  c.optim.lr = 0.1, c.optim.momentum = 0.9;
  return c;
}

bool same_weight_bits(const Params& a, const Params& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, t] : a)
    if (t.size() != b.at(name).size() || std::memcmp(t.data(), b.at(name).data(), t.size() * 4) != 0)
      return false;
  return true;
}

}  // namespace

TEST_CASE("a distributed trainer in a world of one trains bit for bit like a plain one") {
  const Graph g = distributed_bn_net();
  const BatchSource data = sine_samples(23);  // 4 steps of 5 and one of 3 per epoch
  Rng rng(1);
  const Params start = init_params(g, rng);
  Params plain = start, distributed = start;
  Trainer a(g, plain, small_config());
  REQUIRE(a.run(data, nullptr));
  LoneWorld one(0, 1);
  Trainer b(g, distributed, small_config());
  b.distribute(one);
  CHECK(b.lead());
  REQUIRE(b.run(data, nullptr));
  CHECK(same_weight_bits(plain, distributed));
  CHECK(plain.at("bn.mean")(0) != start.at("bn.mean")(0));  // the running statistics did change
  CHECK(a.progress().metric_sum == b.progress().metric_sum);
  CHECK(std::abs(a.progress().history.back().train_loss - b.progress().history.back().train_loss) < 1e-6);
  const ReduceStats& stats = *b.reduce_stats();
  CHECK(stats.steps == 10);
  const size_t values = 6 * 5 + 5 + 5 * 3 + 3 + 2 * 5 + 2 * 5;  // fc1, fc2, bn gamma/beta, bn mean/var
  CHECK(stats.floats == values + 8 + 3);  // + a flag per param and state (8) + 3 metrics
  CHECK(a.reduce_stats() == nullptr);
}

TEST_CASE("a rank whose shard is empty takes the step with the others") {
  const Graph g = distributed_bn_net();
  Rng rng(1);
  Params weights = init_params(g, rng);
  LoneWorld world(1, 2);
  Trainer t(g, weights, small_config());
  t.distribute(world);
  CHECK(!t.lead());
  CHECK(t.run(sine_samples(21), nullptr));  // every epoch ends with a step of 1 sample: rank 1 gets none
  CHECK(t.progress().step == 10);
}

TEST_CASE("verify_every stops a run whose ranks hold different weights") {
  const Graph g = distributed_bn_net();
  Rng rng(1);
  Params weights = init_params(g, rng);
  LoneWorld world(0, 2, 12345);  // rank 1 reports other weights
  Trainer t(g, weights, small_config());
  t.distribute(world, 2);
  CHECK_THROWS_WITH_AS(t.run(sine_samples(23), nullptr),
                       "after step 2 the weights of rank 1 differ from rank 0's: the ranks' sums disagree",
                       CollectiveError);
  CHECK_THROWS_AS(t.distribute(world, -1), Error);
}
