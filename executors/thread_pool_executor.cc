// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
// ------------------------------
// One mutex (`mu_`) guards the pool: the FIFO of queued tasks (an intrusive
// TaskQueue through TaskNode::next), the stack of parked workers, the counts of
// spinning and waking workers, the list of threads and the shutdown and
// broken flags. Critical sections are a few pointer moves; a task costs one
// lock in submit() and one in the worker that pops it.
//
// A worker is, at any time, busy (running a task), spinning (idle, polling
// `queued_hint_` without the lock for a bounded time), parked (idle, asleep
// on its own futex word, on the `parked_` stack), or waking (unparked or
// just started, not yet back at the queue). submit() pushes the task and then
// makes sure somebody will take it: if the queue now holds more tasks than
// there are spinning and waking workers, it wakes one parked worker (LIFO:
// the most recently idle, whose cache is warm), or, if none is parked, starts
// a new thread while there are fewer than max_workers (Python's rule: an idle
// worker is reused before a new one starts). Busy workers need nothing: they
// look at the queue when their task ends. A spinning worker re-checks the
// queue under the lock before it parks, and it parks (pushes itself on the
// stack) under the same lock that submit() holds when it looks at the
// stack, so no task is left in the queue with every worker asleep.
//
// Parking is a futex on a per-worker permit word: unpark() sets the permit
// and wakes; park() consumes it, sleeping while it is 0. The acquire/release
// pair on the permit is what orders the hand-off (ThreadSanitizer sees it).
//
// Spinning: the wake-up of a parked thread on this kind of VM costs tens of
// microseconds, far more than a small task. An idle worker therefore polls
// for about kSpinTime before it parks, which keeps a steady stream of
// submissions, or a request/response ping-pong, off the futex. Only one
// worker spins at a time (others park at once), so an idle pool burns at
// most one core for kSpinTime and then nothing. When the process may only
// run on one CPU, nobody spins (it would only delay the thread that
// submits). On an oversubscribed machine a spinning thread loses its CPU and
// nobody wakes it (submit() counts on it), while a parked thread gets the
// CPU back soon after a futex wake-up: so a spinner that notices it was
// preempted (a gap on its clock) stops, and the pool then skips spinning for
// a number of idle phases that doubles with each preempted spin (up to
// kMaxBackoff) and halves with each spin that kept its CPU.
//
// Waiting inside the pool: every worker installs itself as its thread's
// BlockingObserver (futures/internal/blocking_observer.h). When a task blocks
// without a timeout on one future that is not done, the observer looks at
// the awaited state: if it is a task of this pool (TaskNode::owner) that
// nobody started (try_claim() succeeds), the worker runs it inline; the
// queued node later finds it claimed and only drops its reference. Timed
// waits and waits on several futures only wait (the contract in the header).
// Inline runs nest on the worker's stack up to kMaxInlineDepth; deeper, the
// worker starts a stand-in thread (same name, same pool, a fresh stack) that
// claims and runs the task while the worker waits for it to finish. A task
// waiting for itself is caught by the futures (RunningScope: DeadlockError).
//
// Breaking: a worker whose initializer throws marks the pool broken, takes
// the whole queue and fails every queued task with BrokenThreadPool, wakes
// the parked workers (which then exit) and exits. submit() checks the flag
// under the lock, so no task is accepted after the queue was emptied.
//
// Shutdown sets the flag and wakes every parked worker; workers keep popping
// until the queue is empty (Python's semantics: queued tasks still run)
// and then exit. With cancel_futures the queue is taken and cancelled first,
// outside the lock (done callbacks run); a concurrent shutdown(wait = true)
// waits for that cancellation too (ShutdownCancellations), as CPython's
// shutdown lock makes it. A done callback may destroy the executor: the
// executor holds the pool through a shared_ptr, and shutdown() keeps its own
// reference until it returns, so nothing it touches is freed under it.
// Joining happens under a second mutex, `join_mu_`, so that concurrent
// shutdown(wait = true) calls join each thread once and all return after the
// threads are gone.

