#include "benchmarks/tour/http.h"

#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "gil/gil.h"

namespace concurrent::tour {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: read a request, wait `delay` (a timer, not a thread),
// answer, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const std::vector<std::string>& files,
          absl::Duration delay)
      : socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        files_(files),
        delay_(delay) {}

  void start() {
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->on_request();
                     });
  }

 private:
  void on_request() {
    response_.version(request_.version());
    response_.keep_alive(false);
    response_.set(http::field::server, "concurrent-tour");
    int index = -1;
    const std::string target(request_.target());
    for (size_t i = 0; i < files_.size(); ++i) {
      if (target == file_path(static_cast<int>(i))) index = static_cast<int>(i);
    }
    if (request_.method() != http::verb::get || index < 0) {
      response_.result(http::status::not_found);
      response_.body() = "not found\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "application/octet-stream");
      response_.body() = files_[index];
    }
    response_.prepare_payload();
    timer_.expires_after(
        std::chrono::nanoseconds(absl::ToInt64Nanoseconds(delay_)));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->respond();
    });
  }

  void respond() {
    http::async_write(socket_, response_,
                      [self = shared_from_this()](beast::error_code, size_t) {
                        beast::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_send,
                                               ignored);
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const std::vector<std::string>& files_;
  const absl::Duration delay_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response<http::string_body> response_;
};

// A tcp::socket whose blocking calls run without the calling thread's GIL,
// as CPython's socket module wraps each in Py_BEGIN_ALLOW_THREADS. Meets
// Beast's SyncReadStream and SyncWriteStream; everything else (Beast's
// parser and serializer) runs holding the GIL.
class GilReleasingSocket {
 public:
  explicit GilReleasingSocket(tcp::socket& socket) : socket_(socket) {}

  using executor_type = tcp::socket::executor_type;
  executor_type get_executor() { return socket_.get_executor(); }

  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    return without_gil([&] { return socket_.read_some(buffers); });
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    return without_gil([&] { return socket_.read_some(buffers, ec); });
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers) {
    return without_gil([&] { return socket_.write_some(buffers); });
  }
  template <typename Buffers>
  size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    return without_gil([&] { return socket_.write_some(buffers, ec); });
  }

 private:
  tcp::socket& socket_;
};

}  // namespace

std::string file_path(int i) { return absl::StrFormat("/flags/%02d.bin", i); }

std::string file_content(int i) {
  const int size = 1024 + 311 * i;
  std::string s(static_cast<size_t>(size), '\0');
  for (int k = 0; k < size; ++k) {
    s[static_cast<size_t>(k)] =
        static_cast<char>((31 * i + 7 * k + (k >> 8)) & 0xff);
  }
  return s;
}

struct FileServer::Impl {
  explicit Impl(Options o) : options(o), acceptor(io) {
    for (int i = 0; i < o.files; ++i) files.push_back(file_content(i));
    const tcp::endpoint endpoint(asio::ip::make_address_v4("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();  // before the thread uses it
    accept();
    thread = std::thread([this] { io.run(); });
  }

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed: the server is stopping
      std::make_shared<Session>(std::move(socket), files, options.delay)
          ->start();
      accept();
    });
  }

  const Options options;
  std::vector<std::string> files;
  asio::io_context io;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  std::thread thread;
};

FileServer::FileServer(Options options)
    : impl_(std::make_unique<Impl>(options)) {}

FileServer::~FileServer() {
  impl_->io.stop();
  impl_->thread.join();
}

uint16_t FileServer::port() const { return impl_->port; }

namespace {

http::request<http::empty_body> get_request(const std::string& target) {
  http::request<http::empty_body> request(http::verb::get, target, 11);
  request.set(http::field::host, "127.0.0.1");
  request.set(http::field::user_agent, "concurrent-tour");
  request.keep_alive(false);
  return request;
}

std::string ok_body(http::response<http::string_body>& response,
                    const std::string& target) {
  if (response.result() != http::status::ok) {
    throw std::runtime_error(
        absl::StrCat("GET ", target, ": HTTP ", response.result_int()));
  }
  return std::move(response.body());
}

}  // namespace

std::string http_get(uint16_t port, const std::string& target) {
  asio::io_context io;
  tcp::socket socket(io);
  without_gil([&] {
    socket.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
  });
  GilReleasingSocket stream(socket);
  http::write(stream, get_request(target));
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  return ok_body(response, target);
}

std::string http_get_request(const std::string& target) {
  std::ostringstream out;
  out << get_request(target);
  return std::move(out).str();
}

std::string http_response_body(std::string_view response,
                               const std::string& target) {
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  beast::error_code ec;
  size_t used = 0;
  while (!ec && !parser.is_done() && used < response.size()) {
    const size_t n = parser.put(
        asio::buffer(response.data() + used, response.size() - used), ec);
    if (ec == http::error::need_more) ec = {};
    if (n == 0 && !ec) break;  // the parser wants more than there is
    used += n;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) {
    throw std::runtime_error(absl::StrCat(
        "GET ", target, ": a malformed or incomplete response (",
        ec ? ec.message() : "cut short", ", ", response.size(), " bytes)"));
  }
  http::response<http::string_body> message = parser.release();
  return ok_body(message, target);
}

}  // namespace concurrent::tour
