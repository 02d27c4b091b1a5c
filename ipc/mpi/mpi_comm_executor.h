// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: ipc/mpi/mpi_comm_executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::MpiCommExecutor` is the Executor interface over MPI (Open MPI),
// as `mpi4py.futures.MPICommExecutor` is for Python: the same registered
// functions that a ProcessPoolExecutor runs in worker processes run on the
// ranks of an MPI job, on one machine or on many. Every rank runs the same
// binary under `mpirun`; rank 0 is the master and gets an executor, the
// other ranks (the workers) serve its tasks until it shuts down.
//
//   * Functions cross by name, as with the process pool: register a free
//     function with `CONCURRENT_REGISTER_TASK(fn)` (ipc/task_registry.h) and
//     submit it. Arguments and results are encoded by ipc/codec.h; what a
//     task throws comes back as the same type if it is registered (the
//     standard exceptions are), else as `RemoteError` (ipc/remote_error.h),
//     exactly as from ProcessPoolExecutor. Switching executors is one line.
//   * Scheduling: a task goes to an idle worker rank; a rank gets a second
//     task only while no rank is idle, and then only when its tasks are
//     known to be short (under 100 us on average), to cover the round trip.
//     Results complete their futures as they arrive, in any order.
//   * One communication thread in the master makes every MPI call while an
//     executor runs (all executors of the process share it): submit(),
//     result() and done callbacks never call MPI. MPI is initialized with
//     MPI_Init_thread(MPI_THREAD_MULTIPLE) unless the program did it first;
//     the executor needs at least MPI_THREAD_SERIALIZED (Debian's Open MPI
//     4.1.4 provides MPI_THREAD_MULTIPLE).
//
// Example (SPMD: `mpirun -np 3 ./primes` runs this on three ranks):
//
//   std::int64_t count_primes(std::int64_t below) { ... }
//   CONCURRENT_REGISTER_TASK(count_primes);
//
//   int main(int argc, char** argv) {
//     concurrent::MpiCommExecutor executor(argc, argv);
//     if (executor.is_master()) {  // rank 0; ranks 1, 2 served until here
//       concurrent::Future<std::int64_t> f =
//           executor.submit(count_primes, 1'000'000);
//       std::printf("%lld\n", static_cast<long long>(f.result()));  // 78498
//       std::vector<std::int64_t> limits = {10, 100, 1000};
//       for (std::int64_t n : executor.map(count_primes, limits)) {
//         std::printf("%lld ", static_cast<long long>(n));  // 4 25 168
//       }
//     }
//   }  // the master's destructor shuts down and releases the workers;
//      // MPI is finalized when the process exits
//
// On a worker rank the constructor serves tasks and returns when the
// master's executor of the same rank-local order (the first, the second...)
// has shut down; `is_master()` is then false and the code after the `if`
// runs on every rank. A program whose master creates executors at will
// (tests, a benchmark) runs its master code through `MpiCommExecutor::main`
// instead: there the worker ranks serve every executor the master creates
// until the function returns (Python's `python -m mpi4py.futures`).
//
// Failures (docs/distributed.md has the table):
//   * A task that throws fails only its own future.
//   * A rank that dies (a signal, exit(), a crash) ends the whole job: Open
//     MPI's mpirun kills the other ranks, the master included, and exits
//     non-zero (its default; nothing in the job waits forever). Where Open
//     MPI reports an error to the master instead (an MPI call returns an
//     error code), the executor is broken: every pending future fails with
//     BrokenMpiExecutor naming the call, and later submit() throws it.
//   * Arguments or a result larger than `max_payload_bytes` fail that future
//     with CodecError.
//
// Thread-safety: thread-safe on the master. Every method may be called from
// any thread, concurrently, including from done callbacks (which run on the
// communication thread; there, shutdown(wait = true) does not wait, and
// destroying the executor aborts). That thread completes the executor's
// futures: a done callback that waits without a timeout for another future
// of the same executor blocks it for good (no DeadlockError is detected
// there yet), so give such a wait a timeout or hand it to another executor. On
// a worker rank only is_master(), rank(), world_size() and max_workers() may be
// called.
//
// Errors: the constructor throws std::invalid_argument for a bad option, for
// a job of one rank, and MpiError if MPI cannot be initialized or provides
// less than MPI_THREAD_SERIALIZED. submit() and map() throw
// ExecutorShutdownError after shutdown(), BrokenMpiExecutor once the
// executor is broken, std::logic_error on a worker rank,
// UnregisteredTaskError for an unregistered function and CodecError if an
// argument cannot be encoded.
//
// Memory ordering: everything the submitting thread did before submit()
// happens before the future's result is available, in the master; the
// worker rank sees only the arguments (it is another process).

