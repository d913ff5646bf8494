#include "slm/dist/comm.h"

#include <chrono>
#include <algorithm>
#include <climits>
#include <cstdlib>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "slm/util/error.h"

#ifdef SLM_HAVE_MPI
// The C API only: Open MPI's old C++ bindings would need their own library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace slm::dist {

namespace {

double g_timeout = 300;
double g_collective_s = 0;

// Set by an MPI launcher (Open MPI's mpirun, PMIx launchers such as srun --mpi=pmix, MPICH).
bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

void set_timeout(double seconds) { g_timeout = seconds; }
double collective_seconds() { return g_collective_s; }

#ifdef SLM_HAVE_MPI

namespace {

struct World {
  int rank = 0, size = 1;
  bool mpi = false;
  World() {
    if (!launched_by_mpi()) return;
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    // Errors come back as codes (turned into a clear message and an abort below), not
    // MPI's default abort with its own wording.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    mpi = true;
    std::atexit([] { MPI_Finalize(); });
  }
};

World& world() {
  static World w;
  return w;
}

void check(int rc, const char* call, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  abort_all(fmt::format("{} failed during {}: {}", call, what, std::string(text, size_t(len))));
}

// Waits for a non-blocking collective, at most the timeout. MPI_Test also drives the
// transfer, so polling is how the work gets done; a short sleep after the first spins
// leaves the core to the other threads of this rank.
void wait(MPI_Request& req, const char* what) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int spins = 0;; ++spins) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test", what);
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (done) {
      g_collective_s += waited;
      return;
    }
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    if (waited > g_timeout)
      abort_all(fmt::format("{} did not complete within {:.0f} s (--dist-timeout): another rank died or hangs", what,
                            g_timeout));
  }
}

// MPI counts are ints: long vectors go in pieces.
constexpr int64_t kPiece = int64_t(1) << 30;

template <class T>
MPI_Datatype type_of() {
  return sizeof(T) == 4 ? MPI_FLOAT : MPI_DOUBLE;
}

// Starts the sum over the ranks of x[0, n), in pieces MPI's int counts can hold; their
// requests are appended to `pending`.
template <class T>
void start_sum(T* x, int64_t n, const char* what, std::vector<MPI_Request>& pending) {
  for (int64_t at = 0; at < n; at += kPiece) {
    pending.emplace_back();
    check(MPI_Iallreduce(MPI_IN_PLACE, x + at, int(std::min(kPiece, n - at)), type_of<T>(), MPI_SUM, MPI_COMM_WORLD,
                         &pending.back()),
          "MPI_Iallreduce", what);
  }
}

template <class T>
void allreduce_impl(T* x, int64_t n, const char* what) {
  if (world().size == 1) return;
  std::vector<MPI_Request> pending;
  start_sum(x, n, what, pending);
  for (auto& req : pending) wait(req, what);
}

template <class T>
void send_recv(T* x, int64_t n, int peer, bool send, const char* what) {
  for (int64_t at = 0; at < n; at += kPiece) {
    MPI_Request req;
    const int count = int(std::min(kPiece, n - at));
    if (send)
      check(MPI_Isend(x + at, count, type_of<T>(), peer, 7, MPI_COMM_WORLD, &req), "MPI_Isend", what);
    else
      check(MPI_Irecv(x + at, count, type_of<T>(), peer, 7, MPI_COMM_WORLD, &req), "MPI_Irecv", what);
    wait(req, what);
  }
}

template <class T>
void chain_impl(T* x, int64_t n, const char* what) {
  const int r = world().rank, size = world().size;
  if (size == 1) return;
  // Rank r receives the running sum of ranks 0..r-1, adds its own values and passes it on.
  if (r > 0) {
    std::vector<T> before(size_t(n), T(0));
    send_recv(before.data(), n, r - 1, false, what);
    for (int64_t i = 0; i < n; ++i) x[i] = before[size_t(i)] + x[i];
  }
  if (r + 1 < size) send_recv(x, n, r + 1, true, what);
  broadcast(x, n * int64_t(sizeof(T)), size - 1, what);
}

}  // namespace

int rank() { return world().rank; }
int world_size() { return world().size; }
bool in_parallel_run() noexcept { return world().size > 1; }

void allreduce_sum(float* x, int64_t n, const char* what) { allreduce_impl(x, n, what); }
void allreduce_sum(double* x, int64_t n, const char* what) { allreduce_impl(x, n, what); }
void chain_sum(float* x, int64_t n, const char* what) { chain_impl(x, n, what); }
void chain_sum(double* x, int64_t n, const char* what) { chain_impl(x, n, what); }

namespace {

// Each rank's shard of an n-vector as MPI's counts and displacements.
void shard_layout(int64_t n, std::vector<int>& counts, std::vector<int>& displs, const char* what) {
  if (n > INT_MAX) abort_all(fmt::format("{}: {} values are more than ZeRO-1 over MPI handles here", what, n));
  const int size = world().size;
  counts.assign(size_t(size), 0);
  displs.assign(size_t(size), 0);
  for (int r = 0; r < size; ++r) {
    const Range s = shard_range(n, r);
    counts[size_t(r)] = int(s.size()), displs[size_t(r)] = int(s.lo);
  }
}

}  // namespace