#include "executors/thread_pool_executor.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "executors/internal/cancellations.h"
#include "executors/internal/task.h"
#include "executors/task_node.h"
#include "futures/errors.h"
#include "futures/internal/blocking_observer.h"
#include "futures/internal/cpu.h"
#include "futures/internal/futex.h"
#include "futures/internal/shared_state.h"

namespace concurrent {
namespace internal {
namespace {

// How long an idle worker polls before it parks; and a gap between two looks
// at the clock (64 polls apart, about 2 us) that means the spinner was
// preempted.
constexpr auto kSpinTime = std::chrono::microseconds(50);
constexpr auto kPreempted = std::chrono::microseconds(20);
// Polls with a pause instruction before the spinner turns to sched_yield().
constexpr int kPausePolls = 256;
// The most idle phases that skip spinning after spinners were preempted.
constexpr int kMaxBackoff = 1024;
// The deepest a thread nests tasks it runs inline while it waits, on its own
// stack (each level costs a few kilobytes: 8 MB overflowed between 2,000 and
// 4,000 levels). Deeper, the chain goes on on a fresh thread's stack.
constexpr int kMaxInlineDepth = 64;

// CPython 3.13's default: min(32, os.process_cpu_count() + 4), where
// process_cpu_count() counts the CPUs this process may run on (its affinity
// mask), not the machine's.
int DefaultMaxWorkers() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
  return std::min(32, std::max(cpus, 1) + 4);
}

std::string DefaultPrefix() {
  static std::atomic<int> counter{0};
  return absl::StrCat("ThreadPoolExecutor-",
                      counter.fetch_add(1, std::memory_order_relaxed));
}

// Linux keeps 15 bytes of a thread name (16 with the terminator). Cut there,
// without splitting a UTF-8 sequence.
std::string KernelThreadName(const std::string& name) {
  constexpr std::size_t kMax = 15;
  if (name.size() <= kMax) return name;
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return name.substr(0, cut);
}

std::string Describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// The pool's lock: a std::mutex (pthread) with Abseil's annotations.
// absl::Mutex would do, but Debian's build runs its deadlock detector on
// every Lock(), which costs more than the critical sections here.
class ABSL_LOCKABLE PoolMutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE PoolLock {
 public:
  explicit PoolLock(PoolMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->lock();
  }
  ~PoolLock() ABSL_UNLOCK_FUNCTION() { mu_->unlock(); }
  PoolLock(const PoolLock&) = delete;
  PoolLock& operator=(const PoolLock&) = delete;

 private:
  PoolMutex* const mu_;
};

// A binary semaphore for one thread on a futex word.
class Parker {
 public:
  void park() {
    while (permit_.exchange(0, std::memory_order_acquire) == 0) {
      FutexWait(permit_, 0);
    }
  }
  void unpark() {
    permit_.store(1, std::memory_order_release);
    FutexWake(permit_, 1);
  }

 private:
  std::atomic<std::uint32_t> permit_{0};
};

}  // namespace

class WorkerPool;

// One worker thread, and its BlockingObserver.
class Worker final : public BlockingObserver {
 public:
  Worker(WorkerPool* pool, std::string name)
      : pool(pool), name(std::move(name)) {}

  void before_blocking(const BlockingWait& wait) override;
  void after_blocking(const BlockingWait&) noexcept override {}

  WorkerPool* const pool;
  const std::string name;
  std::thread thread;  // joined under WorkerPool::join_mu_
  Parker parker;
  Worker* next_parked = nullptr;  // guarded by WorkerPool::mu_
  // How deep this thread nests tasks it runs inline while waiting. Touched
  // by this thread only.
  int inline_depth = 0;
};

namespace {
thread_local Worker* t_worker = nullptr;
}  // namespace

class WorkerPool {
 public:
  explicit WorkerPool(ThreadPoolExecutor::Options options)
      : max_workers_(options.max_workers.value_or(DefaultMaxWorkers())),
        prefix_(options.thread_name_prefix.empty()
                    ? DefaultPrefix()
                    : std::move(options.thread_name_prefix)),
        initializer_(std::move(options.initializer)),
        around_task_(std::move(options.around_task)),
        spin_(MayRunOnSeveralCpus()) {
    if (max_workers_ <= 0) {
      throw std::invalid_argument(
          absl::StrCat("ThreadPoolExecutor: max_workers must be greater than "
                       "0, got ",
                       max_workers_));
    }
  }

