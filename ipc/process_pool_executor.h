// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: ipc/process_pool_executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::ProcessPoolExecutor` runs tasks in worker processes, with the
// semantics of Python's `concurrent.futures.ProcessPoolExecutor` and none of
// its hangs. CPU-bound work that a GIL (or any shared lock) serializes in
// threads runs in parallel in processes.
//
//   * Functions cross by name, as pickle sends a module-level function:
//     register a free function with `CONCURRENT_REGISTER_TASK(fn)`
//     (ipc/task_registry.h) and submit it. Arguments and results are encoded
//     by ipc/codec.h (arithmetic and trivially copyable types, std::string,
//     containers of those, user types through one `serialize` hook). A lambda,
//     a function object or a member function is a compile-time error; a free
//     function that is not registered throws UnregisteredTaskError naming it.
//   * What a task throws comes back as the same type if it is registered (the
//     standard exceptions are), else as `RemoteError` with the type's name,
//     `what()`, the worker's pid and the function's name (ipc/remote_error.h).
//   * Workers are forked by a fork server, a process forked from this program
//     while it still had one thread: call `start_fork_server()` at the top of
//     main() (the analogue of Python's `if __name__ == "__main__":`). A program
//     that does not is fine as long as it has one thread when its first pool
//     starts a worker (GoogleTest binaries usually do); otherwise the pool
//     fails at once with BrokenProcessPool saying what to add.
//   * Tasks and results travel through shared memory: a ring of fixed slots
//     per worker and direction, and a spill area for large payloads (up to
//     `max_payload_bytes` each way, 1 GiB by default).
//
// Example:
//
//   std::int64_t count_primes(std::int64_t below) { ... }
//   CONCURRENT_REGISTER_TASK(count_primes);
//
//   int main() {
//     concurrent::ProcessPoolExecutor::start_fork_server();
//     concurrent::ProcessPoolExecutor pool({.max_workers = 4});
//     concurrent::Future<std::int64_t> f = pool.submit(count_primes,
//     1'000'000); std::printf("%lld\n", static_cast<long long>(f.result())); //
//     78498 std::vector<std::int64_t> limits = {10, 100, 1000}; for
//     (std::int64_t n : pool.map(count_primes, limits)) {
//       std::printf("%lld ", static_cast<long long>(n));       // 4 25 168
//     }
//   }  // the destructor calls shutdown(wait = true)
//
// Failures (docs/ipc.md has the full table):
//   * A worker that dies (a signal, exit(), a crash, the OOM killer) breaks
//     the pool, as CPython's does: every pending future fails with
//     BrokenProcessPool naming the worker's pid, how it ended and the
//     function it ran; later submit() throws it; shutdown() returns. Death is
//     seen through the worker's pidfd, without its help, within milliseconds.
//     With `on_worker_death = WorkerDeathPolicy::kReplaceWorker`, only the
//     future of the task the worker was running fails; a new worker takes
//     over its queue and the pool stays usable.
//   * An initializer that throws breaks the pool with its message.
//   * A payload that does not fit in max_payload_bytes, or a frame that does
//     not decode, fails that future with CodecError.
//   * When this process dies (even by SIGKILL), its workers and fork server
//     die too (PR_SET_PDEATHSIG): no orphan, no zombie, and nothing in
//     /dev/shm (the segments are memfds: they never have a name).
//
// Thread-safety: thread-safe. Every method may be called from any thread,
// concurrently, including from done callbacks (which run on the pool's
// manager thread; there, shutdown(wait = true) does not wait, and destroying
// the pool aborts). That thread completes the pool's futures, except that a
// thread waiting in result() for the only task in flight, a short one, reads
// the response itself and completes the future (its done callbacks then run
// on that thread, before result() returns). A done callback
// that waits without a timeout for another future of the same pool blocks it
// for good (as in CPython; no DeadlockError is detected there yet), so give
// such a wait a timeout or hand it to another executor. A pool belongs to the
// process that created it: in a forked child, submit() throws BrokenProcessPool
// and shutdown() and the destructor leave the parent's workers alone.
//
// Errors: the constructor throws std::invalid_argument for a bad option and
// std::system_error if the shared memory cannot be created. submit() and
// map() throw ExecutorShutdownError after shutdown(), BrokenProcessPool once
// the pool is broken, UnregisteredTaskError for an unregistered function, and
// what encoding an argument throws (CodecError, or a serialize hook's own
// exception); the task is then not scheduled.
//
// Memory ordering: a worker sees the arguments, nothing else of this
// process (it is another process, a copy of this program taken when the fork
// server started). In this process, futures give their usual guarantees
// (futures/future.h): the task's completion happens before result() returns
// its value and before its done callbacks run.

