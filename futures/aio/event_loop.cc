// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// One iteration (Python's BaseEventLoop._run_once):
//   1. Wait for I/O: not at all if callbacks are ready (or stop() was
//      called), until the earliest timer if there is one, else until woken.
//      epoll_pwait2 takes the timeout in nanoseconds (epoll_wait's
//      milliseconds, rounded up, where the kernel lacks it). Events only
//      queue work: a ready fd queues its callback or wakes its task.
//   2. Queue the timers that are due.
//   3. Run exactly the callbacks queued so far (the ready queue is moved
//      aside first): what they schedule runs in the next iteration.
// When callbacks are ready and no fd besides the eventfd is registered,
// step 1 skips the system call entirely: a loop that only switches tasks
// (sleep(0), futures completed by other tasks) never enters the kernel.
//
// call_soon_threadsafe() (see internal/inbox.h): the posting thread pushes
// its node under the inbox mutex, then sets the atomic `pending_` flag; only
// the thread that turns it from false to true writes the eventfd. The loop
// swaps the flag back to false before it takes the queue, so a post that
// lands after the swap rings again: no post is lost, and a burst of posts
// costs one eventfd write.

#include "futures/aio/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/inbox.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {
namespace {

thread_local EventLoop* tls_running_loop = nullptr;

[[noreturn]] void ThrowErrno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

}  // namespace

EventLoop* running_loop() noexcept { return tls_running_loop; }

EventLoop& get_running_loop() {
  if (tls_running_loop == nullptr) {
    throw InvalidStateError("no running event loop");
  }
  return *tls_running_loop;
}

namespace internal {

// --- Inbox ---

Inbox::Inbox() : event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (event_fd_ < 0) ThrowErrno("eventfd");
}

Inbox::~Inbox() {
  close();
  ::close(event_fd_);
}

void Inbox::post(CallbackNode* node) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_) {
      queue_.push(node);
      node = nullptr;
    }
  }
  if (node != nullptr) {
    node->unref();
    throw InvalidStateError("Event loop is closed");
  }
  if (!pending_.exchange(true, std::memory_order_acq_rel)) {
    const std::uint64_t one = 1;
    // Fails only if the counter would overflow: it is rung already.
    [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof one);
  }
}

void Inbox::drain(ReadyQueue& out, bool force) {
  if (!force && !pending_.load(std::memory_order_relaxed)) return;
  if (!pending_.exchange(false, std::memory_order_acq_rel) && !force) return;
  absl::MutexLock lock(&mu_);
  out.splice(queue_);
}

void Inbox::clear_event_fd() noexcept {
  std::uint64_t count;
  [[maybe_unused]] ssize_t n = ::read(event_fd_, &count, sizeof count);
}

void Inbox::close() noexcept {
  ReadyQueue dropped;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    dropped.splice(queue_);
  }
  while (ReadyNode* node = dropped.pop()) node->discard_ready();
}

void ThrowStoppedEarly() {
  throw InvalidStateError("Event loop stopped before Future completed.");
}

void ThrowForeignFuture() {
  throw std::invalid_argument(
      "The future belongs to a different loop than the one specified as the "
      "loop argument");
}

void ThrowNestedRun() {
  throw InvalidStateError(
      "aio::run() cannot be called from a running event loop");
}

void ShutdownForRun(EventLoop& loop) noexcept {
  // Python's _cancel_all_tasks(): cancel, let them finish, report errors.
  std::vector<AnyTask> tasks = loop.all_tasks();
  for (AnyTask& t : tasks) t.cancel();
  if (!tasks.empty() && !loop.is_closed()) {
    std::size_t remaining = tasks.size();
    for (AnyTask& t : tasks) {
      if (t.done()) --remaining;
    }
    // Each task's completion counts down; the last one stops the loop.
    struct Countdown final : FutureCallback {
      EventLoop* loop;
      std::size_t* remaining;
      void on_future_done(FutureBase&) noexcept override {
        if (--*remaining == 0) loop->stop();
      }
    };
    std::vector<Countdown> counters(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      counters[i].loop = &loop;
      counters[i].remaining = &remaining;
      FutureBase& f = tasks[i].core().future();
      if (!f.done()) f.add_callback(&counters[i]);
    }
    try {
      while (remaining > 0) loop.run_forever();
    } catch (...) {
      loop.call_exception_handler(
          {"error while cancelling the tasks left by aio::run()",
           std::current_exception(), ""});
    }
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      tasks[i].core().future().remove_callback(&counters[i]);
    }
    for (AnyTask& t : tasks) {
      if (!t.done() || t.cancelled()) continue;
      if (std::exception_ptr e = t.exception()) {
        loop.call_exception_handler(
            {"unhandled exception during aio::run() shutdown", e,
             t.core().future().describe()});
      }
    }
  }
  try {
    loop.close();
  } catch (...) {
    // close() throws only while running, which this loop is not.
  }
}

}  // namespace internal

