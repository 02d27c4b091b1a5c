// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// Futures. An aio future is a state word (pending, cancelled, finished), a
// result, and an intrusive list of FutureCallbacks. Completing it unlinks
// every callback and calls on_future_done() on each, in registration order;
// each one only queues work on the loop (a done callback queues itself, a
// task awaiting the future queues the task), which is how asyncio's rule
// "callbacks run through call_soon(), never inline" holds without allocating
// a handle per callback.
//
// Tasks. A task is a FutureState<T> and a TaskCore in one allocation. The
// loop holds one reference from create_task() until the coroutine finishes.
// A step (Python's Task.__step) resumes the coroutine frame where the task
// suspended, then runs the trampoline (see internal/core.h) until no frame is
// left to run. A coroutine suspends on an awaitable that registers itself as
// the task's Waiter; Task.cancel() asks the waiter to end the wait
// (cancel_wait), and if there is no waiter, or the wait is already over, sets
// must_cancel: the next resumption then throws CancelledError from the
// awaiting expression's await_resume(). That is Python's
// `_fut_waiter.cancel()` / `_must_cancel` pair; cancellation is the only path
// that throws through co_await without the coroutine having failed.
//
// A coroutine that lets a CancelledError escape makes its task cancelled,
// and result() rethrows that exception object (so its message survives the
// trip through nested tasks, as 3.12's `_cancelled_exc` does).

#include "futures/aio/internal/core.h"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/internal/callbacks.h"
#include "futures/errors.h"

namespace concurrent::aio {
namespace internal {

// --- TimerHeap ---

void TimerHeap::push(TimerNode* node, std::int64_t when_ns) {
  node->when_ns_ = when_ns;
  node->seq_ = next_seq_++;
  heap_.push_back(node);
  node->index_ = heap_.size() - 1;
  sift_up(node->index_);
}

void TimerHeap::remove(TimerNode* node) noexcept {
  const std::size_t i = node->index_;
  TimerNode* last = heap_.back();
  heap_.pop_back();
  node->index_ = TimerNode::kNotScheduled;
  if (last == node) return;
  place(i, last);
  sift_up(i);
  sift_down(last->index_);
}

TimerNode* TimerHeap::pop() noexcept {
  TimerNode* node = heap_.front();
  remove(node);
  return node;
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  TimerNode* node = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!before(node, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, node);
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  TimerNode* node = heap_[i];
  const std::size_t n = heap_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap_[child + 1], heap_[child])) ++child;
    if (!before(heap_[child], node)) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, node);
}

// --- Errors ---

std::exception_ptr MakeCancelledError(std::string_view msg,
                                      std::string_view what) {
  if (!msg.empty()) {
    return std::make_exception_ptr(CancelledError(std::string(msg)));
  }
  return std::make_exception_ptr(
      CancelledError(std::string(what) + " was cancelled"));
}

