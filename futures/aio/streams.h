// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/streams.h
// -----------------------------------------------------------------------------
//
// TCP streams, with the semantics of CPython 3.12's Lib/asyncio/streams.py:
//
//   * `co_await aio::open_connection(host, port)` connects and returns a
//     `Connection{reader, writer}`;
//   * `co_await aio::start_server(client_connected, host, port)` listens and
//     runs `client_connected(reader, writer)` as a task for each connection;
//   * `StreamReader`: `read(n)`, `readexactly(n)`, `readline()`,
//     `readuntil(separator)`, `at_eof()`;
//   * `StreamWriter`: `write(data)` (buffered, never blocks), `drain()` (waits
//     while the buffer is above its high-water mark, 64 KiB), `write_eof()`,
//     `close()`, `wait_closed()`.
//
// Hosts are numeric IPv4/IPv6 addresses or "localhost" (the loop does no
// name resolution). Sockets are TCP_NODELAY, as asyncio's.
//
// Example (an echo server, complete):
//
//   aio::Coroutine<void> echo(aio::StreamReader reader,
//                             aio::StreamWriter writer) {
//     for (;;) {
//       std::string line = co_await reader.readline();
//       if (line.empty()) break;  // end of stream
//       writer.write(line);
//       co_await writer.drain();
//     }
//     writer.close();
//     co_await writer.wait_closed();
//   }
//   aio::Coroutine<void> serve() {
//     aio::Server server = co_await aio::start_server(echo, "127.0.0.1", 8888);
//     co_await server.serve_forever();
//   }
//   int main() { aio::run(serve()); }
//
// Thread-safety: thread-hostile, as futures/aio/future.h. Readers, writers
// and servers are handles (copies share the connection), usable only on
// their loop's thread and only while it is open.
//
// Errors: `IncompleteReadError` (readexactly() or readuntil() at end of
// stream, with the bytes read); `LimitOverrunError` (readuntil() or
// readline() without a separator within the limit); `std::system_error` for
// OS errors (connection refused, reset...); `InvalidStateError` for a second
// task reading the same stream at once, a write after close(), or use after
// the loop closed; `std::invalid_argument` for a host that is not numeric.

// The core headers first (see the note in future.h).
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_STREAMS_H_
#define CONCURRENT_FUTURES_AIO_STREAMS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "futures/aio/future.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

// readexactly()/readuntil() reached the end of the stream first (Python's
// IncompleteReadError, an EOFError).
class IncompleteReadError : public Error {
 public:
  // `expected`: the byte count wanted, or -1 for readuntil().
  IncompleteReadError(std::string partial, long expected);
  ~IncompleteReadError() override;
  // The bytes read before the end of the stream.
  const std::string& partial() const noexcept { return partial_; }
  long expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  long expected_;
};

// readuntil() found no separator within the stream's limit (Python's
// LimitOverrunError). The data stays in the buffer.
class LimitOverrunError : public Error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed);
  ~LimitOverrunError() override;
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
};

struct StreamOptions {
  // The most readuntil()/readline() may buffer looking for a separator
  // (Python's limit=2**16).
  std::size_t limit = 64 * 1024;
};

namespace internal {
class StreamSocket;
class ServerState;
struct StreamAccess;
}  // namespace internal

class StreamReader {
 public:
  StreamReader() = default;

  // Up to `n` bytes (at least one unless at end of stream); `n` < 0 reads
  // until the end of the stream. "" at end of stream.
  Coroutine<std::string> read(long n = -1);
  // Exactly `n` bytes; IncompleteReadError if the stream ends first.
  Coroutine<std::string> readexactly(std::size_t n);
  // Up to and including `separator`; IncompleteReadError if the stream ends
  // first, LimitOverrunError if no separator comes within the limit.
  Coroutine<std::string> readuntil(std::string separator = "\n");
  // One line with its "\n"; at end of stream the rest (maybe ""), without
  // error. LimitOverrunError as readuntil() (the buffer is then dropped up to
  // the separator, or entirely).
  Coroutine<std::string> readline();
  // True once the stream ended and the buffer is empty.
  bool at_eof() const;

 private:
  friend class StreamWriter;
  friend struct internal::StreamAccess;
  explicit StreamReader(std::shared_ptr<internal::StreamSocket> s)
      : socket_(std::move(s)) {}
  std::shared_ptr<internal::StreamSocket> socket_;
};

class StreamWriter {
 public:
  StreamWriter() = default;

  // Queues `data`: sent at once as far as the socket takes it, the rest by
  // the loop. Never blocks. Throws InvalidStateError after close() or
  // write_eof().
  void write(std::string_view data);
  // Returns at once unless the buffer is above its high-water mark (64 KiB):
  // then waits until it is down to 16 KiB. Throws the connection's error
  // (std::system_error) if it was lost.
  Coroutine<void> drain();
  // Shuts the sending side once the buffer is flushed (the peer reads end
  // of stream).
  void write_eof();
  // Closes the connection once the buffer is flushed. Idempotent.
  void close();
  bool is_closing() const;
  // Waits until the connection is closed.
  Coroutine<void> wait_closed();
  // The addresses of the two ends.
  SocketAddress sockname() const;
  SocketAddress peername() const;

 private:
  friend struct internal::StreamAccess;
  explicit StreamWriter(std::shared_ptr<internal::StreamSocket> s)
      : socket_(std::move(s)) {}
  std::shared_ptr<internal::StreamSocket> socket_;
};

// What open_connection() returns (Python's (reader, writer) pair).
struct Connection {
  StreamReader reader;
  StreamWriter writer;
};

// Connects to host:port on the running loop.
Coroutine<Connection> open_connection(std::string host, std::uint16_t port,
                                      StreamOptions options = {});

struct ServerOptions {
  int backlog = 100;
  bool reuse_address = true;
  StreamOptions stream = {};
};

// A listening server (Python's asyncio.Server). A handle: copies share it.
// Dropping every handle does not stop it; close() does.
class Server {
 public:
  Server() = default;
  // Stops listening (the listening socket is closed; connections already
  // accepted go on). A task in serve_forever() gets CancelledError.
  void close();
  bool is_serving() const;
  // Waits until the server is closed and every connection it accepted is
  // closed (3.12).
  Coroutine<void> wait_closed();
  // Waits until close() (which makes it throw CancelledError); cancelling
  // it closes the server.
  Coroutine<void> serve_forever();
  // The listening addresses (port 0 picks a free port: read it here).
  std::vector<SocketAddress> sockets() const;

 private:
  friend struct internal::StreamAccess;
  explicit Server(std::shared_ptr<internal::ServerState> s)
      : state_(std::move(s)) {}
  std::shared_ptr<internal::ServerState> state_;
};

using ClientConnected =
    absl::AnyInvocable<Coroutine<void>(StreamReader, StreamWriter)>;

// Listens on host:port and runs `client_connected(reader, writer)` as a new
// task for every connection. What such a task throws goes to the loop's
// exception handler.
Coroutine<Server> start_server(ClientConnected client_connected,
                               std::string host, std::uint16_t port,
                               ServerOptions options = {});

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_STREAMS_H_