// --- EventLoop ---

EventLoop::EventLoop()
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)),
      inbox_(std::make_shared<internal::Inbox>()) {
  if (epoll_fd_ < 0) ThrowErrno("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the eventfd
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inbox_->event_fd(), &ev) != 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "epoll_ctl");
  }
}

EventLoop::~EventLoop() {
  if (running_) {
    std::fputs("aio::EventLoop destroyed while running\n", stderr);
    std::terminate();
  }
  close();
}

std::int64_t EventLoop::now_ns() const noexcept {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void EventLoop::check_open() const {
  if (closed_) throw InvalidStateError("Event loop is closed");
}

void EventLoop::add_timer(internal::TimerNode* node, absl::Duration when) {
  timers_.push(node, absl::ToInt64Nanoseconds(when));
}

void EventLoop::remove_timer(internal::TimerNode* node) noexcept {
  if (node->scheduled()) timers_.remove(node);
}

void TimerHandle::cancel() noexcept {
  if (!node_) return;
  node_->cancel();
  if (node_->scheduled()) {
    node_->loop().remove_timer(node_.get());
    node_->unref();  // the heap's
  }
}

void EventLoop::link_task(internal::TaskCore* task) noexcept {
  task->prev_live_ = nullptr;
  task->next_live_ = live_tasks_;
  if (live_tasks_ != nullptr) live_tasks_->prev_live_ = task;
  live_tasks_ = task;
}

void EventLoop::unlink_task(internal::TaskCore* task) noexcept {
  if (task->prev_live_ != nullptr) {
    task->prev_live_->next_live_ = task->next_live_;
  } else if (live_tasks_ == task) {
    live_tasks_ = task->next_live_;
  }
  if (task->next_live_ != nullptr) {
    task->next_live_->prev_live_ = task->prev_live_;
  }
  task->prev_live_ = task->next_live_ = nullptr;
}

std::vector<AnyTask> EventLoop::all_tasks() const {
  std::vector<AnyTask> tasks;
  for (internal::TaskCore* t = live_tasks_; t != nullptr; t = t->next_live_) {
    tasks.emplace_back(t);
  }
  // Oldest first, as they were created.
  std::reverse(tasks.begin(), tasks.end());
  return tasks;
}

std::optional<AnyTask> EventLoop::current_task() const {
  if (current_task_ == nullptr) return std::nullopt;
  return AnyTask(current_task_);
}

std::optional<AnyTask> current_task() {
  return get_running_loop().current_task();
}

std::vector<AnyTask> all_tasks() { return get_running_loop().all_tasks(); }

void EventLoop::set_exception_handler(ExceptionHandler handler) {
  exception_handler_ = std::move(handler);
}

void EventLoop::default_exception_handler(const ExceptionContext& context) {
  std::string line = "aio: " + context.message;
  if (!context.future.empty()) absl::StrAppend(&line, " ", context.future);
  if (context.exception != nullptr) {
    try {
      std::rethrow_exception(context.exception);
    } catch (const std::exception& e) {
      absl::StrAppend(&line, ": ", e.what());
    } catch (...) {
      absl::StrAppend(&line, ": (a non-std::exception)");
    }
  }
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

void EventLoop::call_exception_handler(
    const ExceptionContext& context) noexcept {
  try {
    if (exception_handler_) {
      exception_handler_(context);
    } else {
      default_exception_handler(context);
    }
  } catch (...) {
    std::fputs("aio: the exception handler threw\n", stderr);
  }
}

void EventLoop::run_forever() {
  check_open();
  if (running_) throw InvalidStateError("This event loop is already running");
  if (tls_running_loop != nullptr) {
    throw InvalidStateError(
        "Cannot run the event loop while another loop is running");
  }
  running_ = true;
  tls_running_loop = this;
  struct Reset {
    EventLoop* loop;
    ~Reset() {
      loop->running_ = false;
      loop->stopping_ = false;
      tls_running_loop = nullptr;
    }
  } reset{this};
  for (;;) {
    run_once();
    if (stopping_) break;
  }
}

void EventLoop::run_once() {
  std::int64_t timeout_ns = -1;  // wait until woken
  if (!ready_.empty() || stopping_) {
    timeout_ns = 0;
  } else if (!timers_.empty()) {
    timeout_ns = std::max<std::int64_t>(0, timers_.top()->when_ns() - now_ns());
  }
  if (timeout_ns == 0 && active_io_ == 0) {
    inbox_->drain(ready_);
  } else {
    poll(timeout_ns);
  }
  if (!timers_.empty()) {
    const std::int64_t now = now_ns();
    while (!timers_.empty() && timers_.top()->when_ns() <= now) {
      timers_.pop()->on_timer();
    }
  }
  internal::ReadyQueue batch(std::move(ready_));
  while (internal::ReadyNode* node = batch.pop()) node->run_ready();
}

void EventLoop::poll(std::int64_t timeout_ns) {
  static bool have_pwait2 = true;
  constexpr int kMaxEvents = 128;
  epoll_event events[kMaxEvents];
  int n = -1;
  if (have_pwait2) {
    timespec ts{.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000),
                .tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000)};
    n = ::epoll_pwait2(epoll_fd_, events, kMaxEvents,
                       timeout_ns < 0 ? nullptr : &ts, nullptr);
    if (n < 0 && errno == ENOSYS) have_pwait2 = false;
  }
  if (!have_pwait2) {
    int ms = -1;
    if (timeout_ns >= 0) {
      const std::int64_t rounded = (timeout_ns + 999'999) / 1'000'000;
      ms = rounded > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(rounded);
    }
    n = ::epoll_wait(epoll_fd_, events, kMaxEvents, ms);
  }
  if (n < 0) {
    if (errno != EINTR) {
      call_exception_handler(
          {"epoll_wait failed",
           std::make_exception_ptr(
               std::system_error(errno, std::generic_category(), "epoll_wait")),
           ""});
    }
    n = 0;
  }
  bool rung = false;
  for (int i = 0; i < n; ++i) {
    auto* source = static_cast<internal::IoSource*>(events[i].data.ptr);
    if (source == nullptr) {
      rung = true;
    } else {
      source->on_io(events[i].events);
    }
  }
  if (rung) inbox_->clear_event_fd();
  inbox_->drain(ready_, rung);
}

void EventLoop::close() {
  if (running_) throw InvalidStateError("Cannot close a running event loop");
  if (closed_) return;
  closed_ = true;
  inbox_->close();
  // Pending tasks: report, destroy their frames (their awaiters unregister
  // from futures, timers and fds), mark them cancelled.
  std::vector<internal::TaskCore*> pending;
  for (internal::TaskCore* t = live_tasks_; t != nullptr; t = t->next_live_) {
    pending.push_back(t);
  }
  std::reverse(pending.begin(), pending.end());
  for (internal::TaskCore* t : pending) t->abandon();
  while (internal::ReadyNode* node = ready_.pop()) node->discard_ready();
  while (!timers_.empty()) timers_.pop()->discard_timer();
  for (internal::TaskCore* t : pending) {
    unlink_task(t);
    t->future().unref();  // the loop's
  }
  // What is still registered belongs to streams or fd callbacks.
  std::vector<internal::IoSource*> sources;
  sources.reserve(io_.size());
  for (auto& [fd, source] : io_) sources.push_back(source);
  for (internal::IoSource* s : sources) s->on_loop_closed();
  io_.clear();
  ::close(epoll_fd_);
  epoll_fd_ = -1;
}

// --- fd registrations ---

internal::IoSource* EventLoop::io_source(int fd) const noexcept {
  auto it = io_.find(fd);
  return it == io_.end() ? nullptr : it->second;
}

void EventLoop::register_io(internal::IoSource* source, std::uint32_t events) {
  check_open();
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = source;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, source->fd(), &ev) != 0) {
    if (errno != EEXIST ||
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, source->fd(), &ev) != 0) {
      ThrowErrno("epoll_ctl");
    }
  }
  io_[source->fd()] = source;
}

void EventLoop::modify_io(internal::IoSource* source, std::uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = source;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, source->fd(), &ev) != 0) {
    // The fd was closed and its number reused since it was registered.
    if (errno != ENOENT ||
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, source->fd(), &ev) != 0) {
      ThrowErrno("epoll_ctl");
    }
  }
}

void EventLoop::unregister_io(internal::IoSource* source) noexcept {
  if (epoll_fd_ >= 0) {
    epoll_event ev{};
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, source->fd(), &ev);
  }
  forget_io(source->fd());
}

void EventLoop::forget_io(int fd) noexcept { io_.erase(fd); }

}  // namespace concurrent::aio