#ifndef CONCURRENT_IPC_PROCESS_POOL_EXECUTOR_H_
#define CONCURRENT_IPC_PROCESS_POOL_EXECUTOR_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "executors/executor.h"
#include "executors/task_node.h"
#include "futures/future.h"
#include "futures/internal/futex.h"
#include "gil/gil.h"
#include "ipc/codec.h"
#include "ipc/internal/process_pool_tasks.h"
#include "ipc/internal/remote_map_results.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent {

namespace internal {
class PoolCore;
struct ProcessMapBackend;
}  // namespace internal

// The lazy range of ProcessPoolExecutor::map(): results in input order. An
// input range; iterate it once, from one thread. The pool must outlive it.
// Move-only. Destroying (or assigning over) a range whose iteration has begun
// cancels its chunks not yet sent to a worker; a range never iterated lets
// them run.
template <typename U, typename V>
using ProcessMapResults =
    internal::RemoteMapResults<U, V, internal::ProcessMapBackend>;

class ProcessPoolExecutor final : public Executor {
 public:
  // What happens when a worker dies while the pool runs (not at shutdown, not
  // by terminate_workers()/kill_workers()).
  enum class WorkerDeathPolicy {
    // Python's behaviour: the pool is broken; every pending future fails
    // with BrokenProcessPool, later submit() throws it.
    kBreakPool,
    // Only the future of the task the worker was running fails (with
    // BrokenProcessPool); the tasks queued to it go to a new worker. Three
    // workers in a row that die before running a task break the pool.
    kReplaceWorker,
  };

  // A registered function and its arguments, run once in each worker before
  // its first task (Python's `initializer` and `initargs`):
  //   ProcessPoolExecutor pool({.initializer = {load_model, "model.bin"}});
  // Throws as submit() does for an unregistered function or arguments that do
  // not encode.
  class Initializer {
   public:
    Initializer() = default;
    template <typename F, typename... Args>
    Initializer(F fn, Args&&... args) {  // NOLINT: implicit, for {fn, args}
      name_ = std::string(encode_call(args_, fn, std::forward<Args>(args)...));
    }
    Initializer(Initializer&&) noexcept = default;
    Initializer& operator=(Initializer&&) noexcept = default;

    bool empty() const noexcept { return name_.empty(); }
    const std::string& function_name() const noexcept { return name_; }

   private:
    friend class ProcessPoolExecutor;
    std::string name_;
    Buffer args_;
  };

  struct Options {
    // The most worker processes (>= 1). Unset: the CPUs this process may run
    // on (sched_getaffinity), as Python's os.process_cpu_count().
    std::optional<int> max_workers = std::nullopt;
    // Runs once in each worker before its first task; if it throws, the pool
    // is broken (BrokenProcessPool carrying its message).
    Initializer initializer = {};
    // A worker exits after this many tasks (>= 1) and a new one (new pid)
    // takes its place when there is work. Unset: workers live as long as the
    // pool.
    std::optional<int> max_tasks_per_child = std::nullopt;
    // Each worker runs its tasks holding its own concurrent::Gil with these
    // options (one GIL per process, as each Python process has its own
    // interpreter): tasks may call concurrent::check_gil(), gil_sleep().
    std::optional<GilOptions> worker_gil = std::nullopt;
    WorkerDeathPolicy on_worker_death = WorkerDeathPolicy::kBreakPool;
    // The largest encoded arguments or result of one task (or one map()
    // chunk), each way. Address space and memory are used only as far as
    // payloads go. A larger payload fails its future with CodecError.
    std::size_t max_payload_bytes = std::size_t{1} << 30;
  };

  // Starts no process and no thread: workers start with the first tasks.
  // Throws std::invalid_argument if max_workers or max_tasks_per_child is
  // < 1 or max_payload_bytes is 0; std::system_error if the shared memory
  // cannot be created.
  explicit ProcessPoolExecutor(Options options);
  ProcessPoolExecutor();
  explicit ProcessPoolExecutor(int max_workers);

  // shutdown(wait = true). Aborts with a message if called on the pool's own
  // manager thread (from a done callback).
  ~ProcessPoolExecutor() override;

  // Starts this program's fork server now, if it is not running: call it at
  // the top of main(), before any thread starts. Idempotent.
  // Throws std::logic_error if this process already runs other threads (the
  // message says so), std::runtime_error if the server cannot be started
  // (fork() failed).
  static void start_fork_server();

