// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: executors/thread_pool_executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::ThreadPoolExecutor` runs tasks on a pool of worker threads,
// with the semantics of Python's `concurrent.futures.ThreadPoolExecutor`:
//
//   * up to `max_workers` threads, started lazily by submit(); a submit that
//     finds an idle worker wakes it instead of starting a new thread;
//   * tasks start in submission order (FIFO); results come back through
//     futures;
//   * threads are named `<thread_name_prefix>_<n>` (n = 0, 1, ...);
//   * `initializer` runs once in each worker before its first task; if it
//     throws, the pool is broken: every pending future and every later
//     submit() fail with BrokenThreadPool carrying the initializer's message;
//   * a task or a done callback that throws never kills a worker.
//
// Example:
//
//   concurrent::ThreadPoolExecutor pool({.max_workers = 2,
//                                        .thread_name_prefix = "io"});
//   concurrent::Future<std::string> f = pool.submit([] {
//     return concurrent::ThreadPoolExecutor::current_worker_name();
//   });
//   std::printf("%s\n", f.result().c_str());   // io_0
//   // The destructor calls shutdown(wait = true).
//
// Waiting inside the pool (the contract; docs/executors.md says the same):
//   * A task that blocks in an untimed result() or exception() on the future
//     of another task of the same pool that no worker has started runs that
//     task inline, in its own thread, instead of waiting for a worker that
//     may never come (in Python, a pool whose every worker waits this way
//     deadlocks). Nested inline runs use the waiting worker's stack up to a
//     bounded depth (64); deeper, the chain goes on on a fresh thread that
//     stands in for the worker while it waits, so no chain overflows a stack
//     and no more tasks run at once than the pool's workers.
//   * Waits with a timeout never run a task inline (the timeout bounds the
//     wait), nor do concurrent::wait() and as_completed() (with or without a
//     timeout): they only wait, as in Python. Inside a pool, wait on
//     result() when a queued task of the same pool must make progress.
//   * An untimed wait that only the waiting task itself could end (its own
//     future; a wait() or as_completed() whose remaining futures are all the
//     caller's own running tasks) throws DeadlockError instead of hanging.
//     With a timeout it times out.
//   * A task that waits holds its worker; with around_task = hold_gil(gil)
//     it does not hold the GIL while blocked (gil/gil.h).
// shutdown(wait = true) from one of the pool's workers shuts the pool down and
// then throws DeadlockError (a worker cannot wait for itself to exit), as
// CPython's `join()` of the current thread raises; destroying the pool from one
// of its own workers aborts the process with a message.
//
// Idle workers spin briefly (a bounded number of polls, yielding the CPU
// after the first few, and never when the process may run on one CPU only)
// before they park on a futex, so a task
// submitted soon after the previous one finished starts without a kernel
// wake-up, and an idle pool costs no CPU.
//
// Thread-safety: thread-safe. Every method may be called from any thread,
// including the pool's own workers (see above for shutdown and the
// destructor).
//
// Errors: the constructor throws std::invalid_argument if max_workers <= 0.
// submit() throws ExecutorShutdownError after shutdown(), BrokenThreadPool
// once the pool is broken, and std::system_error if the pool has no thread
// yet and the system refuses to start one (the task is then not scheduled).

#ifndef CONCURRENT_EXECUTORS_THREAD_POOL_EXECUTOR_H_
#define CONCURRENT_EXECUTORS_THREAD_POOL_EXECUTOR_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "executors/executor.h"

namespace concurrent {

namespace internal {
class WorkerPool;
}  // namespace internal

class ThreadPoolExecutor final : public Executor {
 public:
  struct Options {
    // The most threads the pool starts (>= 1). Unset means CPython 3.13's
    // default, min(32, process_cpu_count() + 4), where process_cpu_count()
    // counts the CPUs the calling thread may run on (its affinity mask, as
    // `taskset` sets it), not the machine's.
    std::optional<int> max_workers;
    // Threads are named "<prefix>_<n>". Empty means "ThreadPoolExecutor-<k>"
    // with k counting pools in the process, as Python does. Linux keeps 15
    // bytes of a thread's name: the kernel name is truncated there (at a
    // UTF-8 character boundary), and the full name stays readable through
    // current_worker_name() and worker_names().
    std::string thread_name_prefix = {};
    // Runs once in each worker thread before its first task (Python's
    // `initializer`; bind arguments into it for `initargs`). If it throws,
    // the pool is broken (see the top of this file).
    absl::AnyInvocable<void()> initializer = nullptr;
    // If set, every task runs as `around_task(run)`: the hook must call
    // `run()` exactly once, on the worker's thread, and may hold a lock
    // around it (say, a GIL) or set thread state. Unset costs nothing. The
    // initializer runs inside it too, and so do tasks that a worker runs
    // inline while it waits for them (see "Waiting inside the pool"): the
    // hook then runs nested in the waiting task's own, so a hook that takes
    // a lock must let a thread that holds it through (hold_gil does). If the
    // hook returns without calling `run()`, the task fails with
    // InvalidStateError (for the initializer: the pool is broken); what the
    // hook throws before `run()` fails the task (breaks the pool); what it
    // throws after `run()` is reported on stderr and ignored. Called
    // concurrently from every worker.
    absl::AnyInvocable<void(absl::FunctionRef<void()> run)> around_task =
        nullptr;
  };

  // Starts no thread. Throws std::invalid_argument if max_workers is set and
  // <= 0 (Python's ValueError).
  explicit ThreadPoolExecutor(Options options);
  // Default options.
  ThreadPoolExecutor();
  // A pool of `max_workers` threads with default options. Throws
  // std::invalid_argument if max_workers <= 0 (Python's ValueError).
  explicit ThreadPoolExecutor(int max_workers);

  // shutdown(wait = true). Requires: not called from one of this pool's
  // workers (that aborts with a message).
  ~ThreadPoolExecutor() override;

  // See Executor::shutdown(). From one of this pool's own workers with
  // `wait` true: shuts the pool down (and cancels if asked), then throws
  // DeadlockError without waiting (the caller is one of the threads it would
  // wait for). A done callback of a task it cancels may destroy the pool (from
  // a thread that is not one of its workers): shutdown() then still returns
  // normally.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

  // The resolved max_workers.
  int max_workers() const noexcept;
  // How many worker threads were started so far (started threads stay until
  // shutdown). Thread-safe; a snapshot.
  int worker_count() const;
  // How many started workers are idle now (waiting for a task). A snapshot.
  int idle_worker_count() const;
  // The full names of the started workers, in start order.
  std::vector<std::string> worker_names() const;

  // The full name of the calling thread if it is a worker of any
  // ThreadPoolExecutor, else "".
  static std::string current_worker_name();

 private:
  void execute(TaskNode* task) override;

  // Shared with shutdown() calls in progress (see shutdown()).
  std::shared_ptr<internal::WorkerPool> pool_;
};

}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_THREAD_POOL_EXECUTOR_H_
