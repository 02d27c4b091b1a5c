// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// A connection is one StreamSocket shared by its reader and writer handles
// (and by the coroutines of pending operations, which hold a shared_ptr, so
// a handle may be dropped mid-operation). Its fd is registered once,
// edge-triggered, for both directions (IoKind::kOwned); no epoll_ctl happens
// per read or write.
//
// Reading is on demand (Python's transport reads ahead instead; nothing the
// caller can see differs): an operation consumes the buffer, and when it
// needs more, receives once if the fd may be readable, else waits for the
// next edge. `read_ready_` tracks what the edges say: set by an event,
// cleared by EAGAIN, and cleared after a short read (fewer bytes than asked
// mean the socket's queue was emptied at that moment, and data arriving later
// raises a new edge), which saves the EAGAIN system call a speculative read
// would cost. The peer's FIN (EPOLLRDHUP) raises no later edge, so once seen
// it keeps the fd readable until recv() returns the end of stream.
//
// Writing tries send() at once; what the socket does not take is buffered
// and flushed when the fd reports writable. Above the high-water mark
// (64 KiB) drain() waits until the buffer is down to 16 KiB (Python's
// FlowControlMixin). close() closes the fd once the buffer is flushed; the
// connection's `closed_` future then completes, for wait_closed(), and a
// server counts the connection as gone.

#include "futures/aio/streams.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/internal/io.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

IncompleteReadError::IncompleteReadError(std::string partial, long expected)
    : Error(expected < 0
                ? absl::StrCat(partial.size(),
                               " bytes read on a total of undefined expected "
                               "bytes")
                : absl::StrCat(partial.size(), " bytes read on a total of ",
                               expected, " expected bytes")),
      partial_(std::move(partial)),
      expected_(expected) {}
IncompleteReadError::~IncompleteReadError() = default;

LimitOverrunError::LimitOverrunError(const std::string& message,
                                     std::size_t consumed)
    : Error(message), consumed_(consumed) {}
LimitOverrunError::~LimitOverrunError() = default;

namespace internal {
namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kHighWater = 64 * 1024;
constexpr std::size_t kLowWater = 16 * 1024;
constexpr std::uint32_t kOwnedEvents =
    EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;

[[noreturn]] void ThrowErrno(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), what);
}

[[noreturn]] void ThrowLoopClosed() {
  throw InvalidStateError("the stream's event loop is closed");
}

