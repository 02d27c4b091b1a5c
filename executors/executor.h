// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: executors/executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::Executor` is the interface of every executor of this library
// (the thread pool, the inline and manual test executors, and later the
// process pool and the asyncio event loop), with the semantics of Python's
// `concurrent.futures.Executor`:
//
//   * `submit(fn, args...)` schedules `fn(args...)` and returns its Future;
//   * `map(fn, inputs, options)` applies `fn` to every input and yields the
//     results lazily, in input order;
//   * `shutdown(wait, cancel_futures)` stops accepting work.
//
// Example:
//
//   concurrent::ThreadPoolExecutor pool({.max_workers = 4});
//   concurrent::Future<int> f = pool.submit([](int a, int b) { return a * b; },
//                                           6, 7);
//   std::printf("%d\n", f.result());                       // 42
//   std::vector<int> xs = {1, 2, 3};
//   for (int y : pool.map([](int x) { return x * x; }, xs)) {
//     std::printf("%d ", y);                               // 1 4 9
//   }
//   pool.shutdown();  // also done by the destructor
//
// Thread-safety: thread-safe. `submit()`, `map()` and `shutdown()` may be
// called from any thread, concurrently, including from tasks of the executor
// itself (see each executor for `shutdown(wait = true)` from its own tasks).
// A `MapResults` range is thread-compatible: iterate it from one thread.
//
// Errors: `submit()` and `map()` throw `ExecutorShutdownError` after
// `shutdown()`, and `BrokenExecutor` (or a child) once the executor can no
// longer run tasks. What a task throws is stored in its future and rethrown
// by `result()`; it never escapes into the executor.
//
// Memory ordering: everything the thread that calls `submit()` (or `map()`)
// did before the call happens before the task runs. Everything the task did
// happens before its future is seen done (a `result()` that returns, its done
// callbacks: futures/future.h). A `shutdown(wait = true)` that returns
// happens after every accepted task finished or was cancelled.
//
// Lifetime: concrete executors call `shutdown(wait = true)` in their
// destructor (Python's `with` block). For the thread pool, every accepted
// task has then finished (or was cancelled) when the executor is gone. The
// test executors run tasks in their callers' threads, and their destructors
// do not wait for those: InlineExecutor's tasks run inside other threads'
// submit() calls, and a task that another thread took with
// ManualExecutor::run_one() may still be running. A done callback run by
// `shutdown(cancel_futures = true)` may destroy the executor: shutdown then
// still returns normally.
//
// Implementing an executor: derive from Executor and override `execute()`
// (run or queue one task) and `shutdown()`; the destructor must call
// `shutdown(wait = true)`. `submit()` and `map()` are built on `execute()`,
// which receives each task as a `concurrent::TaskNode` (executors/task_node.h,
// target //executors:task_node: the public, documented extension point) that
// it runs, fails or cancels. An event loop implements it by posting the node
// to its ready queue. A process pool cannot ship a closure to another
// process: it adds its own submit() for registered functions (tasks that
// cross by name), whose nodes carry the function's name and serialised
// arguments, and its execute() rejects other tasks with
// std::invalid_argument.

#ifndef CONCURRENT_EXECUTORS_EXECUTOR_H_
#define CONCURRENT_EXECUTORS_EXECUTOR_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "executors/internal/task.h"
#include "executors/task_node.h"
#include "futures/future.h"
#include "futures/internal/futex.h"

namespace concurrent {

class Executor;

// Options of Executor::map().
struct MapOptions {
  // Iteration throws TimeoutError at the first result that is not ready
  // this long after the map() call (Python: measured from the call, not per
  // item). Results that are ready are still yielded after the deadline.
  absl::Duration timeout = absl::InfiniteDuration();
  // Inputs per submitted task (>= 1): a chunk of inputs runs as one task,
  // which trades latency for lower per-task overhead.
  std::size_t chunksize = 1;
  // Bounds the chunks (>= 1) submitted ahead of iteration: map() submits
  // `buffersize` at the call and one more each time iteration moves past a
  // chunk, so at most `buffersize` + 1 are in flight (the one being yielded
  // included) and an endless input is fine (CPython 3.14's `buffersize`,
  // same accounting). kUnbounded (the default) submits every input at
  // the call, as Python does by default.
  std::size_t buffersize = kUnbounded;