void reduce_scatter_sum(float* x, int64_t n, const char* what) {
  if (world().size == 1) return;
  std::vector<int> counts, displs;
  shard_layout(n, counts, displs, what);
  const Range mine = shard_range(n, world().rank);
  std::vector<float> out(size_t(mine.size()));
  MPI_Request req;
  check(MPI_Ireduce_scatter(x, out.data(), counts.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &req),
        "MPI_Ireduce_scatter", what);
  wait(req, what);
  std::copy(out.begin(), out.end(), x + mine.lo);
}


void allgather(float* x, int64_t n, const char* what) {
  if (world().size == 1) return;
  std::vector<int> counts, displs;
  shard_layout(n, counts, displs, what);
  MPI_Request req;
  check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, x, counts.data(), displs.data(), MPI_FLOAT, MPI_COMM_WORLD, &req),
        "MPI_Iallgatherv", what);
  wait(req, what);
}

void gather_shards(const float* shard, float* whole, int64_t n, const char* what) {
  const Range mine = shard_range(n, world().rank);
  if (world().size == 1) {
    std::copy(shard, shard + mine.size(), whole);
    return;
  }
  std::vector<int> counts, displs;
  shard_layout(n, counts, displs, what);
  MPI_Request req;
  check(MPI_Igatherv(shard, int(mine.size()), MPI_FLOAT, whole, counts.data(), displs.data(), MPI_FLOAT, 0,
                     MPI_COMM_WORLD, &req),
        "MPI_Igatherv", what);
  wait(req, what);
}

void scatter_shards(const float* whole, float* shard, int64_t n, const char* what) {
  const Range mine = shard_range(n, world().rank);
  if (world().size == 1) {
    std::copy(whole, whole + mine.size(), shard);
    return;
  }
  std::vector<int> counts, displs;
  shard_layout(n, counts, displs, what);
  MPI_Request req;
  check(MPI_Iscatterv(whole, counts.data(), displs.data(), MPI_FLOAT, shard, int(mine.size()), MPI_FLOAT, 0,
                      MPI_COMM_WORLD, &req),
        "MPI_Iscatterv", what);
  wait(req, what);
}

struct OverlappedSums::Impl {
  const char* what;
  std::vector<MPI_Request> pending;
};

OverlappedSums::OverlappedSums(const char* what) : impl_(new Impl{what, {}}) {}
OverlappedSums::~OverlappedSums() { finish(); }

void OverlappedSums::start(float* x, int64_t n) {
  if (world().size == 1) return;
  start_sum(x, n, impl_->what, impl_->pending);
}

void OverlappedSums::poll() {
  for (auto& req : impl_->pending) {
    int done = 0;
    if (req != MPI_REQUEST_NULL) check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "MPI_Test", impl_->what);
  }
}

void OverlappedSums::finish() {
  for (auto& req : impl_->pending)
    if (req != MPI_REQUEST_NULL) wait(req, impl_->what);  // a finished request is MPI_REQUEST_NULL
  impl_->pending.clear();
}

int allreduce_max(int v, const char* what) {
  if (world().size == 1) return v;
  MPI_Request req;
  check(MPI_Iallreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req), "MPI_Iallreduce", what);
  wait(req, what);
  return v;
}

void broadcast(void* data, int64_t bytes, int root, const char* what) {
  if (world().size == 1) return;
  auto* p = static_cast<char*>(data);
  for (int64_t at = 0; at < bytes; at += kPiece) {
    MPI_Request req;
    check(MPI_Ibcast(p + at, int(std::min(kPiece, bytes - at)), MPI_BYTE, root, MPI_COMM_WORLD, &req), "MPI_Ibcast",
          what);
    wait(req, what);
  }
}

void abort_all(const std::string& why) {
  fmt::print(stderr, "slm: error: rank {} of {}: {}\n", world().rank, world().size, why);
  std::fflush(stderr);
  if (world().mpi) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

#else  // built without MPI: a world of one

namespace {
int launcher_world_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* s = std::getenv(v)) return std::atoi(s);
  return 1;
}

void refuse_many() {
  if (launched_by_mpi() && launcher_world_size() > 1)
    throw Error("this slm was built without MPI, so it cannot run as one of several ranks; install libopenmpi-dev "
                "(scripts/setup.sh does) and rebuild",
                "mpirun");
}
}  // namespace

int rank() {
  refuse_many();
  return 0;
}
int world_size() {
  refuse_many();
  return 1;
}
bool in_parallel_run() noexcept { return false; }
void allreduce_sum(float*, int64_t, const char*) {}
void allreduce_sum(double*, int64_t, const char*) {}
void chain_sum(float*, int64_t, const char*) {}
void chain_sum(double*, int64_t, const char*) {}
void reduce_scatter_sum(float*, int64_t, const char*) {}
void allgather(float*, int64_t, const char*) {}
void gather_shards(const float* shard, float* whole, int64_t n, const char*) { std::copy(shard, shard + n, whole); }
void scatter_shards(const float* whole, float* shard, int64_t n, const char*) { std::copy(whole, whole + n, shard); }
struct OverlappedSums::Impl {};
OverlappedSums::OverlappedSums(const char*) {}
OverlappedSums::~OverlappedSums() = default;
void OverlappedSums::start(float*, int64_t) {}
void OverlappedSums::poll() {}
void OverlappedSums::finish() {}
int allreduce_max(int v, const char*) { return v; }
void broadcast(void*, int64_t, int, const char*) {}
void abort_all(const std::string& why) {
  fmt::print(stderr, "slm: error: {}\n", why);
  std::_Exit(1);
}

#endif

Range shard_range(int64_t n, int r) {
  const int64_t size = world_size();
  return {n * r / size, n * (r + 1) / size};
}

}  // namespace slm::dist