void SetNoDelay(int fd) {
  const int one = 1;
  // Fails only for non-TCP sockets, where it does not matter.
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Bytes received and not yet consumed: [begin_, end_) of an uninitialised
// array (no zero-filling on growth, unlike std::string::resize).
class ReadBuffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::string_view view() const noexcept {
    return std::string_view(data_.get() + begin_, size());
  }
  // Room for at least `n` more bytes at tail().
  void reserve_tail(std::size_t n) {
    if (cap_ - end_ >= n) return;
    if (begin_ > 0 && cap_ - size() >= n) {
      std::memmove(data_.get(), data_.get() + begin_, size());
    } else {
      const std::size_t cap = std::max(cap_ * 2, size() + n);
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (size() > 0) std::memcpy(bigger.get(), data_.get() + begin_, size());
      data_ = std::move(bigger);
      cap_ = cap;
    }
    end_ -= begin_;
    begin_ = 0;
  }
  char* tail() noexcept { return data_.get() + end_; }
  std::size_t tail_room() const noexcept { return cap_ - end_; }
  void commit(std::size_t n) noexcept { end_ += n; }
  std::string take(std::size_t n) {
    std::string out(data_.get() + begin_, n);
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
    return out;
  }
  void drop(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t cap_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace

struct StreamAccess {
  static StreamReader reader(std::shared_ptr<StreamSocket> s) {
    return StreamReader(std::move(s));
  }
  static StreamWriter writer(std::shared_ptr<StreamSocket> s) {
    return StreamWriter(std::move(s));
  }
  static Server server(std::shared_ptr<ServerState> s) {
    return Server(std::move(s));
  }
};

class StreamSocket final : public IoSlots {
 public:
  StreamSocket(EventLoop* loop, int fd, StreamOptions options,
               std::shared_ptr<ServerState> server)
      : IoSlots(fd, IoKind::kOwned),
        loop_(loop),
        options_(options),
        server_(std::move(server)),
        fd_(fd) {}
  ~StreamSocket();

  // Registers the fd (after connect() was called on it).
  void start() {
    loop_->register_io(this, kOwnedEvents);
    loop_->count_io(+1);
    registered_ = true;
  }

  EventLoop& loop() const {
    if (loop_ == nullptr) ThrowLoopClosed();
    return *loop_;
  }

  // --- IoSlots ---
  void arm(IoDirection dir, IoAwaiter* waiter) override {
    IoAwaiter*& slot = dir == kRead ? reader_ : writer_;
    if (slot != nullptr) {
      throw InvalidStateError(
          absl::StrCat(dir == kRead ? "read" : "write",
                       "() called while another task is already waiting "
                       "on the stream (fd ",
                       fd_, ")"));
    }
    slot = waiter;
  }
  void disarm(IoDirection dir, IoAwaiter* waiter) noexcept override {
    IoAwaiter*& slot = dir == kRead ? reader_ : writer_;
    if (slot == waiter) slot = nullptr;
  }
  void on_io(std::uint32_t events) noexcept override {
    if ((events & (EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
      // The peer's end of stream (or an error) raises no further edge:
      // remember it, so a short read does not wait for one.
      hung_up_ = true;
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) != 0) {
      read_ready_ = true;
      if (reader_ != nullptr) std::exchange(reader_, nullptr)->wake();
    }
    if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) {
      write_ready_ = true;
      if (writer_ != nullptr) std::exchange(writer_, nullptr)->wake();
      if (out_size() > 0) flush();
    }
  }
  void on_loop_closed() noexcept override;

  // --- Reading ---

  // Receives once into the buffer if the fd may be readable. Returns true if
  // the buffer grew or the stream ended, false if the caller must wait.
  // Throws the connection's error.
  bool receive() {
    if (error_ != nullptr) std::rethrow_exception(error_);
    if (eof_) return true;
    if (fd_ < 0) {
      eof_ = true;
      return true;
    }
    if (!read_ready_) return false;
    in_.reserve_tail(kReadChunk);
    for (;;) {
      const std::size_t room = in_.tail_room();
      const ssize_t n = ::recv(fd_, in_.tail(), room, 0);
      if (n > 0) {
        in_.commit(static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < room && !hung_up_) {
          read_ready_ = false;
        }
        return true;
      }
      if (n == 0) {
        eof_ = true;
        return true;
      }
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        read_ready_ = false;
        return false;
      }
      fail(std::make_exception_ptr(
          std::system_error(err, std::generic_category(), "recv")));
      std::rethrow_exception(error_);
    }
  }

  ReadBuffer in_;
  bool eof_ = false;
  std::size_t limit() const noexcept { return options_.limit; }

  // --- Writing ---

  void write(std::string_view data) {
    if (closing_ || eof_requested_) {
      throw InvalidStateError(closing_ ? "write() after close()"
                                       : "write() after write_eof()");
    }
    if (error_ != nullptr || data.empty()) return;  // Python drops it too
    if (out_size() == 0 && write_ready_) {
      const std::size_t sent = send_some(data);
      data.remove_prefix(sent);
      if (data.empty() || error_ != nullptr) return;
    }
    out_.append(data);
    if (out_size() > kHighWater) paused_ = true;
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    if (out_size() == 0 || error_ != nullptr) finish_close();
  }
  void write_eof() {
    if (closing_ || eof_requested_) return;
    eof_requested_ = true;
    if (out_size() == 0 && fd_ >= 0) ::shutdown(fd_, SHUT_WR);
  }
  bool closing() const noexcept { return closing_; }
  bool paused() const noexcept { return paused_; }
  const std::exception_ptr& error() const noexcept { return error_; }

  // The future drain() waits on (completed when the buffer drains or the
  // connection is lost).
  Future<void> drain_waiter() {
    if (!drain_waiter_.valid()) drain_waiter_ = loop().create_future();
    return drain_waiter_;
  }
  Future<void> closed_future() {
    if (!closed_.valid()) {
      closed_ = loop().create_future();
      if (fd_ < 0) closed_.set_result();
    }
    return closed_;
  }

  // What the edges said (see the notes at the top of this file).
  bool write_ready_ = true;
  bool read_ready_ = true;
  bool hung_up_ = false;

 private:
  std::size_t out_size() const noexcept { return out_.size() - out_sent_; }

  // Sends what the socket takes; returns the count. Records errors.
  std::size_t send_some(std::string_view data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      const int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        write_ready_ = false;
        break;
      }
      fail(std::make_exception_ptr(
          std::system_error(err, std::generic_category(), "send")));
      break;
    }
    return sent;
  }

  // Flushes the buffer as far as the socket takes it (on a writable edge).
  void flush() noexcept {
    if (fd_ < 0) return;
    out_sent_ += send_some(std::string_view(out_).substr(out_sent_));
    if (out_sent_ == out_.size()) {
      out_.clear();
      out_sent_ = 0;
    } else if (out_sent_ > kHighWater) {
      out_.erase(0, out_sent_);
      out_sent_ = 0;
    }
    if (paused_ && (out_size() <= kLowWater || error_ != nullptr)) {
      paused_ = false;
      wake_drainers();
    }
    if (out_size() == 0 || error_ != nullptr) {
      if (closing_) {
        finish_close();
      } else if (eof_requested_ && fd_ >= 0) {
        ::shutdown(fd_, SHUT_WR);
      }
    }
  }

  void wake_drainers() noexcept {
    if (drain_waiter_.valid() && loop_ != nullptr) {
      if (!drain_waiter_.done()) drain_waiter_.set_result();
      drain_waiter_ = Future<void>();
    }
  }

  // The connection is lost: reads throw `e`, writes are dropped.
  void fail(std::exception_ptr e) noexcept {
    if (error_ == nullptr) error_ = std::move(e);
    wake_drainers();
    if (reader_ != nullptr) std::exchange(reader_, nullptr)->wake();
  }

  void finish_close() noexcept;

  EventLoop* loop_;
  StreamOptions options_;
  std::shared_ptr<ServerState> server_;
  bool registered_ = false;
  IoAwaiter* reader_ = nullptr;
  IoAwaiter* writer_ = nullptr;
  std::exception_ptr error_;
  std::string out_;
  std::size_t out_sent_ = 0;
  bool paused_ = false;
  bool closing_ = false;
  bool eof_requested_ = false;
  Future<void> drain_waiter_;
  Future<void> closed_;

 public:
  int fd_ = -1;
};

