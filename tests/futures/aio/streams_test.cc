// Copyright 2026 The concurrent Authors.
//
// aio streams and socket operations on loopback: an echo server and its
// clients in one loop, the reader's operations and their errors, flow
// control, closing, the raw sock_*() operations.

#include "futures/aio/streams.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/gather.h"
#include "futures/aio/timeouts.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

// Every test runs under a generous bound: a hang fails, it does not block.
constexpr absl::Duration kBound = absl::Seconds(30);

template <typename T>
T RunBounded(Coroutine<T> c) {
  return run(timeout(kBound, std::move(c)));
}

// --- The echo server of streams.h's example ---

Coroutine<void> Echo(StreamReader reader, StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // end of stream
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

std::uint16_t PortOf(const Server& server) {
  std::vector<SocketAddress> socks = server.sockets();
  return socks.empty() ? 0 : socks.front().port();
}

Coroutine<std::vector<std::string>> EchoClient(std::uint16_t port, int id) {
  Connection c = co_await open_connection("127.0.0.1", port);
  std::vector<std::string> replies;
  for (int i = 0; i < 3; ++i) {
    c.writer.write("client " + std::to_string(id) + " line " +
                   std::to_string(i) + "\n");
    co_await c.writer.drain();
    replies.push_back(co_await c.reader.readline());
  }
  c.writer.close();
  co_await c.writer.wait_closed();
  co_return replies;
}

Coroutine<bool> EchoServerAndClientsInOneLoop() {
  Server server = co_await start_server(Echo, "127.0.0.1", 0);
  const std::uint16_t port = PortOf(server);
  EXPECT_NE(port, 0);
  std::vector<Task<std::vector<std::string>>> clients;
  for (int id = 0; id < 20; ++id)
    clients.push_back(create_task(EchoClient(port, id)));
  bool all_right = true;
  for (int id = 0; id < 20; ++id) {
    const std::vector<std::string>& replies = co_await clients[id];
    for (int i = 0; i < 3; ++i) {
      all_right = all_right && replies[i] == "client " + std::to_string(id) +
                                                 " line " + std::to_string(i) +
                                                 "\n";
    }
  }
  server.close();
  co_await server.wait_closed();
  EXPECT_FALSE(server.is_serving());
  co_return all_right;
}

TEST(StreamsTest, EchoServerAndClientsInOneLoop) {
  EXPECT_TRUE(RunBounded(EchoServerAndClientsInOneLoop()));
}

// --- Reader operations ---

// Runs `serve` as the server of one connection and returns what the client
// coroutine `client(reader, writer)` returns.
using ServeFn = Coroutine<void> (*)(StreamReader, StreamWriter);

template <typename T>
Coroutine<T> WithPeer(ServeFn serve,
                      Coroutine<T> (*client)(StreamReader, StreamWriter)) {
  Server server = co_await start_server(serve, "127.0.0.1", 0);
  Connection c = co_await open_connection("127.0.0.1", PortOf(server));
  T result = co_await client(c.reader, c.writer);
  c.writer.close();
  server.close();
  co_await server.wait_closed();
  co_return result;
}

Coroutine<void> SendChunksThenClose(StreamReader, StreamWriter w) {
  w.write("hello ");
  co_await sleep(absl::Milliseconds(5));
  w.write("world\nsecond line\nno newline at end");
  co_await w.drain();
  w.close();
}

Coroutine<std::string> ReadAllPieces(StreamReader r, StreamWriter) {
  std::vector<std::string> got;
  got.push_back(co_await r.readexactly(3));     // "hel"
  got.push_back(co_await r.readline());         // "lo world\n"
  got.push_back(co_await r.readuntil("line"));  // "second line"
  got.push_back(co_await r.read(3));            // "\nno"
  got.push_back(co_await r.read());             // the rest, to EOF
  got.push_back(r.at_eof() ? "eof" : "not eof");
  got.push_back(co_await r.read());      // "" at EOF
  got.push_back(co_await r.readline());  // "" at EOF
  std::string out;
  for (const std::string& g : got) out += "[" + g + "]";
  co_return out;
}

TEST(StreamsTest, ReaderOperations) {
  EXPECT_EQ(RunBounded(WithPeer(SendChunksThenClose, ReadAllPieces)),
            "[hel][lo world\n][second line][\nno][ newline at end][eof][][]");
}

Coroutine<void> SendShortThenClose(StreamReader, StreamWriter w) {
  w.write("abc");
  co_await w.drain();
  w.close();
}

Coroutine<std::string> ReadExactlyTooMuch(StreamReader r, StreamWriter) {
  try {
    co_await r.readexactly(10);
  } catch (const IncompleteReadError& e) {
    co_return e.partial() + "/" + std::to_string(e.expected());
  }
  co_return "no error";
}

TEST(StreamsTest, ReadExactlyAtEndOfStreamIsIncompleteRead) {
  EXPECT_EQ(RunBounded(WithPeer(SendShortThenClose, ReadExactlyTooMuch)),
            "abc/10");
}

Coroutine<std::string> ReadUntilMissing(StreamReader r, StreamWriter) {
  try {
    co_await r.readuntil("\n");
  } catch (const IncompleteReadError& e) {
    co_return e.partial();
  }
  co_return "no error";
}

TEST(StreamsTest, ReadUntilAtEndOfStreamIsIncompleteRead) {
  EXPECT_EQ(RunBounded(WithPeer(SendShortThenClose, ReadUntilMissing)), "abc");
}

Coroutine<void> SendHugeLine(StreamReader, StreamWriter w) {
  w.write(std::string(200 * 1024, 'x'));
  w.write("\nafter\n");
  co_await w.drain();
  w.close();
}

Coroutine<std::string> ReadLineOverLimit(StreamReader r, StreamWriter) {
  std::string got;
  try {
    co_await r.readline();
  } catch (const LimitOverrunError& e) {
    got = "overrun ";
  }
  // The buffer was dropped; what comes later can still be read.
  std::string rest = co_await r.read();
  got += rest.size() > 0 ? "more" : "none";
  co_return got;
}

TEST(StreamsTest, ReadLineOverTheLimitIsLimitOverrun) {
  EXPECT_EQ(RunBounded(WithPeer(SendHugeLine, ReadLineOverLimit)),
            "overrun more");
}

Coroutine<void> HoldOpen(StreamReader r, StreamWriter w) {
  co_await r.read();  // until the client closes
  w.close();
}

Coroutine<std::string> TwoReadersAtOnce(StreamReader r, StreamWriter w) {
  Task<std::string> first = create_task(r.read(10));
  co_await sleep(absl::Milliseconds(5));
  std::string what;
  try {
    co_await r.read(10);
  } catch (const InvalidStateError& e) {
    what = "refused";
  }
  first.cancel();
  try {
    co_await first;
  } catch (const CancelledError&) {
    what += " cancelled";
  }
  w.write_eof();
  co_return what;
}

TEST(StreamsTest, SecondReaderAtOnceIsRefusedAndReadsAreCancellable) {
  EXPECT_EQ(RunBounded(WithPeer(HoldOpen, TwoReadersAtOnce)),
            "refused cancelled");
}

// --- Writer: flow control, write_eof, close ---

Coroutine<void> SlowReaderCountsBytes(StreamReader r, StreamWriter w) {
  std::size_t total = 0;
  for (;;) {
    co_await sleep(absl::Milliseconds(1));
    std::string chunk = co_await r.read(64 * 1024);
    if (chunk.empty()) break;
    total += chunk.size();
  }
  w.write(std::to_string(total) + "\n");
  co_await w.drain();
  w.close();
}

Coroutine<std::string> WriteALotWithDrain(StreamReader r, StreamWriter w) {
  const std::string block(256 * 1024, 'z');
  for (int i = 0; i < 16; ++i) {  // 4 MiB, far above the socket buffers
    w.write(block);
    co_await w.drain();
  }
  w.write_eof();
  EXPECT_THROW(w.write("late"), InvalidStateError);
  co_return co_await r.readline();
}

TEST(StreamsTest, DrainWaitsForTheBufferAndAllBytesArrive) {
  EXPECT_EQ(RunBounded(WithPeer(SlowReaderCountsBytes, WriteALotWithDrain)),
            std::to_string(16 * 256 * 1024) + "\n");
}

Coroutine<void> CloseAtOnce(StreamReader, StreamWriter w) {
  w.close();
  co_await w.wait_closed();
  EXPECT_TRUE(w.is_closing());
  EXPECT_THROW(w.write("x"), InvalidStateError);
}

Coroutine<std::string> SeesEndOfStream(StreamReader r, StreamWriter) {
  std::string rest = co_await r.read();
  co_return "[" + rest + "]";
}

TEST(StreamsTest, PeerCloseIsEndOfStream) {
  EXPECT_EQ(RunBounded(WithPeer(CloseAtOnce, SeesEndOfStream)), "[]");
}

// --- Server lifetime ---

Coroutine<std::string> ServeForeverUntilClosed() {
  Server server = co_await start_server(Echo, "127.0.0.1", 0);
  Task<void> serving = create_task(server.serve_forever());
  co_await sleep(absl::Milliseconds(5));
  EXPECT_TRUE(server.is_serving());
  server.close();
  try {
    co_await serving;
  } catch (const CancelledError&) {
    co_return "serve_forever cancelled";
  }
  co_return "serve_forever returned";
}

TEST(StreamsTest, CloseEndsServeForever) {
  EXPECT_EQ(RunBounded(ServeForeverUntilClosed()), "serve_forever cancelled");
}

Coroutine<std::string> ConnectToClosedServer() {
  Server server = co_await start_server(Echo, "127.0.0.1", 0);
  const std::uint16_t port = PortOf(server);
  server.close();
  co_await server.wait_closed();
  try {
    co_await open_connection("127.0.0.1", port);
  } catch (const std::system_error& e) {
    co_return e.code() == std::errc::connection_refused ? "refused" : e.what();
  }
  co_return "connected";
}

TEST(StreamsTest, ConnectionRefusedIsSystemError) {
  EXPECT_EQ(RunBounded(ConnectToClosedServer()), "refused");
}

Coroutine<void> Boom(StreamReader, StreamWriter) {
  throw std::runtime_error("handler failed");
  co_return;
}

Coroutine<void> ClientOfBoom() {
  Server server = co_await start_server(Boom, "127.0.0.1", 0);
  Connection c = co_await open_connection("127.0.0.1", PortOf(server));
  co_await c.reader.read();  // the handler's socket closes with its frame
  server.close();
  co_await server.wait_closed();
}

TEST(StreamsTest, HandlerExceptionGoesToTheExceptionHandler) {
  testing::ReportLog log;
  EventLoop loop;
  log.install(loop);
  loop.run_until_complete(timeout(kBound, ClientOfBoom()));
  loop.close();
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_EQ(log.reports[0].message,
            "Unhandled exception in client_connected_cb");
  EXPECT_EQ(testing::What(log.reports[0].exception), "handler failed");
}

TEST(StreamsTest, NonNumericHostIsInvalidArgument) {
  EXPECT_THROW(RunBounded(open_connection("example.com", 80)),
               std::invalid_argument);
}

// --- Raw socket operations ---

Coroutine<std::string> SockOps() {
  EventLoop& loop = get_running_loop();
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  SocketAddress any = SocketAddress::parse("127.0.0.1", 0);
  EXPECT_EQ(::bind(listener, any.data(), any.size()), 0);
  EXPECT_EQ(::listen(listener, 8), 0);
  const SocketAddress bound = SocketAddress::local_of(listener);
  const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  Task<Accepted> accepting = create_task(loop.sock_accept(listener));
  co_await loop.sock_connect(client, bound);
  Accepted a = co_await accepting;
  EXPECT_EQ(a.address.port(), SocketAddress::local_of(client).port());
  // A big send exercises the wait for writability; a concurrent receiver
  // drains it.
  const std::string payload(1 << 20, 'p');
  Task<void> sending = create_task(loop.sock_sendall(client, payload));
  std::size_t received = 0;
  std::vector<char> buf(65536);
  while (received < payload.size()) {
    const std::size_t n =
        co_await loop.sock_recv_into(a.fd, std::span<char>(buf));
    if (n == 0) break;
    received += n;
  }
  co_await sending;
  co_await loop.sock_sendall(a.fd, "pong");
  std::string reply = co_await loop.sock_recv(client, 16);
  ::close(client);
  std::string eof = co_await loop.sock_recv(a.fd, 16);
  ::close(a.fd);
  ::close(listener);
  co_return std::to_string(received) + " " + reply + " [" + eof + "]";
}

TEST(SockTest, AcceptConnectSendallRecv) {
  EXPECT_EQ(RunBounded(SockOps()), std::to_string(1 << 20) + " pong []");
}

TEST(SockTest, BlockingSocketIsRefused) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EventLoop loop;
  EXPECT_THROW(loop.run_until_complete(loop.sock_recv(fd, 1)),
               std::invalid_argument);
  ::close(fd);
}