#ifndef CONCURRENT_IPC_MPI_MPI_COMM_EXECUTOR_H_
#define CONCURRENT_IPC_MPI_MPI_COMM_EXECUTOR_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "executors/executor.h"
#include "executors/task_node.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/internal/futex.h"
#include "ipc/codec.h"
#include "ipc/internal/remote_map_results.h"
#include "ipc/mpi/internal/mpi_task.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent {

namespace internal {
struct MpiExecutorCore;
struct MpiMapBackend;
}  // namespace internal

// The lazy range of MpiCommExecutor::map(): results in input order. An input
// range; iterate it once, from one thread. The executor must outlive it.
// Move-only. Destroying (or assigning over) a range whose iteration has begun
// cancels its chunks not yet sent; a range never iterated lets them run.
template <typename U, typename V>
using MpiMapResults = internal::RemoteMapResults<U, V, internal::MpiMapBackend>;

// MPI could not be set up: MPI_Init_thread failed or provided less than
// MPI_THREAD_SERIALIZED, or duplicating MPI_COMM_WORLD failed. `what()`
// names the call and MPI's error string.
class MpiError : public Error {
 public:
  using Error::Error;
  ~MpiError() override;
};

// An MPI call of the executor's communication thread returned an error (the
// job's error handler let it return instead of aborting): the executor can
// no longer run tasks. Pending futures fail with it, and so does every later
// submit().
class BrokenMpiExecutor : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
  ~BrokenMpiExecutor() override;
};

class MpiCommExecutor final : public Executor {
 public:
  struct Options {
    // The worker ranks that get tasks: ranks 1..max_workers (>= 1, at most
    // the job's size - 1). Unset: every rank but 0. Ranks past it idle
    // (asleep) until the executor shuts down.
    std::optional<int> max_workers = std::nullopt;
    // The largest encoded arguments or result of one task (or one map()
    // chunk), each way: a larger payload fails its future with CodecError.
    // At most kMaxPayloadBytes (an MPI message's count is an int).
    std::size_t max_payload_bytes = std::size_t{1} << 30;
  };
  static constexpr std::size_t kMaxPayloadBytes =
      (std::size_t{1} << 31) - 65536;

  // Collective: every rank of MPI_COMM_WORLD constructs its executors in the
  // same order (the SPMD idiom above). Initializes MPI with `argc`, `argv`
  // if the program has not (MPI_Init_thread, MPI_THREAD_MULTIPLE, then
  // MPI_Finalize when the process exits); duplicates MPI_COMM_WORLD once
  // per process. On the master (rank 0), starts the communication thread if
  // it is not running and returns. On a worker rank, serves tasks and
  // returns when the master's corresponding executor has shut down.
  //
  // Throws: std::invalid_argument if an option is out of range or the job
  // has one rank; MpiError (see above). The same on every rank.
  MpiCommExecutor(int& argc, char**& argv, Options options);
  MpiCommExecutor(int& argc, char**& argv);
  // The same, for a program that initialized MPI itself (or that has no
  // argc/argv at hand: MPI_Init_thread(nullptr, nullptr) is then used).
  explicit MpiCommExecutor(Options options);
  MpiCommExecutor();

  // shutdown(wait = true). On the master, aborts with a message if called
  // from a done callback (the communication thread).
  ~MpiCommExecutor() override;

  // Runs `master_main` on rank 0 and serves every MpiCommExecutor it
  // creates on the other ranks until it returns (`python -m mpi4py.futures`
  // for C++). Initializes MPI if needed and finalizes it before returning
  // (if it initialized it). Returns what `master_main` returned on rank 0
  // (1 if it threw, after printing the exception), 0 on the others. Every
  // executor `master_main` created must be destroyed when it returns (else
  // the job is aborted with a message). Call it once, from main():
  //
  //   int main(int argc, char** argv) {
  //     return concurrent::MpiCommExecutor::main(argc, argv, [] {
  //       concurrent::MpiCommExecutor executor;   // any number, any time
  //       ...
  //       return 0;
  //     });
  //   }
  //
  // Throws: MpiError if MPI cannot be set up.
  static int main(int& argc, char**& argv,
                  absl::FunctionRef<int()> master_main);

  // True on rank 0 of MPI_COMM_WORLD, which submits; false on the workers.
  bool is_master() const noexcept { return rank_ == 0; }
  // This process's rank in MPI_COMM_WORLD, and the job's number of ranks.
  int rank() const noexcept { return rank_; }
  int world_size() const noexcept { return world_size_; }
  // The number of worker ranks that get tasks (the resolved option).
  int max_workers() const noexcept { return max_workers_; }
  // The thread level MPI_Init_thread provided (MPI_THREAD_MULTIPLE is 3 in
  // Open MPI; -1 before MPI was set up by this library).
  static int thread_level() noexcept;