  static constexpr std::size_t kUnbounded = SIZE_MAX;
};

namespace internal {

// What one chunk of a map() produced: the results of its first items, then
// the exception of the item that failed, if one did.
template <typename U>
struct MapChunk {
  std::vector<U> values;
  std::exception_ptr error;
};

}  // namespace internal

// The lazy range returned by Executor::map(): an input range of the results,
// in input order. Iterating it blocks for each result; it throws the
// exception of a failed item when it reaches that item (after yielding the
// items before it), TimeoutError when the map's timeout passed first, and
// CancelledError if a task was cancelled (say, by shutdown(cancel_futures)).
// After it threw, the range is at its end. Destroying (or assigning over) a
// range whose iteration has begun cancels its tasks not yet started; a range
// that was never iterated lets them all run, as CPython's does (its iterator
// cancels the rest only once iteration has begun and is then abandoned). The
// executor must outlive the range (with a buffersize, iterating submits more
// tasks). Move-only; iterate once, from one thread; moving a range invalidates
// its iterators.
template <typename Fn, typename V>
class MapResults {
 public:
  using Item = std::remove_cvref_t<std::ranges::range_reference_t<V>>;
  using value_type = std::invoke_result_t<Fn&, Item&&>;
  static_assert(!std::is_void_v<value_type>,
                "map(fn, inputs): fn must return a value; use submit() for "
                "functions that return void");
  static_assert(!std::is_reference_v<value_type>,
                "map(fn, inputs): fn must return by value");

  class iterator {
   public:
    using value_type = MapResults::value_type;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    value_type& operator*() const { return *owner_->impl_->current; }
    value_type* operator->() const { return &*owner_->impl_->current; }
    // Blocks for the next result; throws as described above.
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.done();
    }

   private:
    friend class MapResults;
    explicit iterator(MapResults* owner) : owner_(owner) {}
    bool done() const { return owner_ == nullptr || owner_->at_end(); }
    MapResults* owner_ = nullptr;
  };

  MapResults(MapResults&&) noexcept = default;
  // The range assigned over is destroyed (see the top of this class).
  MapResults& operator=(MapResults&& other) noexcept {
    if (this != &other) {
      abandon();
      impl_ = std::move(other.impl_);
    }
    return *this;
  }
  ~MapResults() { abandon(); }

