// Experiment 1's network: a small HTTP server on 127.0.0.1 that serves
// numbered files, each response delayed (the flags of the book's example,
// served from "far away"), and a blocking HTTP client that, like CPython's
// socket module, makes every blocking socket call without the calling
// thread's GIL and parses while holding it. Both speak HTTP/1.1 through
// Boost.Beast.
//
//   FileServer server({.files = 20, .delay = absl::Milliseconds(100)});
//   std::string body = http_get(server.port(), file_path(3));
//   assert(body == file_content(3));
//
// Thread-safety: FileServer is thread-safe (its own thread serves every
// connection; the delays are timers, so one thread serves them all at once).
// http_get() is thread-safe (each call has its own socket).
//
// Errors: FileServer's constructor throws boost::system::system_error if it
// cannot listen; http_get() throws it on a socket error and
// std::runtime_error on a status other than 200.

#ifndef CONCURRENT_BENCHMARKS_TOUR_HTTP_H_
#define CONCURRENT_BENCHMARKS_TOUR_HTTP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace concurrent::tour {

// The path of file `i` ("/flags/07.bin").
std::string file_path(int i);

// The bytes of file `i`: 1024 + 311 * i bytes, byte k being
// (31 * i + 7 * k + (k >> 8)) & 0xff. benchmarks/python/tour.py computes the
// same to verify CPython's downloads.
std::string file_content(int i);

class FileServer {
 public:
  struct Options {
    int files = 20;                                  // /flags/00 .. /flags/NN
    absl::Duration delay = absl::Milliseconds(100);  // before each response
  };

  // Listens on 127.0.0.1 on an ephemeral port and starts serving.
  explicit FileServer(Options options);
  // Stops serving (open connections are closed) and joins the thread.
  ~FileServer();
  FileServer(const FileServer&) = delete;
  FileServer& operator=(const FileServer&) = delete;

  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GETs http://127.0.0.1:<port><target> on a new connection and returns the
// body. Connect, each send and each receive run without the calling
// thread's current GIL (concurrent::current_gil(), if any).
std::string http_get(uint16_t port, const std::string& target);

// For clients that bring their own transport (experiment 1's coroutines, on
// aio's streams): the bytes of the same GET request as http_get() sends
// (HTTP/1.1, "Connection: close"), and the body of a complete response read
// to the end of the stream, parsed by Boost.Beast's parser. The latter throws
// std::runtime_error if the response is malformed or incomplete, or its
// status is not 200.
std::string http_get_request(const std::string& target);
std::string http_response_body(std::string_view response,
                               const std::string& target);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_HTTP_H_