  ~WorkerPool() {
    // Normally joined by shutdown(wait = true); a failed constructor of the
    // executor leaves nothing to join.
    for (auto& w : workers_) {
      if (w->thread.joinable()) w->thread.join();
    }
  }

  // Runs `body` inside around_task (directly when unset). Returns the error
  // that kept `body` from running (the hook threw before calling run(), or
  // never called it), else null; a throw after run() is reported on stderr.
  // `what` names the body in messages ("task", "initializer").
  std::exception_ptr run_around(absl::FunctionRef<void()> body,
                                const char* what);
  // Runs a task that a waiting worker claimed, inside around_task like any
  // other task (the hook then runs nested in the waiting task's own).
  void run_claimed_inline(TaskNode* task);
  // For a worker whose inline runs are nested kMaxInlineDepth deep: claims
  // `task` and runs it inline on a new thread that stands in for the worker
  // (same name, same pool) while the worker waits for it, so the chain goes
  // on without growing the worker's stack and without more tasks running at
  // once than before. If no thread can be started, does nothing (the worker
  // then waits for a worker to run the task).
  void run_inline_on_fresh_stack(TaskNode* task, const std::string& name);
  void execute(TaskNode* task) ABSL_LOCKS_EXCLUDED(mu_);
  void shutdown(bool wait, bool cancel_futures) ABSL_LOCKS_EXCLUDED(mu_);
  bool is_own_worker() const {
    return t_worker != nullptr && t_worker->pool == this;
  }

  int max_workers() const { return max_workers_; }
  int worker_count() const ABSL_LOCKS_EXCLUDED(mu_) {
    PoolLock lock(&mu_);
    return static_cast<int>(workers_.size());
  }
  int idle_worker_count() const ABSL_LOCKS_EXCLUDED(mu_) {
    PoolLock lock(&mu_);
    return spinning_ + parked_count_;
  }
  std::vector<std::string> worker_names() const ABSL_LOCKS_EXCLUDED(mu_) {
    PoolLock lock(&mu_);
    std::vector<std::string> names;
    names.reserve(workers_.size());
    for (const auto& w : workers_) names.push_back(w->name);
    return names;
  }
  const std::string& prefix() const { return prefix_; }

  // Runs `task` as a worker does: inside around_task if set.
  void run_task(TaskNode* task);

 private:
  void worker_main(Worker* w);
  // Polls the queue for up to kSpinTime without the lock.
  enum class SpinResult { kWork, kIdle, kPreempted };
  SpinResult spin_for_work() const;
  // Runs the initializer; returns false (the pool is then broken) if it threw.
  bool initialize(Worker* w);
  void break_pool(const std::string& message) ABSL_LOCKS_EXCLUDED(mu_);
  void start_worker() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  TaskNode* pop() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    TaskNode* t = queue_.pop_front();
    if (t != nullptr) {
      queued_hint_.store(queue_.size(), std::memory_order_relaxed);
    }
    return t;
  }
  // Takes the whole queue.
  TaskQueue take_queue() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_hint_.store(0, std::memory_order_relaxed);
    return std::move(queue_);
  }
  // Takes every parked worker; each counts as waking until it runs again.
  Worker* take_parked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    Worker* list = parked_;
    parked_ = nullptr;
    waking_ += parked_count_;
    parked_count_ = 0;
    return list;
  }
  static void unpark_all(Worker* list) {
    while (list != nullptr) {
      Worker* next = list->next_parked;
      list->parker.unpark();
      list = next;
    }
  }

  const int max_workers_;
  const std::string prefix_;
  absl::AnyInvocable<void()> initializer_;
  absl::AnyInvocable<void(absl::FunctionRef<void()>)> around_task_;
  const bool spin_;

  mutable PoolMutex mu_;
  TaskQueue queue_ ABSL_GUARDED_BY(mu_);
  // queue_.size(), readable without the lock by spinning workers.
  std::atomic<std::size_t> queued_hint_{0};
  std::atomic<bool> stop_hint_{false};
  int spinning_ ABSL_GUARDED_BY(mu_) = 0;
  // Spinning backs off when spinners get preempted (an oversubscribed
  // machine): the next spin_skip_ idle phases park at once.
  int spin_skip_ ABSL_GUARDED_BY(mu_) = 0;
  int spin_backoff_ ABSL_GUARDED_BY(mu_) = 0;
  int waking_ ABSL_GUARDED_BY(mu_) = 0;
  Worker* parked_ ABSL_GUARDED_BY(mu_) = nullptr;
  int parked_count_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::unique_ptr<Worker>> workers_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  std::string broken_message_ ABSL_GUARDED_BY(mu_);
  ShutdownCancellations cancellations_;

  PoolMutex join_mu_ ABSL_ACQUIRED_AFTER(mu_);
};