bool IsCancelledError(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

void ThrowTaken(const FutureBase& state) {
  throw InvalidStateError(
      absl::StrCat("the result of ", state.describe(), " was moved out"));
}

void ThrowInvalidHandle() {
  throw InvalidStateError(
      "invalid aio future handle (default-constructed or "
      "moved-from)");
}

void ThrowAlreadyAwaited() {
  throw InvalidStateError(
      "coroutine was already awaited (a Coroutine runs once: await it or wrap "
      "it in a task, not both)");
}

// --- FutureBase ---

FutureBase::~FutureBase() {
  for (FutureCallback* cb = head_; cb != nullptr;) {
    FutureCallback* next = cb->next_;
    cb->owner_ = nullptr;
    cb->prev_ = cb->next_ = nullptr;
    cb->on_future_dropped();
    cb = next;
  }
}

std::string FutureBase::short_name() const {
  return absl::StrFormat("Future@%p", static_cast<const void*>(this));
}

std::string FutureBase::describe() const {
  const char* state = state_ == State::kPending     ? "pending"
                      : state_ == State::kCancelled ? "cancelled"
                                                    : "finished";
  return absl::StrCat("<", short_name(), " ", state, ">");
}

bool FutureBase::cancel(std::string_view msg) {
  log_traceback_ = false;
  if (state_ != State::kPending) return false;
  mark_cancelled(MakeCancelledError(msg, short_name()));
  return true;
}

void FutureBase::throw_result() const {
  if (state_ == State::kPending) {
    throw InvalidStateError(absl::StrCat("Result is not ready: ", describe()));
  }
  // Cancelled (its CancelledError) or failed (its exception).
  std::rethrow_exception(error_);
}

std::exception_ptr FutureBase::checked_exception() const {
  switch (state_) {
    case State::kCancelled:
      std::rethrow_exception(error_);
    case State::kPending:
      throw InvalidStateError(
          absl::StrCat("Exception is not set: ", describe()));
    case State::kFinished:
      break;
  }
  return error_;
}

void FutureBase::check_settable(const char* what) const {
  if (is_task_) {
    throw InvalidStateError(
        absl::StrCat("Task does not support ", what, " operation"));
  }
  if (state_ != State::kPending) {
    throw InvalidStateError(absl::StrCat(what, ": invalid state ", describe()));
  }
}

void FutureBase::set_exception(std::exception_ptr e) {
  if (e == nullptr) {
    throw std::invalid_argument("set_exception(nullptr): no exception given");
  }
  check_settable("set_exception");
  store_exception(std::move(e));
}

void FutureBase::store_exception(std::exception_ptr e) noexcept {
  error_ = std::move(e);
  state_ = State::kFinished;
  log_traceback_ = true;
  schedule_callbacks();
}

void FutureBase::mark_finished() noexcept {
  state_ = State::kFinished;
  schedule_callbacks();
}

void FutureBase::mark_cancelled(std::exception_ptr error) noexcept {
  error_ = std::move(error);
  state_ = State::kCancelled;
  schedule_callbacks();
}

void FutureBase::add_callback(FutureCallback* cb) noexcept {
  cb->owner_ = this;
  cb->prev_ = tail_;
  cb->next_ = nullptr;
  if (tail_ == nullptr) {
    head_ = cb;
  } else {
    tail_->next_ = cb;
  }
  tail_ = cb;
}

bool FutureBase::remove_callback(FutureCallback* cb) noexcept {
  if (cb->owner_ != this) return false;
  if (cb->prev_ == nullptr) {
    head_ = cb->next_;
  } else {
    cb->prev_->next_ = cb->next_;
  }
  if (cb->next_ == nullptr) {
    tail_ = cb->prev_;
  } else {
    cb->next_->prev_ = cb->prev_;
  }
  cb->owner_ = nullptr;
  cb->prev_ = cb->next_ = nullptr;
  return true;
}

void FutureCallback::unlink() noexcept {
  if (owner_ != nullptr) owner_->remove_callback(this);
}

void FutureBase::schedule_callbacks() noexcept {
  FutureCallback* cb = head_;
  head_ = tail_ = nullptr;
  while (cb != nullptr) {
    FutureCallback* next = cb->next_;
    cb->owner_ = nullptr;
    cb->prev_ = cb->next_ = nullptr;
    cb->on_future_done(*this);
    cb = next;
  }
}

// --- FutureWait ---

FutureWait::FutureWait(FutureBase* future, TaskCore* task)
    : future_(future), task_(task) {
  if (&task->loop() != &future->loop()) {
    throw std::invalid_argument(
        "a task awaited a future attached to a different loop");
  }
  future->ref();
  future->add_callback(this);
}

FutureWait::~FutureWait() {
  future_->remove_callback(this);  // a frame destroyed while waiting
  future_->unref();
}

void FutureWait::on_future_done(FutureBase&) noexcept { task_->schedule(); }

bool FutureWait::cancel_wait(std::string_view msg) {
  return future_->cancel(msg);
}

void FutureWait::resumed() {
  if (future_->cancelled()) {
    task_->clear_cancel_request();
  } else {
    task_->throw_if_cancel_requested();
  }
}

// --- Done callbacks ---

std::uint64_t NextCallbackId() noexcept {
  static std::atomic<std::uint64_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) + 1;
}

void DoneCallbackBase::on_future_done(FutureBase& future) noexcept {
  future.ref();
  future_ = &future;
  future.loop().schedule(this);
}

void DoneCallbackBase::run_ready() noexcept {
  try {
    invoke(*future_);
  } catch (...) {
    future_->loop().call_exception_handler({"Exception in done callback",
                                            std::current_exception(),
                                            future_->describe()});
  }
  delete this;
}

void CallbackNode::run_ready() noexcept {
  if (!cancelled()) {
    try {
      invoke();
    } catch (...) {
      loop_->call_exception_handler(
          {"Exception in callback", std::current_exception(), ""});
    }
  }
  unref();
}

void TimerCallbackNode::on_timer() noexcept {
  // The heap's reference becomes the ready queue's.
  loop().schedule(this);
}

// --- TaskCore ---

TaskCore::TaskCore(EventLoop* loop, std::coroutine_handle<> top) noexcept
    : loop_(loop), top_(top), id_(loop->next_task_id()) {}

TaskCore::~TaskCore() {
  release_frame();
  delete cancel_message_;
  delete name_;
}

std::string TaskCore::name() const {
  return name_ != nullptr ? *name_ : absl::StrCat("Task-", id_);
}

void TaskCore::set_name(std::string name) {
  if (name_ == nullptr) {
    name_ = new std::string(std::move(name));
  } else {
    *name_ = std::move(name);
  }
}