  // Schedules `fn(args...)` in a worker process and returns its future.
  // `fn` must be a free function registered with CONCURRENT_REGISTER_TASK;
  // the arguments are converted to its parameter types and encoded now (so
  // they may change afterwards). The future's type is fn's result type.
  //
  // Throws: ExecutorShutdownError after shutdown(); BrokenProcessPool if the
  // pool is broken; UnregisteredTaskError if fn is not registered; CodecError
  // if an argument cannot be encoded. The task is then not scheduled.
  template <typename F, typename... Args>
  auto submit(F fn, Args&&... args) -> Future<task_result_t<F>> {
    using R = task_result_t<F>;
    internal::check_task<std::decay_t<F>>();  // a clear compile-time error
    if constexpr (concurrent::RemoteTask<F>) {
      static_assert(
          internal::TaskTraits<std::decay_t<F>>::arity == sizeof...(Args),
          "submit(fn, args...): the number of arguments differs "
          "from the number of fn's parameters");
      const std::string_view name = task_name(fn);  // UnregisteredTaskError
      auto* task = new internal::CallTask<R>();
      Future<R> future = internal::FutureAccess::adopt<R>(task);
      submit_node(task, name, [&](Buffer& out) {
        encode_call(out, fn, std::forward<Args>(args)...);
      });
      return future;
    } else {
      return {};
    }
  }

  // Python's map(): applies `fn` (a registered function of one parameter) to
  // each element of `inputs` in the workers and returns a lazy range of the
  // results in input order. `chunksize` inputs travel as one task (Python's
  // chunksize), `buffersize` bounds the chunks in flight, `timeout` counts
  // from this call, on the monotonic clock (see MapOptions in
  // executors/executor.h). The range throws the exception of a failed item
  // when it reaches it. Destroying a range whose iteration has begun cancels
  // the chunks not yet sent to a worker; a range never iterated lets them all
  // run, as CPython's does (and as Executor::map()).
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
    ProcessMapResults<U, V> results(
        *this, fn, std::views::all(std::forward<R>(inputs)), options);
    results.start();
    return results;
  }

  // See Executor::shutdown(). Pending tasks still run (a worker that retires
  // at max_tasks_per_child is still replaced) unless `cancel_futures`; with
  // `wait`, returns when every task has finished, the workers have exited and
  // were reaped. On the pool's manager thread (a done callback), `wait` is
  // ignored.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

  // Python 3.14's terminate_workers() and kill_workers(): shut down without
  // waiting, cancel the pending futures, and send SIGTERM (SIGKILL) to every
  // worker. Tasks that were running fail with BrokenProcessPool; the pool is
  // broken. Returns at once; the destructor (or shutdown(wait = true)) waits
  // for the workers to be reaped.
  void terminate_workers();
  void kill_workers();

  // The resolved max_workers.
  int max_workers() const noexcept;
  // The pids of the live workers, a snapshot (for tests and monitoring).
  std::vector<pid_t> worker_pids() const;

 private:
  friend struct internal::ProcessMapBackend;

  // Rejects tasks that are not registered functions (closures from the
  // Executor base class's submit() and map()): std::invalid_argument.
  void execute(TaskNode* task) override;
  // Hands a node whose arguments are encoded to the pool (taking a
  // reference for it).
  void submit_node(internal::RemoteTaskNode* task);
  // Hands a node to the pool, with the encoder of its arguments (run once,
  // into an idle worker's ring or into the node).
  void submit_node(internal::RemoteTaskNode* task, std::string_view name,
                   absl::FunctionRef<void(Buffer&)> encode_args);

  std::unique_ptr<internal::PoolCore> core_;
};

namespace internal {

// How ProcessPoolExecutor::map() sends a chunk (internal/remote_map_results.h):
// a ChunkTask whose arguments are [u32 count], then [u32 length][item] per
// item.
struct ProcessMapBackend {
  using Executor = ProcessPoolExecutor;

  template <typename U, typename It, typename End, typename Encode>
  static Future<MapChunk<U>> submit_chunk(ProcessPoolExecutor& pool, It& next,
                                          End end, std::size_t chunksize,
                                          Encode& encode_item) {
    using Item = std::remove_cvref_t<decltype(*next)>;
    auto* task = new ChunkTask<U>();
    std::uint32_t count = 0;
    try {
      Buffer& body = task->args();
      body.append(sizeof(std::uint32_t));
      std::string_view name;
      for (; count < chunksize && next != end; ++next, ++count) {
        const std::size_t at = body.size();
        body.append(sizeof(std::uint32_t));
        name = encode_item(body, Item(*next));
        const auto length = static_cast<std::uint32_t>(body.size() - at -
                                                       sizeof(std::uint32_t));
        std::memcpy(body.data() + at, &length, sizeof(length));
      }
      std::memcpy(body.data(), &count, sizeof(count));
      task->set_function(name);
      task->set_count(count);
    } catch (...) {
      task->discard();
      throw;
    }
    Future<MapChunk<U>> future = FutureAccess::adopt<MapChunk<U>>(task);
    pool.submit_node(task);
    return future;
  }
};

}  // namespace internal

}  // namespace concurrent

#endif  // CONCURRENT_IPC_PROCESS_POOL_EXECUTOR_H_
