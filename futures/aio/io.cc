// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// fd callbacks (add_reader/add_writer) are one level-triggered registration
// per fd whose interest follows the callbacks present; each event queues the
// callback node (one reference per queuing), as Python's selector loop
// appends the reader's Handle to `_ready`. Removing or replacing a callback
// cancels its node, so a node already queued for this iteration does not
// run.
//
// Socket operations try the system call first and wait only on EAGAIN. The
// wait arms the fd one-shot (EPOLLONESHOT) for the directions that have a
// waiting task: one epoll_ctl per wait, where Python's add_reader/
// remove_reader pair costs two. Once the event fires the fd is disabled in
// the epoll set and stays there, harmless, until the next wait re-arms it
// with EPOLL_CTL_MOD (ENOENT if the fd was closed meanwhile: then ADD). A wait
// cancelled before its event removes the registration (EPOLL_CTL_DEL), so no
// event can name a record that is gone.

#include "futures/aio/internal/io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/internal/callbacks.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {
namespace internal {
namespace {

[[noreturn]] void ThrowErrno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

const char* KindName(IoKind kind) {
  switch (kind) {
    case IoKind::kCallbacks:
      return "add_reader()/add_writer() callbacks";
    case IoKind::kWaits:
      return "sock_*() operations";
    case IoKind::kOwned:
      return "a stream";
  }
  return "?";
}

[[noreturn]] void ThrowInUse(int fd, IoKind kind, const char* wanted) {
  throw InvalidStateError(absl::StrCat("fd ", fd, " is used by ",
                                       KindName(kind), "; ", wanted,
                                       " cannot share it"));
}

// add_reader()/add_writer(): level-triggered, owned by the loop.
class FdCallbacks final : public IoSource {
 public:
  FdCallbacks(EventLoop* loop, int fd) noexcept
      : IoSource(fd, IoKind::kCallbacks), loop_(loop) {}

  Ref<CallbackNode>& slot(IoDirection dir) noexcept {
    return dir == kRead ? reader_ : writer_;
  }
  std::uint32_t interest() const noexcept {
    return (reader_ ? EPOLLIN : 0u) | (writer_ ? EPOLLOUT : 0u);
  }

  void on_io(std::uint32_t events) noexcept override {
    if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) queue(reader_);
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) queue(writer_);
  }
  void on_loop_closed() noexcept override { delete this; }

 private:
  void queue(const Ref<CallbackNode>& node) noexcept {
    if (!node || node->cancelled()) return;
    node->ref();  // the ready queue's
    loop_->schedule(node.get());
  }

  EventLoop* loop_;
  Ref<CallbackNode> reader_;
  Ref<CallbackNode> writer_;
};

// sock_*() waits: one-shot, one waiting task per direction.
class FdWaits final : public IoSlots {
 public:
  FdWaits(EventLoop* loop, int fd) noexcept
      : IoSlots(fd, IoKind::kWaits), loop_(loop) {}

  void arm(IoDirection dir, IoAwaiter* waiter) override {
    if (waiters_[dir] != nullptr) {
      throw InvalidStateError(
          absl::StrCat("another task is already waiting to ",
                       dir == kRead ? "read" : "write", " fd ", fd()));
    }
    waiters_[dir] = waiter;
    try {
      rearm();
    } catch (...) {
      waiters_[dir] = nullptr;
      if (waiters_[kRead] == nullptr && waiters_[kWrite] == nullptr) {
        if (registered_) {
          loop_->unregister_io(this);
        }
        delete this;
      }
      throw;
    }
  }

  void disarm(IoDirection dir, IoAwaiter* waiter) noexcept override {
    if (waiters_[dir] != waiter) return;
    waiters_[dir] = nullptr;
    if (waiters_[kRead] == nullptr && waiters_[kWrite] == nullptr) {
      // Cancelled before its event: take the fd out of the epoll set.
      if (armed_) loop_->count_io(-1);
      armed_ = false;
      loop_->unregister_io(this);
      delete this;
      return;
    }
    try {
      rearm();
    } catch (...) {
      // The remaining waiter keeps its previous registration.
    }
  }