void Worker::before_blocking(const BlockingWait& wait) {
  // Only an untimed wait on one future runs a task inline (see "Waiting
  // inside the pool" in the header): a timeout must bound the wait, and a
  // wait on several futures must not be held up by one of them.
  StateBase* awaited = wait.awaited();
  if (awaited == nullptr || wait.timed()) return;
  auto* node = dynamic_cast<TaskNode*>(awaited);
  if (node == nullptr || node->owner.load(std::memory_order_relaxed) != pool) {
    return;
  }
  if (inline_depth >= kMaxInlineDepth) {
    // (A cheap look first: no thread for a task that is already taken.)
    if (awaited->status() == kPending) {
      pool->run_inline_on_fresh_stack(node, name);
    }
    return;
  }
  if (!node->try_claim()) return;  // started elsewhere, or cancelled
  ++inline_depth;
  pool->run_claimed_inline(node);
  --inline_depth;
}

void WorkerPool::execute(TaskNode* task) {
  Worker* wake = nullptr;
  {
    PoolLock lock(&mu_);
    if (broken_) throw BrokenThreadPool(broken_message_);
    if (shutdown_) {
      throw ExecutorShutdownError(absl::StrCat(
          "cannot schedule new futures after shutdown of thread pool '",
          prefix_, "'"));
    }
    // Accepted: from now on a waiting worker may recognise it.
    task->owner.store(this, std::memory_order_relaxed);
    if (queue_.size() + 1 > static_cast<std::size_t>(spinning_ + waking_)) {
      if (parked_ != nullptr) {
        wake = parked_;
        parked_ = wake->next_parked;
        --parked_count_;
        ++waking_;
      } else if (workers_.size() < static_cast<std::size_t>(max_workers_)) {
        try {
          start_worker();
        } catch (const std::system_error&) {
          if (workers_.empty()) throw;  // nobody would ever run the task
        }
      }
    }
    queue_.push_back(task);
    queued_hint_.store(queue_.size(), std::memory_order_relaxed);
  }
  if (wake != nullptr) wake->parker.unpark();
}

void WorkerPool::start_worker() {
  auto w = std::make_unique<Worker>(
      this, absl::StrCat(prefix_, "_", workers_.size()));
  Worker* raw = w.get();
  // Grow first: a push_back that throws after the thread started would
  // destroy a joinable std::thread (std::terminate) that uses `raw`.
  workers_.reserve(workers_.size() + 1);
  w->thread = std::thread([this, raw] { worker_main(raw); });
  workers_.push_back(std::move(w));
  ++waking_;
}

std::exception_ptr WorkerPool::run_around(absl::FunctionRef<void()> body,
                                          const char* what) {
  if (!around_task_) {
    body();
    return nullptr;
  }
  bool ran = false;
  try {
    around_task_([&] {
      if (!ran) {  // the hook must call run() once
        ran = true;
        body();
      }
    });
  } catch (...) {
    if (!ran) return std::current_exception();
    std::fprintf(stderr,
                 "concurrent: around_task of thread pool '%s' threw after the "
                 "%s ran: %s\n",
                 prefix_.c_str(), what,
                 Describe(std::current_exception()).c_str());
  }
  if (ran) return nullptr;
  return std::make_exception_ptr(
      InvalidStateError(absl::StrCat("around_task of thread pool '", prefix_,
                                     "' returned without running the ", what)));
}

