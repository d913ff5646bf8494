#pragma once
// The processes of a data-parallel run and the collectives they need, over MPI (Open MPI
// from Debian; `mpirun -np N slm pretrain ...`). A program started without a launcher is
// a world of one, and every collective is then a no-op, so single-process code calls the
// same functions without a branch.
//
// Every blocking collective here waits at most the set_timeout() seconds: a rank that died or
// hangs makes the others stop with an error naming the collective, instead of waiting
// for ever (MPI itself has no timeouts).
#include <cstdint>
#include <memory>
#include <string>

namespace slm::dist {

// This process's place in the world. The first call initialises MPI when the program was
// started by an MPI launcher (mpirun, srun: their environment variables say so).
int rank();
int world_size();
inline bool is_root() { return rank() == 0; }
// True in a run of several ranks that has started (never throws: for error handlers).
bool in_parallel_run() noexcept;

// Seconds a collective may wait for the slowest rank before the run is aborted.
void set_timeout(double seconds);

// Sums n values over all ranks, in place; every rank ends with the same sums. The order of
// the additions is MPI's (fast, not bit-reproducible across world sizes).
void allreduce_sum(float* x, int64_t n, const char* what);
void allreduce_sum(double* x, int64_t n, const char* what);
// The same sums in a fixed order: rank 0's values, plus rank 1's, plus rank 2's, ... one
// rank after the other (a chain), then sent to all. Slower (N - 1 hops), but a rank that
// sums its own micro-batches the same way gives bit-for-bit the sums of one process that
// ran all of them: the deterministic mode of training.
void chain_sum(float* x, int64_t n, const char* what);
void chain_sum(double* x, int64_t n, const char* what);

// ZeRO-1. The flat vector of n values is cut into world_size() shards (shard_range).
// reduce_scatter_sum: rank r ends with the sums of its shard in x[lo, hi) (the rest of x is
// scratch). allgather: every rank's shard x[lo, hi) is copied to all, so x is whole again.
struct Range {
  int64_t lo = 0, hi = 0;
  int64_t size() const { return hi - lo; }
};
Range shard_range(int64_t n, int r);
void reduce_scatter_sum(float* x, int64_t n, const char* what);
void allgather(float* x, int64_t n, const char* what);
// Rank 0 receives every rank's shard (shard: this rank's shard_range(n, rank) values) into
// whole[0, n); the other ranks' `whole` is not touched (a checkpoint: only rank 0 holds it all).
void gather_shards(const float* shard, float* whole, int64_t n, const char* what);
// The reverse: rank 0's whole[0, n) is cut into the ranks' shards (a resume under ZeRO-1).
void scatter_shards(const float* whole, float* shard, int64_t n, const char* what);

// Sums started one piece at a time and finished together, as DDP's gradient buckets:
// training starts each layer's gradient sum when the backward pass has finished that layer,
// so the transfer runs while the layers below are computed. Every rank must start the
// same pieces in the same order. MPI moves data only inside its calls, so poll() between
// pieces of work drives the transfers; finish() waits for all (at most the timeout).
class OverlappedSums {
 public:
  explicit OverlappedSums(const char* what);
  ~OverlappedSums();  // finishes what is still in flight: the buffers must outlive it
  OverlappedSums(const OverlappedSums&) = delete;
  OverlappedSums& operator=(const OverlappedSums&) = delete;
  void start(float* x, int64_t n);
  void poll();
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The largest of one value over all ranks (a stop request, a flag).
int allreduce_max(int v, const char* what);
// Copies root's n bytes to every rank.
void broadcast(void* data, int64_t bytes, int root, const char* what);

// Seconds this rank has spent waiting in collectives so far (communication, and waiting
// for slower ranks): the benchmark's communication share of a step.
double collective_seconds();

// Stops every process of the run: prints why (with this rank) and ends the job.
[[noreturn]] void abort_all(const std::string& why);

}  // namespace slm::dist