  void on_io(std::uint32_t events) noexcept override {
    // One-shot: the fd is disabled now.
    if (armed_) loop_->count_io(-1);
    armed_ = false;
    const std::uint32_t any_error = EPOLLERR | EPOLLHUP;
    IoAwaiter* reader = waiters_[kRead];
    IoAwaiter* writer = waiters_[kWrite];
    if (reader != nullptr && (events & (EPOLLIN | EPOLLRDHUP | any_error))) {
      waiters_[kRead] = nullptr;
      reader->wake();
    }
    if (writer != nullptr && (events & (EPOLLOUT | any_error))) {
      waiters_[kWrite] = nullptr;
      writer->wake();
    }
    if (waiters_[kRead] == nullptr && waiters_[kWrite] == nullptr) {
      loop_->forget_io(fd());  // stays disabled in the epoll set
      delete this;
      return;
    }
    try {
      rearm();
    } catch (...) {
      // Wake the remaining waiter: its retry reports the error.
      for (IoAwaiter*& w : waiters_) {
        if (w != nullptr) std::exchange(w, nullptr)->wake();
      }
      loop_->forget_io(fd());
      delete this;
    }
  }

  void on_loop_closed() noexcept override {
    // Only reachable with waiters whose frames outlive the loop: unlink.
    waiters_[kRead] = waiters_[kWrite] = nullptr;
    delete this;
  }

 private:
  void rearm() {
    std::uint32_t events = EPOLLONESHOT;
    if (waiters_[kRead] != nullptr) events |= EPOLLIN | EPOLLRDHUP;
    if (waiters_[kWrite] != nullptr) events |= EPOLLOUT;
    if (!registered_) {
      loop_->register_io(this, events);
      registered_ = true;
    } else {
      loop_->modify_io(this, events);
    }
    if (!armed_) loop_->count_io(+1);
    armed_ = true;
  }

  EventLoop* loop_;
  IoAwaiter* waiters_[2] = {nullptr, nullptr};
  bool registered_ = false;
  bool armed_ = false;
};

FdCallbacks* CallbacksFor(EventLoop& loop, int fd, bool create,
                          const char* wanted) {
  IoSource* s = loop.io_source(fd);
  if (s == nullptr) return create ? new FdCallbacks(&loop, fd) : nullptr;
  if (s->kind() != IoKind::kCallbacks) ThrowInUse(fd, s->kind(), wanted);
  return static_cast<FdCallbacks*>(s);
}

IoSlots* WaitsFor(EventLoop& loop, int fd) {
  IoSource* s = loop.io_source(fd);
  if (s == nullptr) return new FdWaits(&loop, fd);
  if (s->kind() != IoKind::kWaits) ThrowInUse(fd, s->kind(), "sock_*()");
  return static_cast<FdWaits*>(s);
}

void CheckNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(errno, "fcntl");
  if ((flags & O_NONBLOCK) == 0) {
    throw std::invalid_argument(
        absl::StrCat("the socket must be non-blocking (fd ", fd, ")"));
  }
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

// --- IoAwaiter ---

void IoAwaiter::suspend(TaskCore* task, std::coroutine_handle<> h) {
  task_ = task;
  slots_->arm(dir_, this);
  armed_ = true;
  task->suspend_on(h, this);
}

void IoAwaiter::wake() noexcept {
  armed_ = false;
  task_->schedule();
}

bool IoAwaiter::cancel_wait(std::string_view msg) {
  if (!armed_) return false;
  armed_ = false;
  slots_->disarm(dir_, this);
  cancelled_ = MakeCancelledError(msg, task_->name());
  task_->schedule();
  return true;
}

void IoAwaiter::await_resume() {
  if (cancelled_ != nullptr) {
    task_->clear_cancel_request();
    std::rethrow_exception(cancelled_);
  }
  task_->throw_if_cancel_requested();
}

}  // namespace internal

// --- fd callbacks ---

namespace {

void AddCallback(EventLoop& loop, int fd, internal::IoDirection dir,
                 absl::AnyInvocable<void()> fn) {
  loop.check_open();
  const bool fresh = loop.io_source(fd) == nullptr;
  internal::FdCallbacks* rec = internal::CallbacksFor(
      loop, fd, /*create=*/true,
      dir == internal::kRead ? "add_reader()" : "add_writer()");
  auto* node = new internal::FnCallback<absl::AnyInvocable<void()>>(
      &loop, std::move(fn));
  internal::Ref<internal::CallbackNode> old = std::exchange(
      rec->slot(dir), internal::Ref<internal::CallbackNode>::adopt(node));
  try {
    if (fresh) {
      loop.register_io(rec, rec->interest());
      loop.count_io(+1);
    } else {
      loop.modify_io(rec, rec->interest());
    }
  } catch (...) {
    rec->slot(dir) = std::move(old);
    if (fresh) delete rec;
    throw;
  }
  if (old) old->cancel();
}

bool RemoveCallback(EventLoop& loop, int fd, internal::IoDirection dir) {
  if (loop.is_closed()) return false;
  internal::FdCallbacks* rec = internal::CallbacksFor(
      loop, fd, /*create=*/false,
      dir == internal::kRead ? "remove_reader()" : "remove_writer()");
  if (rec == nullptr || !rec->slot(dir)) return false;
  rec->slot(dir)->cancel();
  rec->slot(dir) = internal::Ref<internal::CallbackNode>();
  if (rec->interest() == 0) {
    loop.unregister_io(rec);
    loop.count_io(-1);
    delete rec;
  } else {
    loop.modify_io(rec, rec->interest());
  }
  return true;
}

}  // namespace