Coroutine<bool> CancelledRecvLeavesTheFdUsable() {
  EventLoop& loop = get_running_loop();
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  // Cancelled mid-wait, twice, then a real read works.
  for (int i = 0; i < 2; ++i) {
    Task<std::string> r = create_task(loop.sock_recv(sv[0], 8));
    co_await sleep(absl::Milliseconds(2));
    r.cancel();
    try {
      co_await r;
    } catch (const CancelledError&) {
    }
  }
  EXPECT_EQ(::write(sv[1], "ok", 2), 2);
  std::string got = co_await loop.sock_recv(sv[0], 8);
  ::close(sv[0]);
  ::close(sv[1]);
  co_return got == "ok";
}

TEST(SockTest, CancelledRecvLeavesTheFdUsable) {
  EXPECT_TRUE(RunBounded(CancelledRecvLeavesTheFdUsable()));
}

Coroutine<std::string> FdUsedTwoWays() {
  EventLoop& loop = get_running_loop();
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  loop.add_reader(sv[0], [] {});
  std::string what;
  try {
    co_await loop.sock_recv(sv[0], 8);
  } catch (const InvalidStateError& e) {
    what = e.what();
  }
  loop.remove_reader(sv[0]);
  ::close(sv[0]);
  ::close(sv[1]);
  co_return what;
}

TEST(SockTest, AnFdIsUsedOneWayAtATime) {
  EXPECT_NE(RunBounded(FdUsedTwoWays()).find("add_reader"), std::string::npos);
}

}  // namespace
}  // namespace concurrent::aio