  // Schedules `fn(args...)` on a worker rank and returns its future. `fn`
  // must be a free function registered with CONCURRENT_REGISTER_TASK; the
  // arguments are converted to its parameter types and encoded now. The
  // future's type is fn's result type. Arguments larger than
  // max_payload_bytes fail the future with CodecError.
  //
  // Throws: ExecutorShutdownError after shutdown(); BrokenMpiExecutor if
  // the executor is broken; std::logic_error on a worker rank;
  // UnregisteredTaskError if fn is not registered; CodecError if an argument
  // cannot be encoded. The task is then not scheduled.
  template <typename F, typename... Args>
  auto submit(F fn, Args&&... args) -> Future<task_result_t<F>> {
    using R = task_result_t<F>;
    auto* task = new internal::MpiCallTask<R>();
    try {
      task->finish_message(
          encode_call(task->message(), fn, std::forward<Args>(args)...));
    } catch (...) {
      task->discard();
      throw;
    }
    Future<R> future = internal::FutureAccess::adopt<R>(task);
    submit_node(task);
    return future;
  }

  // Python's map(): applies `fn` (a registered function of one parameter)
  // to each element of `inputs` on the worker ranks and returns a lazy range
  // of the results in input order. `chunksize` inputs travel as one task,
  // `buffersize` bounds the chunks in flight, `timeout` counts from this
  // call (see MapOptions in executors/executor.h). The range throws the
  // exception of a failed item when it reaches it. Destroying a range whose
  // iteration has begun cancels the chunks not yet sent to a worker; a range
  // never iterated lets them all run (as CPython's and Executor::map's do).
  //
  // Throws: std::invalid_argument if chunksize or buffersize is 0; what
  // submit() throws.
  template <typename F, std::ranges::input_range R>
  requires std::ranges::viewable_range<R>
  auto map(F fn, R&& inputs, const MapOptions& options = {}) {
    using U = task_result_t<F>;
    static_assert(!std::is_void_v<U>,
                  "map(fn, inputs): fn must return a value; use submit() for "
                  "functions that return void");
    using V = std::views::all_t<R>;
    MpiMapResults<U, V> results(
        *this, fn, std::views::all(std::forward<R>(inputs)), options);
    results.start();
    return results;
  }

  // See Executor::shutdown(). Pending tasks still run unless
  // `cancel_futures` (tasks already sent to a worker rank run either way);
  // with `wait`, returns when every task has finished and the worker ranks
  // were told this executor ended. On the communication thread (a done
  // callback), `wait` is ignored. On a worker rank, does nothing.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

 private:
  friend struct internal::MpiMapBackend;

  void start(int* argc, char*** argv, const Options& options);
  // Rejects closures from the Executor base class's submit() and map():
  // std::invalid_argument.
  void execute(TaskNode* task) override;
  // Hands a node (whose future holds its only reference) to the executor.
  void submit_node(internal::MpiTaskNode* task);

  int rank_ = -1;
  int world_size_ = 0;
  int max_workers_ = 0;
  std::unique_ptr<internal::MpiExecutorCore> core_;  // null on a worker
};

namespace internal {

// How MpiCommExecutor::map() sends a chunk (ipc/internal/remote_map_results.h):
// an MpiChunkTask whose arguments are [u64 count], then each item 16-byte
// aligned behind [u64 length][u64 0] (internal/protocol.h).
struct MpiMapBackend {
  using Executor = MpiCommExecutor;

  template <typename U, typename It, typename End, typename Encode>
  static Future<MapChunk<U>> submit_chunk(MpiCommExecutor& executor, It& next,
                                          End end, std::size_t chunksize,
                                          Encode& encode_item) {
    using Item = std::remove_cvref_t<decltype(*next)>;
    auto* task = new MpiChunkTask<U>();
    std::uint64_t count = 0;
    try {
      Buffer& body = task->message();
      const std::size_t args_at = body.size();
      body.append(sizeof(std::uint64_t));
      std::string_view name;
      for (; count < chunksize && next != end; ++next, ++count) {
        const std::size_t pad = mpi::PadTo16(body.size() - args_at);
        std::memset(body.append(pad), 0, pad);
        const std::size_t at = body.size();
        std::memset(body.append(mpi::kItemPrefix), 0, mpi::kItemPrefix);
        name = encode_item(body, Item(*next));
        const std::uint64_t length = body.size() - at - mpi::kItemPrefix;
        std::memcpy(body.data() + at, &length, sizeof(length));
      }
      std::memcpy(body.data() + args_at, &count, sizeof(count));
      task->finish_message(name);
      task->set_count(count);
    } catch (...) {
      task->discard();
      throw;
    }
    Future<MapChunk<U>> future = FutureAccess::adopt<MapChunk<U>>(task);
    executor.submit_node(task);
    return future;
  }
};

}  // namespace internal

}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_MPI_COMM_EXECUTOR_H_