void WorkerPool::run_task(TaskNode* task) {
  if (std::exception_ptr error = run_around([task] { task->run(); }, "task")) {
    task->fail_and_release(std::move(error));
  }
}

void WorkerPool::run_claimed_inline(TaskNode* task) {
  if (std::exception_ptr error =
          run_around([task] { task->run_claimed(); }, "task")) {
    try {
      task->state().set_exception(std::move(error));  // claimed: ours
    } catch (...) {
    }
  }
}

void WorkerPool::run_inline_on_fresh_stack(TaskNode* task,
                                           const std::string& name) {
  Worker stand_in(this, name);
  std::thread helper;
  try {
    helper = std::thread([this, task, &stand_in] {
      t_worker = &stand_in;
      ScopedBlockingObserver observer(&stand_in);
      pthread_setname_np(pthread_self(),
                         KernelThreadName(stand_in.name).c_str());
      if (task->try_claim()) run_claimed_inline(task);
    });
  } catch (const std::system_error&) {
    return;  // no thread: the caller waits normally
  }
  helper.join();
}

bool WorkerPool::initialize(Worker* w) {
  if (!initializer_) return true;
  // As for tasks (see Options::around_task): a hook that throws before
  // running the initializer, or never runs it, breaks the pool (the worker is
  // not initialized); one that throws after it is reported and ignored.
  std::exception_ptr error;
  std::exception_ptr hook_error = run_around(
      [&] {
        try {
          initializer_();
        } catch (...) {
          error = std::current_exception();
        }
      },
      "initializer");
  if (error == nullptr) error = std::move(hook_error);
  if (error == nullptr) return true;
  break_pool(absl::StrCat("thread pool '", prefix_, "' is broken: the ",
                          "initializer failed in worker '", w->name,
                          "': ", Describe(error)));
  return false;
}

void WorkerPool::break_pool(const std::string& message) {
  TaskQueue queued;
  Worker* parked;
  std::string what;
  {
    PoolLock lock(&mu_);
    if (!broken_) {
      broken_ = true;
      broken_message_ = message;
    }
    what = broken_message_;
    queued = take_queue();
    parked = take_parked();
    stop_hint_.store(true, std::memory_order_relaxed);
  }
  // One exception object per future (as Python does): an object shared by
  // futures would be released by whichever thread drops it last, through
  // the exception_ptr's own count, which ThreadSanitizer cannot see in the
  // uninstrumented libstdc++.
  // Wake the parked workers first (they exit: the pool is broken), so that a
  // done callback run below that shuts the pool down does not join workers
  // nobody will wake.
  unpark_all(parked);
  while (TaskNode* task = queued.pop_front()) {
    task->fail_and_release(std::make_exception_ptr(BrokenThreadPool(what)));
  }
}

WorkerPool::SpinResult WorkerPool::spin_for_work() const {
  auto last = std::chrono::steady_clock::now();
  const auto until = last + kSpinTime;
  for (int i = 1;; ++i) {
    if (queued_hint_.load(std::memory_order_relaxed) != 0 ||
        stop_hint_.load(std::memory_order_relaxed)) {
      return std::chrono::steady_clock::now() - last > kPreempted
                 ? SpinResult::kPreempted
                 : SpinResult::kWork;
    }
    // Pause first (a submit usually follows within microseconds); then
    // yield between polls, so that a thread waiting for this CPU (often the
    // one about to submit, on a busy machine) runs instead of our spin.
    if (i <= kPausePolls) {
      CpuRelax();
    } else {
      sched_yield();
    }
    if (i % 64 == 0) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last > kPreempted) return SpinResult::kPreempted;
      if (now >= until) return SpinResult::kIdle;
      last = now;
    }
  }
}