// The listening socket, its accept loop and the count of live connections.
class ServerState final : public IoSlots,
                          public std::enable_shared_from_this<ServerState> {
 public:
  ServerState(EventLoop* loop, int fd, ClientConnected cb,
              ServerOptions options)
      : IoSlots(fd, IoKind::kOwned),
        loop_(loop),
        fd_(fd),
        cb_(std::move(cb)),
        options_(options) {}
  ~ServerState() { close_listener(); }

  void start() {
    loop_->register_io(this, EPOLLIN | EPOLLET);
    loop_->count_io(+1);
    registered_ = true;
    serving_ = true;
    accept_task_ = loop_->create_task(AcceptLoop(shared_from_this()));
  }

  void arm(IoDirection, IoAwaiter* waiter) override {
    if (acceptor_ != nullptr) throw InvalidStateError("already accepting");
    acceptor_ = waiter;
  }
  void disarm(IoDirection, IoAwaiter* waiter) noexcept override {
    if (acceptor_ == waiter) acceptor_ = nullptr;
  }
  void on_io(std::uint32_t) noexcept override {
    accept_ready_ = true;
    if (acceptor_ != nullptr) std::exchange(acceptor_, nullptr)->wake();
  }
  void on_loop_closed() noexcept override {
    registered_ = false;
    loop_ = nullptr;
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

  void close() {
    if (!serving_) return;
    serving_ = false;
    close_listener();
    if (accept_task_.valid() && !accept_task_.done()) accept_task_.cancel();
    if (serving_forever_.valid() && !serving_forever_.done()) {
      serving_forever_.cancel();
    }
    serving_forever_ = Future<void>();
    maybe_wake_closed();
  }
  bool serving() const noexcept { return serving_; }

  // Static, holding `self`: a Server handle may be dropped meanwhile.
  static Coroutine<void> WaitClosed(std::shared_ptr<ServerState> self) {
    if (!self->serving_ && self->active_ == 0) co_return;
    if (self->loop_ == nullptr) ThrowLoopClosed();
    if (!self->closed_.valid()) self->closed_ = self->loop_->create_future();
    Future<void> closed = self->closed_;
    co_await closed;
  }

  static Coroutine<void> ServeForever(std::shared_ptr<ServerState> self) {
    if (self->serving_forever_.valid()) {
      throw InvalidStateError(
          "server is already being awaited on serve_forever()");
    }
    if (!self->serving_) throw InvalidStateError("server is closed");
    self->serving_forever_ = self->loop_->create_future();
    Future<void> f = self->serving_forever_;
    std::exception_ptr cancelled;
    try {
      co_await f;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
    if (cancelled != nullptr) {
      // Python closes the server and waits for it before re-raising.
      self->close();
      co_await WaitClosed(self);
      std::rethrow_exception(cancelled);
    }
  }

  std::vector<SocketAddress> sockets() const {
    if (fd_ < 0) return {};
    return {SocketAddress::local_of(fd_)};
  }

  void connection_closed() noexcept {
    --active_;
    maybe_wake_closed();
  }

 private:
  void close_listener() noexcept {
    if (registered_ && loop_ != nullptr) {
      loop_->unregister_io(this);
      loop_->count_io(-1);
    }
    registered_ = false;
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    if (acceptor_ != nullptr) std::exchange(acceptor_, nullptr)->wake();
  }
  void maybe_wake_closed() noexcept {
    if (!serving_ && active_ == 0 && closed_.valid() && loop_ != nullptr) {
      if (!closed_.done()) closed_.set_result();
    }
  }

  static Coroutine<void> RunClient(std::shared_ptr<ServerState> self,
                                   StreamReader reader, StreamWriter writer) {
    // `self` keeps the callback (and what it captures) alive while the
    // client runs.
    co_await self->cb_(std::move(reader), std::move(writer));
  }

  static Coroutine<void> AcceptLoop(std::shared_ptr<ServerState> self) {
    while (self->serving_) {
      if (!self->accept_ready_) {
        co_await IoWait{self.get(), kRead};
        continue;
      }
      const int fd =
          ::accept4(self->fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        const int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) {
          self->accept_ready_ = false;
        } else if (err != EINTR && err != ECONNABORTED) {
          // EMFILE and the like: report, back off, try again (Python waits
          // ACCEPT_RETRY_DELAY, 1 s).
          self->loop_->call_exception_handler(
              {"error while accepting a connection",
               std::make_exception_ptr(
                   std::system_error(err, std::generic_category(), "accept4")),
               ""});
          co_await sleep(absl::Seconds(1));
        }
        continue;
      }
      SetNoDelay(fd);
      auto socket = std::make_shared<StreamSocket>(self->loop_, fd,
                                                   self->options_.stream, self);
      try {
        socket->start();
      } catch (...) {
        self->loop_->call_exception_handler(
            {"cannot register an accepted connection", std::current_exception(),
             ""});
        continue;
      }
      ++self->active_;
      Task<void> client = self->loop_->create_task(RunClient(
          self, StreamAccess::reader(socket), StreamAccess::writer(socket)));
      client.add_done_callback([](const Future<void>& done) {
        if (done.cancelled()) return;
        if (std::exception_ptr e = done.exception()) {
          done.get_loop().call_exception_handler(
              {"Unhandled exception in client_connected_cb", e, ""});
        }
      });
    }
  }

  EventLoop* loop_;
  int fd_;
  ClientConnected cb_;
  ServerOptions options_;
  bool registered_ = false;
  bool serving_ = false;
  bool accept_ready_ = true;
  IoAwaiter* acceptor_ = nullptr;
  std::size_t active_ = 0;
  Task<void> accept_task_;
  Future<void> serving_forever_;
  Future<void> closed_;
};

StreamSocket::~StreamSocket() {
  if (fd_ >= 0) {
    if (registered_ && loop_ != nullptr) {
      loop_->unregister_io(this);
      loop_->count_io(-1);
    }
    ::close(std::exchange(fd_, -1));
    if (server_ != nullptr) server_->connection_closed();
  }
}

void StreamSocket::finish_close() noexcept {
  if (fd_ < 0) return;
  if (registered_ && loop_ != nullptr) {
    loop_->unregister_io(this);
    loop_->count_io(-1);
  }
  registered_ = false;
  ::close(std::exchange(fd_, -1));
  eof_ = true;
  wake_drainers();
  if (reader_ != nullptr) std::exchange(reader_, nullptr)->wake();
  if (writer_ != nullptr) std::exchange(writer_, nullptr)->wake();
  if (closed_.valid() && !closed_.done() && loop_ != nullptr) {
    closed_.set_result();
  }
  if (server_ != nullptr) std::exchange(server_, nullptr)->connection_closed();
}

void StreamSocket::on_loop_closed() noexcept {
  registered_ = false;
  loop_ = nullptr;
  reader_ = writer_ = nullptr;
  error_ = std::make_exception_ptr(
      InvalidStateError("the stream's event loop is closed"));
  drain_waiter_ = Future<void>();
  closed_ = Future<void>();
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  server_.reset();
}

namespace {

StreamSocket& Checked(const std::shared_ptr<StreamSocket>& s) {
  if (s == nullptr) {
    throw InvalidStateError("invalid stream handle (default-constructed)");
  }
  return *s;
}

ServerState& Checked(const std::shared_ptr<ServerState>& s) {
  if (s == nullptr) {
    throw InvalidStateError("invalid server handle (default-constructed)");
  }
  return *s;
}

Coroutine<std::string> Read(std::shared_ptr<StreamSocket> s, long n) {
  if (n == 0) co_return std::string();
  if (n < 0) {
    std::string all;
    for (;;) {
      if (!s->in_.empty()) all += s->in_.take(s->in_.size());
      if (s->eof_) co_return all;
      if (!s->receive()) co_await IoWait{s.get(), kRead};
    }
  }
  while (s->in_.empty() && !s->eof_) {
    if (!s->receive()) co_await IoWait{s.get(), kRead};
  }
  co_return s->in_.take(
      std::min<std::size_t>(static_cast<std::size_t>(n), s->in_.size()));
}

Coroutine<std::string> ReadExactly(std::shared_ptr<StreamSocket> s,
                                   std::size_t n) {
  while (s->in_.size() < n && !s->eof_) {
    if (!s->receive()) co_await IoWait{s.get(), kRead};
  }
  if (s->in_.size() < n) {
    throw IncompleteReadError(s->in_.take(s->in_.size()), static_cast<long>(n));
  }
  co_return s->in_.take(n);
}

// readuntil()'s search (Python's StreamReader.readuntil), shared with
// readline(). Returns the length through the separator, or 0 if more data is
// needed; throws LimitOverrunError and IncompleteReadError.
std::size_t FindSeparator(StreamSocket& s, std::string_view sep,
                          std::size_t& offset) {
  const std::string_view buf = s.in_.view();
  if (buf.size() - std::min(offset, buf.size()) >= sep.size()) {
    const std::size_t isep = buf.find(sep, offset);
    if (isep != std::string_view::npos) {
      if (isep > s.limit()) {
        throw LimitOverrunError(
            "Separator is found, but chunk is longer than limit", isep);
      }
      return isep + sep.size();
    }
    offset = buf.size() + 1 - sep.size();
    if (offset > s.limit()) {
      throw LimitOverrunError(
          "Separator is not found, and chunk exceed the limit", offset);
    }
  }
  if (s.eof_) throw IncompleteReadError(s.in_.take(s.in_.size()), -1);
  return 0;
}

Coroutine<std::string> ReadUntil(std::shared_ptr<StreamSocket> s,
                                 std::string separator) {
  if (separator.empty()) {
    throw std::invalid_argument("Separator should be at least one-byte string");
  }
  std::size_t offset = 0;
  for (;;) {
    const std::size_t len = FindSeparator(*s, separator, offset);
    if (len > 0) co_return s->in_.take(len);
    if (!s->receive()) co_await IoWait{s.get(), kRead};
  }
}

Coroutine<std::string> ReadLine(std::shared_ptr<StreamSocket> s) {
  std::size_t offset = 0;
  for (;;) {
    std::size_t len = 0;
    try {
      len = FindSeparator(*s, "\n", offset);
    } catch (const IncompleteReadError& e) {
      co_return e.partial();
    } catch (const LimitOverrunError& e) {
      // Python drops the buffer up to the separator (or all of it) and
      // raises ValueError; the error type stays LimitOverrunError here.
      const std::string_view buf = s->in_.view();
      if (e.consumed() < buf.size() && buf[e.consumed()] == '\n') {
        s->in_.drop(e.consumed() + 1);
      } else {
        s->in_.drop(buf.size());
      }
      throw;
    }
    if (len > 0) co_return s->in_.take(len);
    if (!s->receive()) co_await IoWait{s.get(), kRead};
  }
}

Coroutine<void> Drain(std::shared_ptr<StreamSocket> s) {
  if (s->error() != nullptr) std::rethrow_exception(s->error());
  if (s->closing()) {
    // Python yields once so that connection_lost() can run.
    co_await sleep(absl::ZeroDuration());
    if (s->error() != nullptr) std::rethrow_exception(s->error());
    co_return;
  }
  if (!s->paused()) co_return;
  Future<void> waiter = s->drain_waiter();
  co_await waiter;
  if (s->error() != nullptr) std::rethrow_exception(s->error());
}

Coroutine<void> WaitClosed(std::shared_ptr<StreamSocket> s) {
  Future<void> closed = s->closed_future();
  co_await closed;
}

int OpenSocket(const SocketAddress& address) {
  const int fd =
      ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(errno, "socket");
  return fd;
}

}  // namespace
}  // namespace internal

