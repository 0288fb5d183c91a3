// Data-parallel training's parts that need no MPI: shards of a global batch, fingerprints, the
// start-up agreement check and the error policy of run_on_rank, with a scripted Communicator.
#include <doctest/doctest.h>

#include <set>

#include "graph/builder.h"
#include "graph/distributed.h"
#include "graph/engine.h"
#include "graph/train.h"

using namespace xgrad;

namespace {

// Rank `rank` of a world whose other ranks hold `others` (per rank, for allgather); allreduce adds
// nothing, abort throws JobAborted so the test sees it.
struct JobAborted {
  int status;
};
class ScriptedWorld final : public Communicator {
 public:
  ScriptedWorld(int rank, std::vector<std::vector<uint64_t>> values)
      : rank_(rank), values_(std::move(values)) {}
  int rank() const override { return rank_; }
  int size() const override { return int(values_.size()); }
  int local_size() const override { return size(); }
  void allreduce_sum(float*, size_t) override {}
  // Call k answers with every rank's k-th scripted vector, this rank's own values in its place.
  std::vector<uint64_t> allgather(const std::vector<uint64_t>& mine) override {
    std::vector<uint64_t> all;
    for (int r = 0; r < size(); ++r) {
      const std::vector<uint64_t> v = r == rank_ ? mine : script(r, mine.size());
      all.insert(all.end(), v.begin(), v.end());
    }
    ++calls_;
    return all;
  }
  [[noreturn]] void abort(int status) override { throw JobAborted{status}; }

 private:
  // The first allgather of check_same_run sends the part count, the second the hashes.
  std::vector<uint64_t> script(int r, size_t n) const {
    if (calls_ == 0) return {values_[size_t(r)].size()};
    REQUIRE(values_[size_t(r)].size() == n);
    return values_[size_t(r)];
  }
  int rank_;
  std::vector<std::vector<uint64_t>> values_;
  int calls_ = 0;
};

}  // namespace

TEST_CASE("shard_of splits a global batch into contiguous shards that differ by at most one") {
  CHECK(shard_of(10, 25, 0, 2).start == 10);
  CHECK(shard_of(10, 25, 0, 2).count == 13);
  CHECK(shard_of(10, 25, 1, 2).start == 23);
  CHECK(shard_of(10, 25, 1, 2).count == 12);
  CHECK(shard_of(0, 1, 1, 2).count == 0);  // fewer samples than ranks: a rank gets none
  for (int ranks = 1; ranks <= 5; ++ranks)
    for (size_t count = 0; count <= 23; ++count) {
      size_t next = 7, smallest = count, largest = 0;
      for (int r = 0; r < ranks; ++r) {
        const Shard s = shard_of(7, count, r, ranks);
        CHECK(s.start == next);
        next += s.count;
        smallest = std::min(smallest, s.count), largest = std::max(largest, s.count);
      }
      CHECK(next == 7 + count);
      CHECK(largest - smallest <= 1);
    }
  CHECK_THROWS_AS(shard_of(0, 4, 2, 2), Error);
  CHECK_THROWS_AS(shard_of(0, 4, 0, 0), Error);
}

TEST_CASE("fingerprint tells different bytes, lengths and data sets apart") {
  std::set<uint64_t> seen;
  const std::string texts[] = {"",   std::string(1, '\0'),   "a",        "b",        "ab",
                               "ba", std::string("ab\0", 3), "abcdefgh", "abcdefgi", "abcdefghi"};
  for (const std::string& t : texts) seen.insert(fingerprint(t));
  CHECK(seen.size() == std::size(texts));
  CHECK(fingerprint("model") == fingerprint("model"));
  CHECK(fingerprint("x", 1) != fingerprint("x", 2));

  auto source = [](float value, size_t n) {
    return BatchSource{
        n, [value](const std::vector<uint32_t>& order, size_t start, size_t count, Tensor& x, Tensor& y) {
          x = make_tensor({int64_t(count), 2}, value);
          y = make_tensor({int64_t(count)});
          for (size_t i = 0; i < count; ++i) x(i, 0) = float(order[start + i]);
        }};
  };
  CHECK(fingerprint(source(1, 300)) == fingerprint(source(1, 300)));
  CHECK(fingerprint(source(1, 300)) != fingerprint(source(2, 300)));
  CHECK(fingerprint(source(1, 300)) != fingerprint(source(1, 299)));
}