void WorkerPool::worker_main(Worker* w) {
  t_worker = w;
  ScopedBlockingObserver observer(w);
  pthread_setname_np(pthread_self(), KernelThreadName(w->name).c_str());
  const bool initialized = initialize(w);
  mu_.lock();
  --waking_;
  while (initialized) {
    if (TaskNode* task = pop()) {
      mu_.unlock();
      run_task(task);
      mu_.lock();
      continue;
    }
    if (shutdown_ || broken_) break;
    if (spin_ && spinning_ == 0) {
      if (spin_skip_ > 0) {
        --spin_skip_;  // backing off: park at once
      } else {
        ++spinning_;
        mu_.unlock();
        const SpinResult result = spin_for_work();
        mu_.lock();
        --spinning_;
        if (result == SpinResult::kPreempted) {
          spin_backoff_ = std::min(std::max(2 * spin_backoff_, 4), kMaxBackoff);
          spin_skip_ = spin_backoff_;
        } else {
          spin_backoff_ /= 2;  // this spin kept its CPU
        }
        if (!queue_.empty()) continue;
        if (shutdown_ || broken_) break;
      }
    }
    w->next_parked = parked_;
    parked_ = w;
    ++parked_count_;
    mu_.unlock();
    w->parker.park();
    mu_.lock();
    --waking_;
  }
  mu_.unlock();
}

void WorkerPool::shutdown(bool wait, bool cancel_futures) {
  TaskQueue cancelled;
  Worker* parked;
  {
    PoolLock lock(&mu_);
    shutdown_ = true;
    stop_hint_.store(true, std::memory_order_relaxed);
    if (cancel_futures && !queue_.empty()) {
      cancelled = take_queue();
      cancellations_.begin();
    }
    parked = take_parked();
  }
  // Wake the parked workers before the cancellations run done callbacks: a
  // callback that shuts the pool down (or destroys it) must find them awake.
  unpark_all(parked);
  // The callbacks may destroy the executor; the caller keeps this pool alive
  // until shutdown() returns (ThreadPoolExecutor::shutdown).
  if (!cancelled.empty()) cancellations_.cancel(std::move(cancelled));
  if (!wait) return;
  if (is_own_worker()) {
    throw DeadlockError(absl::StrCat(
        "shutdown(wait = true) called from worker '", t_worker->name,
        "' of thread pool '", prefix_,
        "': a worker cannot wait for itself to exit (the pool is shut down; "
        "call shutdown(wait = false) from tasks)"));
  }
  // A concurrent shutdown(cancel_futures = true) may still be cancelling
  // what it took from the queue: every accepted task must be finished or
  // cancelled when this returns.
  cancellations_.wait_for_others();
  PoolLock join_lock(&join_mu_);
  std::vector<Worker*> workers;
  {
    PoolLock lock(&mu_);
    for (auto& w : workers_) workers.push_back(w.get());
  }
  for (Worker* w : workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace internal

ThreadPoolExecutor::ThreadPoolExecutor(Options options)
    : pool_(std::make_shared<internal::WorkerPool>(std::move(options))) {}

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(Options{}) {}

ThreadPoolExecutor::ThreadPoolExecutor(int max_workers)
    : ThreadPoolExecutor(Options{.max_workers = max_workers}) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  if (pool_->is_own_worker()) {
    std::fprintf(stderr,
                 "concurrent: thread pool '%s' destroyed by one of its own "
                 "workers; a pool cannot join the thread that destroys it\n",
                 pool_->prefix().c_str());
    std::abort();
  }
  shutdown(/*wait=*/true);
}

void ThreadPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  // A done callback of a cancelled task may destroy this executor: the pool
  // lives until its shutdown() has returned, and `this` is not used after.
  const std::shared_ptr<internal::WorkerPool> pool = pool_;
  pool->shutdown(wait, cancel_futures);
}

void ThreadPoolExecutor::execute(TaskNode* task) { pool_->execute(task); }

int ThreadPoolExecutor::max_workers() const noexcept {
  return pool_->max_workers();
}
int ThreadPoolExecutor::worker_count() const { return pool_->worker_count(); }
int ThreadPoolExecutor::idle_worker_count() const {
  return pool_->idle_worker_count();
}
std::vector<std::string> ThreadPoolExecutor::worker_names() const {
  return pool_->worker_names();
}

std::string ThreadPoolExecutor::current_worker_name() {
  return internal::t_worker != nullptr ? internal::t_worker->name
                                       : std::string();
}

}  // namespace concurrent