// --- StreamReader / StreamWriter ---

Coroutine<std::string> StreamReader::read(long n) {
  internal::Checked(socket_);
  return internal::Read(socket_, n);
}
Coroutine<std::string> StreamReader::readexactly(std::size_t n) {
  internal::Checked(socket_);
  return internal::ReadExactly(socket_, n);
}
Coroutine<std::string> StreamReader::readuntil(std::string separator) {
  internal::Checked(socket_);
  return internal::ReadUntil(socket_, std::move(separator));
}
Coroutine<std::string> StreamReader::readline() {
  internal::Checked(socket_);
  return internal::ReadLine(socket_);
}
bool StreamReader::at_eof() const {
  const internal::StreamSocket& s = internal::Checked(socket_);
  return s.eof_ && s.in_.empty();
}

void StreamWriter::write(std::string_view data) {
  internal::Checked(socket_).write(data);
}
Coroutine<void> StreamWriter::drain() {
  internal::Checked(socket_);
  return internal::Drain(socket_);
}
void StreamWriter::write_eof() { internal::Checked(socket_).write_eof(); }
void StreamWriter::close() { internal::Checked(socket_).close(); }
bool StreamWriter::is_closing() const {
  return internal::Checked(socket_).closing();
}
Coroutine<void> StreamWriter::wait_closed() {
  internal::Checked(socket_);
  return internal::WaitClosed(socket_);
}
SocketAddress StreamWriter::sockname() const {
  return SocketAddress::local_of(internal::Checked(socket_).fd_);
}
SocketAddress StreamWriter::peername() const {
  return SocketAddress::peer_of(internal::Checked(socket_).fd_);
}

