// Copyright 2026 The concurrent Authors.
//
// The machinery under the event loop, its futures and its tasks. Private:
// include "futures/aio/event_loop.h" instead.
//
// Everything here runs on the loop's thread only, except the reference
// counts (atomic, so that a handle may be dropped by another thread, as the
// bridge to concurrent::Future does when the loop is already closed).
//
// Intrusive nodes instead of callbacks wherever the hot path goes: a task
// waking up, a sleep's timer, a task waiting on a future, all link
// themselves into the loop's queues, so the common paths allocate nothing.

#ifndef CONCURRENT_FUTURES_AIO_INTERNAL_CORE_H_
#define CONCURRENT_FUTURES_AIO_INTERNAL_CORE_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace concurrent::aio {

class EventLoop;

namespace internal {

class FutureBase;
class TaskCore;

// Something the loop runs once from its ready queue (Python's Handle in
// `loop._ready`): a task's next step, a done callback, a call_soon() call.
class ReadyNode {
 public:
  ReadyNode() = default;
  ReadyNode(const ReadyNode&) = delete;
  ReadyNode& operator=(const ReadyNode&) = delete;

  // Runs the node. The loop has unlinked it first; the node may queue itself
  // again, or delete itself.
  virtual void run_ready() noexcept = 0;
  // The loop is closing and drops the node without running it.
  virtual void discard_ready() noexcept = 0;

 protected:
  ~ReadyNode() = default;