TEST_CASE("check_same_run names the first part and rank that differ, on every rank") {
  const std::vector<std::pair<std::string, uint64_t>> parts = {
      {"model", 1}, {"training data", 2}, {"seed", 3}};
  for (int rank : {0, 1, 2}) {
    ScriptedWorld same(rank, {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}});
    CHECK_NOTHROW(check_same_run(same, parts));
    ScriptedWorld differ(rank, {{1, 2, 3}, {1, 2, 3}, {1, 5, 4}});
    std::vector<std::pair<std::string, uint64_t>> mine = parts;
    if (rank == 2) mine = {{"model", 1}, {"training data", 5}, {"seed", 4}};
    CHECK_THROWS_WITH_AS(check_same_run(differ, mine),
                         doctest::Contains("rank 2 has a different training data than rank 0"),
                         CollectiveError);
    ScriptedWorld fewer(rank, {{1, 2, 3}, {1, 2}, {1, 2, 3}});
    if (rank != 1)
      CHECK_THROWS_WITH_AS(check_same_run(fewer, parts), doctest::Contains("rank 1"), CollectiveError);
  }
}

TEST_CASE("run_on_rank: a collective error is reported by rank 0 only, a lone failure aborts the job") {
  for (int rank : {0, 1}) {
    ScriptedWorld world(rank, {{}, {}});
    std::vector<std::string> reports;
    auto report = [&](const std::string& m) { reports.push_back(m); };
    CHECK(run_on_rank(
              world, [] {}, report) == 0);
    CHECK(run_on_rank(
              world, [] { throw CollectiveError("the ranks disagree"); }, report) == 1);
    CHECK(reports.size() == (rank == 0 ? 1u : 0u));
    reports.clear();
    try {
      run_on_rank(
          world, [] { throw Error("disk full"); }, report);
      FAIL("a failure of one rank must abort the job");
    } catch (const JobAborted& a) {
      CHECK(a.status == 1);
    }
    REQUIRE(reports.size() == 1);
    CHECK(reports[0] == "rank " + std::to_string(rank) + " of 2: disk full");
  }
  ScriptedWorld alone(0, {{}});  // one process: report and return, nothing to abort
  std::string reported;
  CHECK(run_on_rank(
            alone, [] { throw Error("bad file"); }, [&](const std::string& m) { reported = m; }) == 1);
  CHECK(reported == "bad file");
}

TEST_CASE("a shard's dropout masks are the whole batch's masks of its samples") {
  GraphBuilder b("drop");
  const int id = b.dropout(b.input("x", {-1, 3, 2}), 0.5).id;
  const Graph g = b.finish();
  Feeds whole{{"x", make_tensor({5, 3, 2}, 1.0f)}}, shard{{"x", make_tensor({2, 3, 2}, 1.0f)}};
  Engine full(g), part(g);
  ForwardOptions options = ForwardOptions::training(7, 3);
  full.forward(whole, {}, options);
  options.sample_offset = 2;  // samples 2 and 3 of the batch
  part.forward(shard, {}, options);
  const Tensor& y = full.value(id);
  const Tensor& ys = part.value(id);
  CHECK(std::equal(ys.data(), ys.data() + ys.size(), y.data() + 2 * 6));
  CHECK(!std::equal(ys.data(), ys.data() + ys.size(), y.data()));  // not simply the first samples' masks
}

TEST_CASE("a build without MPI says how to get --distributed") {
  if (mpi_available()) {
    MESSAGE("skipped: this build has MPI (the message is for builds without it)");
    return;
  }
  CHECK_THROWS_WITH_AS(mpi_world(), doctest::Contains("xgrad was built without MPI"), Error);
}