// --- open_connection / start_server ---

Coroutine<Connection> open_connection(std::string host, std::uint16_t port,
                                      StreamOptions options) {
  EventLoop& loop = get_running_loop();
  const SocketAddress address = SocketAddress::parse(host, port);
  const int fd = internal::OpenSocket(address);
  auto socket =
      std::make_shared<internal::StreamSocket>(&loop, fd, options, nullptr);
  int rc;
  do {
    rc = ::connect(fd, address.data(), address.size());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) internal::ThrowErrno(errno, "connect");
  // Registered after connect(): a socket still connecting reports no
  // EPOLLOUT, so the first writable edge is the connection's.
  socket->start();
  if (rc != 0) {
    socket->write_ready_ = false;
    while (!socket->write_ready_) {
      co_await internal::IoWait{socket.get(), internal::kWrite};
    }
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
      internal::ThrowErrno(errno, "getsockopt");
    }
    if (err != 0) internal::ThrowErrno(err, "connect");
  }
  internal::SetNoDelay(fd);
  co_return Connection{internal::StreamAccess::reader(socket),
                       internal::StreamAccess::writer(socket)};
}

Coroutine<Server> start_server(ClientConnected client_connected,
                               std::string host, std::uint16_t port,
                               ServerOptions options) {
  EventLoop& loop = get_running_loop();
  const SocketAddress address = SocketAddress::parse(host, port);
  const int fd = internal::OpenSocket(address);
  auto state = std::make_shared<internal::ServerState>(
      &loop, fd, std::move(client_connected), options);
  if (options.reuse_address) {
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  if (::bind(fd, address.data(), address.size()) != 0) {
    internal::ThrowErrno(errno, "bind");
  }
  if (::listen(fd, options.backlog) != 0) internal::ThrowErrno(errno, "listen");
  state->start();
  co_return internal::StreamAccess::server(std::move(state));
}

// --- Server ---

void Server::close() { internal::Checked(state_).close(); }
bool Server::is_serving() const { return internal::Checked(state_).serving(); }
Coroutine<void> Server::wait_closed() {
  internal::Checked(state_);
  return internal::ServerState::WaitClosed(state_);
}
Coroutine<void> Server::serve_forever() {
  internal::Checked(state_);
  return internal::ServerState::ServeForever(state_);
}
std::vector<SocketAddress> Server::sockets() const {
  return internal::Checked(state_).sockets();
}

}  // namespace concurrent::aio