 private:
  friend class ReadyQueue;
  ReadyNode* next_ready_ = nullptr;
};

// A FIFO of ReadyNodes: O(1) push, pop and splice.
class ReadyQueue {
 public:
  ReadyQueue() = default;
  ReadyQueue(const ReadyQueue&) = delete;
  ReadyQueue& operator=(const ReadyQueue&) = delete;
  ReadyQueue(ReadyQueue&& other) noexcept
      : head_(std::exchange(other.head_, nullptr)),
        tail_(std::exchange(other.tail_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  void push(ReadyNode* node) noexcept {
    node->next_ready_ = nullptr;
    if (tail_ == nullptr) {
      head_ = node;
    } else {
      tail_->next_ready_ = node;
    }
    tail_ = node;
    ++size_;
  }
  ReadyNode* pop() noexcept {
    ReadyNode* node = head_;
    if (node != nullptr) {
      head_ = node->next_ready_;
      if (head_ == nullptr) tail_ = nullptr;
      node->next_ready_ = nullptr;
      --size_;
    }
    return node;
  }
  // Moves every node of `other` to the back of this queue.
  void splice(ReadyQueue& other) noexcept {
    if (other.head_ == nullptr) return;
    if (tail_ == nullptr) {
      head_ = other.head_;
    } else {
      tail_->next_ready_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }

 private:
  ReadyNode* head_ = nullptr;
  ReadyNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

// Something the loop runs at a time of its clock (Python's TimerHandle in
// `loop._scheduled`). The heap keeps each node's position, so cancelling a
// timer removes it at once: a sleeping coroutine's timer lives in its frame.
class TimerNode {
 public:
  static constexpr std::size_t kNotScheduled = ~std::size_t{0};

  TimerNode() = default;
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;

  // The time came: the heap has removed the node. Runs while the loop
  // collects due timers: it must only queue work (ReadyNodes), never run
  // user code.
  virtual void on_timer() noexcept = 0;
  // The loop is closing with the node still scheduled (the heap has removed
  // it).
  virtual void discard_timer() noexcept {}

  bool scheduled() const noexcept { return index_ != kNotScheduled; }
  // Loop time, in nanoseconds of CLOCK_MONOTONIC.
  std::int64_t when_ns() const noexcept { return when_ns_; }

 protected:
  ~TimerNode() = default;

 private:
  friend class TimerHeap;
  std::int64_t when_ns_ = 0;
  std::uint64_t seq_ = 0;  // ties run in the order they were scheduled
  std::size_t index_ = kNotScheduled;
};

// A binary min-heap of TimerNodes ordered by (when, order of scheduling).
class TimerHeap {
 public:
  bool empty() const noexcept { return heap_.empty(); }
  std::size_t size() const noexcept { return heap_.size(); }
  TimerNode* top() const noexcept { return heap_.front(); }

  void push(TimerNode* node, std::int64_t when_ns);
  // Removes a scheduled node.
  void remove(TimerNode* node) noexcept;
  TimerNode* pop() noexcept;

 private:
  static bool before(const TimerNode* a, const TimerNode* b) noexcept {
    return a->when_ns_ < b->when_ns_ ||
           (a->when_ns_ == b->when_ns_ && a->seq_ < b->seq_);
  }
  void place(std::size_t i, TimerNode* node) noexcept {
    heap_[i] = node;
    node->index_ = i;
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint64_t next_seq_ = 0;
};

// What a suspended task waits for (Python's `task._fut_waiter`), so that
// Task.cancel() can interrupt the wait.
class Waiter {
 public:
  // The waiting task is being cancelled: if the wait is still on, end it so
  // that the task wakes up and its co_await throws CancelledError(msg), and
  // return true. Return false if the wait is already over (the task was
  // woken, or is about to be).
  virtual bool cancel_wait(std::string_view msg) = 0;

 protected:
  ~Waiter() = default;
};

// Registered on a pending future; called when it completes, in the order of
// registration. It must only queue work: asyncio runs done callbacks through
// call_soon(), never inline.
class FutureCallback {
 public:
  FutureCallback() = default;
  FutureCallback(const FutureCallback&) = delete;
  FutureCallback& operator=(const FutureCallback&) = delete;

  virtual void on_future_done(FutureBase& future) noexcept = 0;
  // The future died with the callback still registered (it never
  // completed). Callbacks the future owns delete themselves here.
  virtual void on_future_dropped() noexcept {}
  bool linked() const noexcept { return owner_ != nullptr; }
  // Unregisters the callback from its future, if it is registered.
  void unlink() noexcept;

 protected:
  ~FutureCallback() = default;

 private:
  friend class FutureBase;
  FutureBase* owner_ = nullptr;
  FutureCallback* prev_ = nullptr;
  FutureCallback* next_ = nullptr;
};

// The type-independent part of an aio future's state (Python's
// asyncio.Future minus the result). Reference-counted; every Future handle,
// Task handle, scheduled callback and (for tasks) the loop own one.
class FutureBase {
 public:
  enum class State : std::uint8_t { kPending, kCancelled, kFinished };

  explicit FutureBase(EventLoop* loop) noexcept : loop_(loop) {}
  FutureBase(const FutureBase&) = delete;
  FutureBase& operator=(const FutureBase&) = delete;

  void ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // Only meaningful on the loop's thread, for heuristics and tests.
  std::uint32_t ref_count() const noexcept {
    return refs_.load(std::memory_order_relaxed);
  }

  EventLoop& loop() const noexcept { return *loop_; }
  State state() const noexcept { return state_; }
  bool done() const noexcept { return state_ != State::kPending; }
  bool cancelled() const noexcept { return state_ == State::kCancelled; }
  bool is_task() const noexcept { return is_task_; }

  // Python's Future.cancel(msg) (a Task overrides it with Task.cancel()).
  virtual bool cancel(std::string_view msg);

  // For result(): throws CancelledError if cancelled, InvalidStateError if
  // pending, the stored exception if it failed; returns if it has a value.
  void check_result() const {
    if (!has_value()) throw_result();
  }
  // Finished with a value (not cancelled, not failed).
  bool has_value() const noexcept {
    return state_ == State::kFinished && error_ == nullptr;
  }
  // Requires !has_value(): throws what check_result() throws.
  [[noreturn]] void throw_result() const;
  // For exception(): the exception or null; throws as check_result() does
  // for cancelled and pending futures.
  std::exception_ptr checked_exception() const;
  // The CancelledError of a cancelled future, the exception of a failed one.
  const std::exception_ptr& error() const noexcept { return error_; }

  // Python's set_exception(): throws InvalidStateError if the future is done
  // or is a task, std::invalid_argument if `e` is null.
  void set_exception(std::exception_ptr e);
  // Requires pending. Stores `e`, marks finished, schedules the callbacks.
  void store_exception(std::exception_ptr e) noexcept;
  // Requires pending. The derived class stored the value; marks finished and
  // schedules the callbacks.
  void mark_finished() noexcept;
  // Requires pending. Marks cancelled with `error` (a CancelledError) and
  // schedules the callbacks.
  void mark_cancelled(std::exception_ptr error) noexcept;
  // Throws InvalidStateError unless pending (and for tasks, always: a task's
  // result comes from its coroutine).
  void check_settable(const char* what) const;

  // Requires pending.
  void add_callback(FutureCallback* cb) noexcept;
  // Returns true if `cb` was registered here and is now removed.
  bool remove_callback(FutureCallback* cb) noexcept;
  // Removes (and disposes of, through `dispose`) every registered callback
  // for which `pred` is true; returns how many.
  template <typename Pred, typename Dispose>
  std::size_t remove_callbacks_if(Pred pred, Dispose dispose) {
    std::size_t n = 0;
    for (FutureCallback* cb = head_; cb != nullptr;) {
      FutureCallback* next = cb->next_;
      if (pred(cb)) {
        remove_callback(cb);
        dispose(cb);
        ++n;
      }
      cb = next;
    }
    return n;
  }

  // Marks the exception as retrieved (Python's `__log_traceback = False`).
  void mark_retrieved() noexcept {
    if (log_traceback_) log_traceback_ = false;
  }
  bool exception_unretrieved() const noexcept { return log_traceback_; }

  // "<Future pending>", "<Task finished name='Task-3'>": how messages name
  // this future.
  virtual std::string describe() const;
  // "Future@0x...", "Task-3": the default cancel message names it.
  virtual std::string short_name() const;

 protected:
  virtual ~FutureBase();
  void set_is_task() noexcept { is_task_ = true; }

 private:
  void schedule_callbacks() noexcept;

  EventLoop* const loop_;
  mutable std::atomic<std::uint32_t> refs_{1};
  State state_ = State::kPending;
  bool is_task_ = false;
  bool log_traceback_ = false;
  std::exception_ptr error_;
  FutureCallback* head_ = nullptr;
  FutureCallback* tail_ = nullptr;
};

// A task suspended on a future (co_await fut): registered on the future,
// it wakes the task when the future completes, and Task.cancel() cancels the
// future through it. Lives in the awaiting coroutine's frame.
class FutureWait final : public FutureCallback, public Waiter {
 public:
  // Registers on `future` (pending) for `task`. Throws std::invalid_argument
  // if they belong to different loops.
  FutureWait(FutureBase* future, TaskCore* task);
  ~FutureWait();

  void on_future_done(FutureBase& future) noexcept override;
  bool cancel_wait(std::string_view msg) override;
  // The task resumed: throws its pending cancellation, unless the future
  // was cancelled (its own CancelledError is thrown instead, and consumes
  // the request, as Python's __step does).
  void resumed();

 private:
  FutureBase* future_;
  TaskCore* task_;
};

// Holds one reference to a FutureBase (or a class derived from it).
template <typename S>
class Ref {
 public:
  Ref() noexcept = default;
  // Adopts a reference the caller owns.
  static Ref adopt(S* s) noexcept {
    Ref r;
    r.s_ = s;
    return r;
  }
  // Takes a new reference.
  static Ref share(S* s) noexcept {
    if (s != nullptr) s->ref();
    return adopt(s);
  }
  Ref(const Ref& o) noexcept : s_(o.s_) {
    if (s_ != nullptr) s_->ref();
  }
  Ref(Ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  template <typename U>
  requires std::is_convertible_v<U*, S*> Ref(const Ref<U>& o)
  noexcept : s_(o.get()) {
    if (s_ != nullptr) s_->ref();
  }
  Ref& operator=(Ref o) noexcept {
    std::swap(s_, o.s_);
    return *this;
  }
  ~Ref() {
    if (s_ != nullptr) s_->unref();
  }
  S* get() const noexcept { return s_; }
  S* operator->() const noexcept { return s_; }
  S& operator*() const noexcept { return *s_; }
  explicit operator bool() const noexcept { return s_ != nullptr; }
  S* release() noexcept { return std::exchange(s_, nullptr); }

 private:
  S* s_ = nullptr;
};

// The non-template part of a task (Python's asyncio.Task minus the Future):
// the coroutine it drives, what it waits for, its cancellation requests.
//
// Every resumption of a task's coroutines happens in step(), a trampoline:
// awaiting a child coroutine stores the child in `next_` and suspends, the
// child's final suspension stores the parent there, and step() resumes
// whatever is in `next_` until nothing is. So a chain of synchronously
// completing co_awaits runs at constant stack depth with or without the
// compiler's tail calls (g++ 12 makes none at -O0 or under ASan).
class TaskCore : public ReadyNode {
 public:
  TaskCore(const TaskCore&) = delete;
  TaskCore& operator=(const TaskCore&) = delete;

  EventLoop& loop() const noexcept { return *loop_; }
  virtual FutureBase& future() noexcept = 0;

  // Python's Task.cancel(msg), cancelling() and uncancel() (3.12).
  bool cancel(std::string_view msg);
  int cancelling() const noexcept { return num_cancels_requested_; }
  int uncancel() noexcept {
    if (num_cancels_requested_ > 0) --num_cancels_requested_;
    return num_cancels_requested_;
  }

  std::uint64_t id() const noexcept { return id_; }
  std::string name() const;
  void set_name(std::string name);

  // --- For awaitables (loop thread, while the task runs) ---

  // The coroutine `h` suspends until `waiter` wakes the task (with
  // schedule()). If a cancellation is pending, it is passed on to the
  // waiter at once (Python's __step does the same with a fresh _fut_waiter).
  void suspend_on(std::coroutine_handle<> h, Waiter* waiter) noexcept;
  // Queues the task's next step (its wake-up).
  void schedule() noexcept;
  // The trampoline's next frame (see above).
  void set_next(std::coroutine_handle<> h) noexcept { next_ = h; }
  // If a cancellation is pending (Python's _must_cancel), consumes it and
  // throws CancelledError with its message.
  void throw_if_cancel_requested() {
    if (must_cancel_) throw_cancel_requested();
  }
  // The awaited thing was cancelled and its own CancelledError is about to
  // be thrown: a pending request is consumed by it (Python's __step throws
  // one CancelledError for both).
  void clear_cancel_request() noexcept { must_cancel_ = false; }

  // --- For the loop ---
  void run_ready() noexcept override { step(); }
  void discard_ready() noexcept override {}
  // The loop is closing with this task pending: destroys its coroutine
  // frames and marks the future cancelled without running callbacks.
  void abandon() noexcept;
  bool started() const noexcept { return started_; }

 protected:
  TaskCore(EventLoop* loop, std::coroutine_handle<> top) noexcept;
  ~TaskCore();

  // The task's coroutine finished (top_ is at its final suspend point):
  // store the outcome into the future, release the frame. `must_cancel`
  // says whether a cancellation request was pending (it wins over a value).
  virtual void complete(bool must_cancel,
                        std::string_view message) noexcept = 0;
  // The coroutine never ran and was cancelled.
  virtual void complete_unstarted(std::string_view message) noexcept = 0;
  std::coroutine_handle<> top() const noexcept { return top_; }
  void release_frame() noexcept;

 private:
  friend class ::concurrent::aio::EventLoop;
  void step() noexcept;
  [[noreturn]] void throw_cancel_requested();

  EventLoop* const loop_;
  std::coroutine_handle<> top_;     // the task's own coroutine frame
  std::coroutine_handle<> resume_;  // where the task resumes when woken
  std::coroutine_handle<> next_;    // the trampoline's next frame
  Waiter* waiter_ = nullptr;
  std::string* cancel_message_ = nullptr;  // owned; set with must_cancel_
  int num_cancels_requested_ = 0;
  bool must_cancel_ = false;
  bool started_ = false;
  bool queued_ = false;
  std::uint64_t id_ = 0;
  std::string* name_ = nullptr;  // owned; null: "Task-<id>"
  // The loop's list of pending tasks.
  TaskCore* prev_live_ = nullptr;
  TaskCore* next_live_ = nullptr;
};

// The CancelledError a future raises: `msg`, or a default naming `what`.
std::exception_ptr MakeCancelledError(std::string_view msg,
                                      std::string_view what);

}  // namespace internal
}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_INTERNAL_CORE_H_