void EventLoop::add_reader(int fd, absl::AnyInvocable<void()> fn) {
  AddCallback(*this, fd, internal::kRead, std::move(fn));
}
void EventLoop::add_writer(int fd, absl::AnyInvocable<void()> fn) {
  AddCallback(*this, fd, internal::kWrite, std::move(fn));
}
bool EventLoop::remove_reader(int fd) {
  return RemoveCallback(*this, fd, internal::kRead);
}
bool EventLoop::remove_writer(int fd) {
  return RemoveCallback(*this, fd, internal::kWrite);
}

// --- Socket operations ---

Coroutine<Accepted> EventLoop::sock_accept(int fd) {
  internal::CheckNonBlocking(fd);
  for (;;) {
    Accepted a;
    socklen_t len = sizeof(sockaddr_storage);
    a.fd = ::accept4(fd, a.address.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (a.fd >= 0) {
      a.address.set_size(len);
      co_return a;
    }
    const int err = errno;
    if (err == EINTR || err == ECONNABORTED) continue;
    if (!internal::WouldBlock(err)) internal::ThrowErrno(err, "accept4");
    co_await internal::IoWait{internal::WaitsFor(*this, fd), internal::kRead};
  }
}

Coroutine<void> EventLoop::sock_connect(int fd, SocketAddress address) {
  internal::CheckNonBlocking(fd);
  int rc;
  do {
    rc = ::connect(fd, address.data(), address.size());
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) co_return;
  if (errno != EINPROGRESS) internal::ThrowErrno(errno, "connect");
  co_await internal::IoWait{internal::WaitsFor(*this, fd), internal::kWrite};
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
    internal::ThrowErrno(errno, "getsockopt");
  }
  if (err != 0) internal::ThrowErrno(err, "connect");
}

Coroutine<std::size_t> EventLoop::sock_recv_into(int fd,
                                                 std::span<char> buffer) {
  internal::CheckNonBlocking(fd);
  for (;;) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n >= 0) co_return static_cast<std::size_t>(n);
    const int err = errno;
    if (err == EINTR) continue;
    if (!internal::WouldBlock(err)) internal::ThrowErrno(err, "recv");
    co_await internal::IoWait{internal::WaitsFor(*this, fd), internal::kRead};
  }
}

Coroutine<std::string> EventLoop::sock_recv(int fd, std::size_t n) {
  std::string data(n, '\0');
  const std::size_t got = co_await sock_recv_into(fd, std::span<char>(data));
  data.resize(got);
  co_return data;
}

Coroutine<void> EventLoop::sock_sendall(int fd, std::string_view data) {
  internal::CheckNonBlocking(fd);
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    if (!internal::WouldBlock(err)) internal::ThrowErrno(err, "send");
    co_await internal::IoWait{internal::WaitsFor(*this, fd), internal::kWrite};
  }
}

// --- SocketAddress ---

SocketAddress SocketAddress::parse(std::string_view host, std::uint16_t port) {
  SocketAddress a;
  std::string h(host == "localhost" ? std::string_view("127.0.0.1") : host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
    return a;
  }
  a.storage_ = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.size_ = sizeof(sockaddr_in6);
    return a;
  }
  throw std::invalid_argument(
      "not a numeric IPv4/IPv6 address or \"localhost\": \"" + h + "\"");
}

SocketAddress SocketAddress::local_of(int fd) {
  SocketAddress a;
  socklen_t len = sizeof a.storage_;
  if (::getsockname(fd, a.data(), &len) != 0) {
    internal::ThrowErrno(errno, "getsockname");
  }
  a.size_ = len;
  return a;
}

SocketAddress SocketAddress::peer_of(int fd) {
  SocketAddress a;
  socklen_t len = sizeof a.storage_;
  if (::getpeername(fd, a.data(), &len) != 0) {
    internal::ThrowErrno(errno, "getpeername");
  }
  a.size_ = len;
  return a;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (storage_.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (storage_.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (storage_.ss_family == AF_INET) {
    ::inet_ntop(AF_INET,
                &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
    return absl::StrCat(buf, ":", port());
  }
  if (storage_.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6,
                &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr,
                buf, sizeof buf);
    return absl::StrCat("[", buf, "]:", port());
  }
  return "(unbound)";
}

}  // namespace concurrent::aio
