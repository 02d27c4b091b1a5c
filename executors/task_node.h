// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: executors/task_node.h
// -----------------------------------------------------------------------------
//
// The extension point for writing an executor. `concurrent::TaskNode` is what
// an executor sees of a submitted task: `Executor::submit()` fuses the
// callable, its arguments and the state of the returned Future into one
// object and hands it to the executor's `execute(TaskNode*)`, which decides
// where and when it runs. `concurrent::TaskQueue` is an intrusive FIFO of
// nodes for executors that queue them.
//
// An executor does exactly one of these with every node it accepted:
//   * `run()`: claims the task (unless it was cancelled meanwhile), runs it,
//     completes its future with the value or the exception;
//   * `fail_and_release(error)`: completes its future with `error` (say, the
//     executor broke before the task could run);
//   * `cancel_and_release()`: cancels its future (say,
//     `shutdown(cancel_futures = true)`).
// Each of the three drops the executor's reference: the node must not be
// touched afterwards.
//
// Example (an executor that runs every task on one thread of its own; see
// executors/manual_executor.cc for a complete one):
//
//   class OneThreadExecutor final : public concurrent::Executor {
//    public:
//     ~OneThreadExecutor() override { shutdown(); }
//     void shutdown(bool wait = true, bool cancel_futures = false) override;
//
//    private:
//     void execute(concurrent::TaskNode* task) override {
//       absl::MutexLock lock(&mu_);
//       if (stopped_) throw concurrent::ExecutorShutdownError("stopped");
//       queue_.push_back(task);  // the worker thread pops it, calls run()
//     }
//     absl::Mutex mu_;
//     concurrent::TaskQueue queue_ ABSL_GUARDED_BY(mu_);
//     bool stopped_ ABSL_GUARDED_BY(mu_) = false;
//   };
//
// Thread-safety: a node's `run()`, `fail_and_release()` and
// `cancel_and_release()` may be called from any thread, once, concurrently
// with any method of the task's futures (a user may cancel() it at any time:
// `run()` then drops it without running it). `next` and `owner` are plain
// fields of the executor that holds the node. A `TaskQueue` is
// thread-compatible: guard it with the executor's lock.
//
// Memory ordering: the executor must hand a node from the thread that called
// execute() to the thread that runs it with a release/acquire pair (a mutex,
// an atomic queue): then everything the submitting thread did before
// `submit()` happens before the task runs. The task's future gives the rest
// (see futures/future.h): everything the task did happens before a
// `result()` that returns its value, and before its done callbacks run.
//
// Errors: the node's methods never throw (what the task throws goes into its
// future). `execute()` refuses a task by throwing ExecutorShutdownError or
// BrokenExecutor without touching the node; the caller then drops it.

#ifndef CONCURRENT_EXECUTORS_TASK_NODE_H_
#define CONCURRENT_EXECUTORS_TASK_NODE_H_

#include <atomic>
#include <cstddef>
#include <exception>
#include <utility>

#include "futures/future.h"
#include "futures/internal/shared_state.h"

namespace concurrent {

// A task as its executor sees it; see the top of this file.
class TaskNode {
 public:
  TaskNode(const TaskNode&) = delete;
  TaskNode& operator=(const TaskNode&) = delete;

  // Claims the task (unless it was cancelled, or claimed by a waiter that
  // runs it inline), runs it, completes its future, and drops the executor's
  // reference.
  virtual void run() noexcept = 0;

  // Runs a task that the caller claimed with try_claim(), and completes its
  // future. Keeps the executor's reference: the executor still calls run()
  // (which finds the task claimed and only drops it), fail_and_release() or
  // cancel_and_release() (both then change nothing but the reference) later.
  // This is how a thread that waits on a queued task can run it at once.
  virtual void run_claimed() noexcept = 0;

  // If the task was not claimed yet, claims it and fails its future with
  // `error` (its result() rethrows that object). Drops the executor's
  // reference.
  virtual void fail_and_release(std::exception_ptr error) noexcept = 0;

  // Cancels the task if it is still pending (Python's Future.cancel(): its
  // result() then throws CancelledError and its callbacks run, in this
  // thread), and drops the executor's reference.
  virtual void cancel_and_release() noexcept = 0;

  // The state of the task's future (the same object). Internal to the
  // library: executors of this repository use it to recognise their own
  // tasks when a thread blocks on a future.
  virtual internal::StateBase& state() noexcept = 0;

  // Moves the task from pending to running and returns true, once; false if
  // it was cancelled or claimed already. Pair with run_claimed().
  bool try_claim() noexcept { return state().try_set_running(); }

  // A handle on the task's future (no value access: an AnyFuture).
  AnyFuture future() noexcept {
    return internal::FutureAccess::share_any(&state());
  }

  // Free for the executor that holds the node: an intrusive queue link (used
  // by TaskQueue), and the identity of the executor. Set `owner` in
  // execute() once the task is accepted, so that a thread waiting on the
  // task's future can tell its own executor's tasks; it is atomic because
  // such a thread may read it while execute() runs (a then(executor, fn)
  // continuation is executed when its source completes, after its future
  // was handed out). `task->owner = this` works; the executors here store
  // with memory_order_relaxed.
  TaskNode* next = nullptr;
  std::atomic<const void*> owner{nullptr};

 protected:
  TaskNode() = default;
  ~TaskNode() = default;
};

// An intrusive FIFO of TaskNodes, linked through TaskNode::next: no
// allocation per push. It owns the executor's reference of the nodes it
// holds: destroying a non-empty queue cancels them (cancel_and_release()).
// Thread-compatible. Move-only; a moved-from queue is empty.
class TaskQueue {
 public:
  TaskQueue() = default;
  TaskQueue(TaskQueue&& other) noexcept
      : head_(std::exchange(other.head_, nullptr)),
        tail_(std::exchange(other.tail_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  TaskQueue& operator=(TaskQueue&& other) noexcept {
    TaskQueue(std::move(other)).swap(*this);
    return *this;
  }
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;
  ~TaskQueue() { cancel_all(); }

  void swap(TaskQueue& other) noexcept {
    std::swap(head_, other.head_);
    std::swap(tail_, other.tail_);
    std::swap(size_, other.size_);
  }

  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

  // Appends `node` (not in any queue).
  void push_back(TaskNode* node) noexcept {
    node->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = node;
    } else {
      head_ = node;
    }
    tail_ = node;
    ++size_;
  }

  // Removes and returns the oldest node; null if empty. The caller now owns
  // its reference.
  TaskNode* pop_front() noexcept {
    TaskNode* node = head_;
    if (node != nullptr) {
      head_ = node->next;
      if (head_ == nullptr) tail_ = nullptr;
      node->next = nullptr;
      --size_;
    }
    return node;
  }

  // Cancels every queued node, oldest first (cancel_and_release()), leaving
  // the queue empty. Runs the futures' done callbacks in this thread: call it
  // without holding a lock that a callback may need.
  void cancel_all() noexcept {
    while (TaskNode* node = pop_front()) node->cancel_and_release();
  }

 private:
  TaskNode* head_ = nullptr;
  TaskNode* tail_ = nullptr;
  std::size_t size_ = 0;
};

namespace internal {
// The name TaskNode had while it was private.
using TaskNode = ::concurrent::TaskNode;
}  // namespace internal

}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_TASK_NODE_H_