bool TaskCore::cancel(std::string_view msg) {
  FutureBase& f = future();
  f.mark_retrieved();
  if (f.done()) return false;
  ++num_cancels_requested_;
  if (waiter_ != nullptr && waiter_->cancel_wait(msg)) return true;
  must_cancel_ = true;
  if (cancel_message_ == nullptr) {
    cancel_message_ = new std::string(msg);
  } else {
    cancel_message_->assign(msg);
  }
  return true;
}

void TaskCore::throw_cancel_requested() {
  must_cancel_ = false;
  std::string msg;
  if (cancel_message_ != nullptr) msg = std::move(*cancel_message_);
  if (!msg.empty()) throw CancelledError(msg);
  throw CancelledError(absl::StrCat(name(), " was cancelled"));
}

void TaskCore::suspend_on(std::coroutine_handle<> h, Waiter* waiter) noexcept {
  resume_ = h;
  waiter_ = waiter;
  if (must_cancel_ && waiter != nullptr) {
    const std::string_view msg =
        cancel_message_ != nullptr ? std::string_view(*cancel_message_) : "";
    if (waiter->cancel_wait(msg)) must_cancel_ = false;
  }
}

void TaskCore::schedule() noexcept {
  if (queued_) return;
  queued_ = true;
  loop_->schedule(this);
}

void TaskCore::release_frame() noexcept {
  if (top_) std::exchange(top_, nullptr).destroy();
}

void TaskCore::step() noexcept {
  queued_ = false;
  waiter_ = nullptr;
  FutureBase& f = future();
  if (f.done()) return;
  std::coroutine_handle<> h;
  if (!started_) {
    started_ = true;
    if (must_cancel_) {
      // Python throws CancelledError into the unstarted coroutine, which
      // ends it before its first line: the body never runs.
      must_cancel_ = false;
      std::string msg;
      if (cancel_message_ != nullptr) msg = std::move(*cancel_message_);
      loop_->unlink_task(this);
      complete_unstarted(msg);
      f.unref();  // the loop's
      return;
    }
    h = top_;
  } else {
    h = std::exchange(resume_, nullptr);
  }
  loop_->set_current_task(this);
  do {
    h.resume();
    h = std::exchange(next_, nullptr);
  } while (h);
  loop_->set_current_task(nullptr);
  if (!top_.done()) return;

  const bool must_cancel = std::exchange(must_cancel_, false);
  std::string msg;
  if (must_cancel && cancel_message_ != nullptr) {
    msg = std::move(*cancel_message_);
  }
  loop_->unlink_task(this);
  complete(must_cancel, msg);
  if (f.exception_unretrieved() && f.ref_count() == 1) {
    // Only the loop holds the task: no one can ever retrieve the exception
    // (Python logs "Task exception was never retrieved" when it collects it).
    loop_->call_exception_handler(
        {"Task exception was never retrieved", f.error(), f.describe()});
  }
  f.unref();  // the loop's
}

void TaskCore::abandon() noexcept {
  FutureBase& f = future();
  loop_->call_exception_handler(
      {"Task was destroyed but it is pending!", nullptr, f.describe()});
  release_frame();
  waiter_ = nullptr;
  if (!f.done()) {
    f.mark_cancelled(MakeCancelledError(
        "the event loop was closed with the task pending", name()));
  }
}

std::string DescribeTask(const FutureBase& future, const TaskCore& task) {
  const char* state = future.state() == FutureBase::State::kPending ? "pending"
                      : future.cancelled() ? "cancelled"
                                           : "finished";
  return absl::StrCat("<Task ", state, " name='", task.name(), "'>");
}

// --- sleep() ---

SleepAwaiter::~SleepAwaiter() {
  if (scheduled()) task_->loop().remove_timer(this);
}

void SleepAwaiter::suspend(TaskCore* task, std::coroutine_handle<> h) {
  task_ = task;
  if (delay_ns_ <= 0) {
    // asyncio.sleep(0): a bare yield; the task goes to the back of the queue.
    task->suspend_on(h, nullptr);
    task->schedule();
    return;
  }
  EventLoop& loop = task->loop();
  loop.add_timer(this, loop.time() + absl::Nanoseconds(delay_ns_));
  task->suspend_on(h, this);
}

void SleepAwaiter::on_timer() noexcept { task_->schedule(); }

bool SleepAwaiter::cancel_wait(std::string_view msg) {
  if (!scheduled()) return false;
  task_->loop().remove_timer(this);
  cancelled_ = MakeCancelledError(msg, task_->name());
  task_->schedule();
  return true;
}

void SleepAwaiter::await_resume() {
  if (cancelled_ != nullptr) {
    task_->clear_cancel_request();
    std::rethrow_exception(cancelled_);
  }
  task_->throw_if_cancel_requested();
}

}  // namespace internal

std::exception_ptr AnyTask::exception() const {
  internal::FutureBase& s = checked();
  s.mark_retrieved();
  return s.checked_exception();
}

}  // namespace concurrent::aio