  // Blocks for the first result (and throws as operator++ does). Call once.
  iterator begin() {
    impl_->started = true;
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  friend class Executor;
  using U = value_type;

  struct Impl {
    Impl(Executor& e, Fn&& f, V&& v, const MapOptions& o)
        : executor(&e),
          fn(std::make_shared<Fn>(std::move(f))),
          inputs(std::move(v)),
          next_input(std::ranges::begin(inputs)),
          deadline(internal::Deadline::After(o.timeout)),
          chunksize(o.chunksize),
          buffersize(o.buffersize) {}

    void cancel_in_flight() noexcept {
      for (Future<internal::MapChunk<U>>& f : in_flight) {
        try {
          f.cancel();
        } catch (...) {
        }
      }
      in_flight.clear();
    }

    // Submits the next chunk of inputs; false if the input is exhausted.
    bool submit_chunk();

    Executor* executor;
    std::shared_ptr<Fn> fn;  // shared by the chunk tasks
    V inputs;
    std::ranges::iterator_t<V> next_input;
    internal::Deadline deadline;  // monotonic, from the map() call
    std::size_t chunksize;
    std::size_t buffersize;
    std::deque<Future<internal::MapChunk<U>>> in_flight;
    internal::MapChunk<U> chunk;  // the chunk being yielded
    std::size_t position = 0;     // of the next value in `chunk`
    std::optional<U> current;
    bool at_end = false;
    bool started = false;  // begin() was called
  };

  explicit MapResults(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

  bool at_end() const { return impl_->at_end; }
  void advance();
  // Iteration began and is abandoned: cancel what has not started.
  void abandon() noexcept {
    if (impl_ != nullptr && impl_->started) impl_->cancel_in_flight();
  }

  std::unique_ptr<Impl> impl_;
};

class Executor {
 public:
  Executor() = default;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  // Does not shut down (a base destructor cannot reach the derived object):
  // every concrete executor's destructor calls shutdown(wait = true).
  virtual ~Executor();

  // Schedules `fn(args...)` and returns the Future of its result.
  //
  // `fn` and `args` are decay-copied (or moved, for rvalues) into the task,
  // as std::async does, and the task calls `std::invoke(std::move(fn),
  // std::move(args)...)`: pass `std::ref(x)` to share `x`. `fn` may be
  // move-only. The result type R is that call's; a reference result is not
  // supported (return a value or a pointer).
  //
  // Guarantees: the task runs at most once, never after its future was
  // cancelled; what it throws is stored in the future (result() rethrows
  // that object). One allocation per task (the future's state and the task
  // are one object).
  //
  // Throws: ExecutorShutdownError after shutdown(); BrokenExecutor (or a
  // child such as BrokenThreadPool) if the executor is broken; whatever
  // copying `fn` or `args` throws. The task is then not scheduled.
  template <typename F, typename... Args>
  requires std::invocable<std::decay_t<F>, std::decay_t<Args>...>
  auto submit(F&& fn, Args&&... args)
      -> Future<internal::TaskResult<F, Args...>> {
    using R = internal::TaskResult<F, Args...>;
    static_assert(!std::is_reference_v<R>,
                  "submit(fn, ...): fn must return a value, not a reference");
    auto* task =
        new internal::TaskState<R, std::decay_t<F>, std::decay_t<Args>...>(
            std::forward<F>(fn), std::forward<Args>(args)...);
    Future<R> future = internal::FutureAccess::adopt<R>(task);
    task->ref();  // the executor's reference
    try {
      execute(task);
    } catch (...) {
      task->unref();  // not accepted: drop the executor's reference
      throw;
    }
    return future;
  }

  // Python's Executor.map(): applies `fn` to each element of `inputs` on this
  // executor and returns a lazy range of the results in input order (see
  // MapResults above and MapOptions for timeout, chunksize, buffersize).
  //
  // `inputs` is any input range; an lvalue range is referenced (it must
  // outlive the iteration when buffersize is set), an rvalue range is moved
  // into the result. Each element is copied into the task that processes
  // it. `fn` is shared by the tasks and may be called concurrently.
  //
  // Throws: std::invalid_argument if chunksize or buffersize is 0; what
  // submit() throws.
  template <typename F, std::ranges::input_range R>
  requires std::ranges::viewable_range<R>
  auto map(F&& fn, R&& inputs, const MapOptions& options = {}) {
    using Fn = std::decay_t<F>;
    using V = std::views::all_t<R>;
    using Results = MapResults<Fn, V>;
    if (options.chunksize < 1) {
      throw std::invalid_argument("map(): chunksize must be at least 1");
    }
    if (options.buffersize < 1) {
      throw std::invalid_argument(
          "map(): buffersize must be at least 1 (or kUnbounded)");
    }
    auto impl = std::make_unique<typename Results::Impl>(
        *this, Fn(std::forward<F>(fn)),
        std::views::all(std::forward<R>(inputs)), options);
    Results results(std::move(impl));
    while (results.impl_->in_flight.size() < options.buffersize &&
           results.impl_->submit_chunk()) {
    }
    return results;
  }

  // then(executor, fn) (futures/future.h) finds this by argument-dependent
  // lookup: the continuation becomes one task of this executor.
  template <typename U, typename T, typename F>
  friend Future<U> ScheduleContinuation(Executor& executor,
                                        std::type_identity<U>,
                                        internal::SharedState<T>& source,
                                        F&& fn) {
    auto* task = new internal::ContinuationTask<U, T, std::decay_t<F>>(
        executor, std::forward<F>(fn));
    Future<U> result = internal::FutureAccess::adopt<U>(task);
    task->ref();                // the source's listener list
    source.add_listener(task);  // executes it at once if `source` is done
    return result;
  }

  // Python's Executor.shutdown(). Afterwards, submit() throws
  // ExecutorShutdownError. Tasks already accepted still run, unless
  // `cancel_futures` is true: then every task not yet started is cancelled
  // (its future's result() throws CancelledError). With `wait` true, returns
  // once every accepted task has finished or was cancelled and the
  // executor's resources are released. Idempotent; thread-safe; a later call
  // may still wait or cancel. What it does when called from one of the
  // executor's own tasks is each executor's to document.
  virtual void shutdown(bool wait = true, bool cancel_futures = false) = 0;

 protected:
  // The primitive every executor implements (see executors/task_node.h):
  // accept `task` and later call exactly one of task->run() (now, or later,
  // in any thread), task->fail_and_release(error) or
  // task->cancel_and_release(). The executor owns one reference of the task
  // from the moment execute() returns normally; each of the three drops it.
  //
  // Throws ExecutorShutdownError or BrokenExecutor (or a child) to refuse
  // the task; it must then not have touched it (the caller drops it).
  virtual void execute(TaskNode* task) = 0;

 private:
  friend struct internal::ExecutorAccess;
};

inline void internal::ExecutorAccess::execute(Executor& executor,
                                              TaskNode* task) {
  executor.execute(task);
}

template <typename Fn, typename V>
bool MapResults<Fn, V>::Impl::submit_chunk() {
  if (next_input == std::ranges::end(inputs)) return false;
  std::vector<Item> items;
  items.reserve(chunksize);
  for (; items.size() < chunksize && next_input != std::ranges::end(inputs);
       ++next_input) {
    items.emplace_back(*next_input);
  }
  in_flight.push_back(
      executor->submit([fn = fn, items = std::move(items)]() mutable {
        internal::MapChunk<U> out;
        out.values.reserve(items.size());
        try {
          for (Item& item : items) {
            out.values.push_back(std::invoke(*fn, std::move(item)));
          }
        } catch (...) {
          out.error = std::current_exception();
        }
        return out;
      }));
  return true;
}

template <typename Fn, typename V>
void MapResults<Fn, V>::advance() {
  Impl& m = *impl_;
  if (m.at_end) return;
  m.current.reset();
  while (m.position >= m.chunk.values.size()) {
    if (m.chunk.error != nullptr) {
      std::exception_ptr e = std::exchange(m.chunk.error, nullptr);
      m.at_end = true;
      m.cancel_in_flight();
      std::rethrow_exception(e);
    }
    if (m.in_flight.empty()) {
      m.at_end = true;
      return;
    }
    Future<internal::MapChunk<U>> next = std::move(m.in_flight.front());
    m.in_flight.pop_front();
    try {
      // Keep `buffersize` chunks in flight: submit one more before waiting.
      if (m.buffersize != MapOptions::kUnbounded) m.submit_chunk();
      const absl::Duration timeout = m.deadline.remaining();
      m.chunk = std::move(next).result(timeout);
    } catch (...) {
      m.at_end = true;
      next.cancel();
      m.cancel_in_flight();
      throw;
    }
    m.position = 0;
  }
  m.current.emplace(std::move(m.chunk.values[m.position++]));
}

}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_EXECUTOR_H_
