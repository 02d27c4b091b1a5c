// Copyright 2026 The concurrent Authors.
//
// The lazy range that ProcessPoolExecutor::map() and MpiCommExecutor::map()
// return (as ProcessMapResults and MpiMapResults): the inputs go out in
// chunks of `chunksize` items, one task each, at most `buffersize` chunks
// ahead of iteration, and the results come back in input order. The two
// executors differ only in how a chunk becomes a task; their `Backend` does
// that. Private to ipc/ and ipc/mpi/.
//
// A Backend is a class with
//   using Executor = ...;  // the executor, which befriends the Backend
//   template <typename U, typename It, typename End, typename Encode>
//   static Future<MapChunk<U>> submit_chunk(Executor& executor, It& next,
//                                           End end, std::size_t chunksize,
//                                           Encode& encode_item);
// that encodes up to `chunksize` items from `next` (advancing it; at least
// one is left when it is called) with `encode_item(Buffer&, Item&&)`, which
// returns the function's registered name, submits them to `executor` as one
// task and returns that task's future.

#ifndef CONCURRENT_IPC_INTERNAL_REMOTE_MAP_RESULTS_H_
#define CONCURRENT_IPC_INTERNAL_REMOTE_MAP_RESULTS_H_

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "executors/executor.h"
#include "futures/future.h"
#include "futures/internal/futex.h"
#include "ipc/codec.h"
#include "ipc/task_registry.h"

namespace concurrent {
namespace internal {

// The lazy range of map() over processes or ranks: results in input order.
// An input range; iterate it once, from one thread. The executor must
// outlive it. Move-only.
template <typename U, typename V, typename Backend>
class RemoteMapResults {
 public:
  using value_type = U;

  class iterator {
   public:
    using value_type = U;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    U& operator*() const { return *owner_->current_; }
    U* operator->() const { return &*owner_->current_; }
    // Blocks for the next result; throws the item's exception, TimeoutError
    // or CancelledError (then the range is at its end).
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.done();
    }

   private:
    friend class RemoteMapResults;
    explicit iterator(RemoteMapResults* owner) : owner_(owner) {}
    bool done() const { return owner_ == nullptr || owner_->at_end_; }
    RemoteMapResults* owner_ = nullptr;
  };

  RemoteMapResults(RemoteMapResults&& other) noexcept = default;
  RemoteMapResults& operator=(RemoteMapResults&& other) noexcept {
    if (this != &other) {
      abandon();
      impl_ = std::move(other.impl_);
      current_ = std::move(other.current_);
      at_end_ = other.at_end_;
    }
    return *this;
  }
  // Destroying (or assigning over) a range whose iteration has begun cancels
  // its chunks not yet sent; a range never iterated lets them run.
  ~RemoteMapResults() { abandon(); }

  // Blocks for the first result (and throws as operator++ does). Call once.
  iterator begin() {
    impl_->started = true;
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  using Executor = typename Backend::Executor;
  friend Executor;
  using Chunk = MapChunk<U>;
  using Item = std::remove_cvref_t<std::ranges::range_reference_t<V>>;

  template <typename F>
  RemoteMapResults(Executor& executor, F fn, V&& inputs,
                   const MapOptions& options) {
    if (options.chunksize < 1) {
      throw std::invalid_argument("map(): chunksize must be at least 1");
    }
    if (options.buffersize < 1) {
      throw std::invalid_argument(
          "map(): buffersize must be at least 1 (or kUnbounded)");
    }
    impl_ = std::make_unique<Impl>(executor, std::move(inputs), options);
    impl_->encode_item = [fn](Buffer& out, Item&& item) {
      return encode_call(out, fn, std::move(item));
    };
  }

  struct Impl {
    Impl(Executor& e, V&& v, const MapOptions& o)
        : executor(&e),
          inputs(std::move(v)),
          next_input(std::ranges::begin(inputs)),
          deadline(Deadline::After(o.timeout)),
          chunksize(o.chunksize),
          buffersize(o.buffersize) {}

    Executor* executor;
    V inputs;
    std::ranges::iterator_t<V> next_input;
    Deadline deadline;  // monotonic, from the map() call
    std::size_t chunksize;
    std::size_t buffersize;
    std::function<std::string_view(Buffer&, Item&&)> encode_item;
    std::deque<Future<Chunk>> in_flight;
    Chunk chunk;               // the chunk being yielded
    std::size_t position = 0;  // of the next value in `chunk`
    bool started = false;      // begin() was called
  };

  // Submits the first `buffersize` chunks (all of them by default).
  void start() {
    while (impl_->in_flight.size() < impl_->buffersize && submit_chunk()) {
    }
  }

  // Submits the next chunk; false if the inputs are exhausted.
  bool submit_chunk() {
    Impl& m = *impl_;
    if (m.next_input == std::ranges::end(m.inputs)) return false;
    m.in_flight.push_back(Backend::template submit_chunk<U>(
        *m.executor, m.next_input, std::ranges::end(m.inputs), m.chunksize,
        m.encode_item));
    return true;
  }

  // Iteration began and is abandoned: cancel what has not been sent.
  void abandon() noexcept {
    if (impl_ != nullptr && impl_->started) cancel_in_flight();
  }

  void cancel_in_flight() noexcept {
    if (impl_ == nullptr) return;
    for (Future<Chunk>& f : impl_->in_flight) {
      try {
        f.cancel();
      } catch (...) {
      }
    }
    impl_->in_flight.clear();
  }

  void advance() {
    Impl& m = *impl_;
    if (at_end_) return;
    current_.reset();
    while (m.position >= m.chunk.values.size()) {
      if (m.chunk.error != nullptr) {
        std::exception_ptr e = std::exchange(m.chunk.error, nullptr);
        at_end_ = true;
        cancel_in_flight();
        std::rethrow_exception(e);
      }
      if (m.in_flight.empty()) {
        at_end_ = true;
        return;
      }
      Future<Chunk> next = std::move(m.in_flight.front());
      m.in_flight.pop_front();
      try {
        if (m.buffersize != MapOptions::kUnbounded) submit_chunk();
        const absl::Duration timeout = m.deadline.remaining();
        m.chunk = std::move(next).result(timeout);
      } catch (...) {
        at_end_ = true;
        next.cancel();
        cancel_in_flight();
        throw;
      }
      m.position = 0;
    }
    current_.emplace(std::move(m.chunk.values[m.position++]));
  }

  std::unique_ptr<Impl> impl_;
  std::optional<U> current_;
  bool at_end_ = false;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_REMOTE_MAP_RESULTS_H_
