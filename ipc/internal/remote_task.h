// Copyright 2026 The concurrent Authors.
//
// The node a ProcessPoolExecutor queues: a task that runs in a worker
// process, fused with the shared state of its future (as executors' TaskState
// is). It carries the request payload (the function's name and its encoded
// arguments) until it is written to a worker's ring, and decodes the
// response into its future. Private to ipc/.
//
// Reference counting is the executors' (executors/task_node.h): the
// future owns one reference, the pool one, which complete(), fail_claimed(),
// fail_and_release() and cancel_and_release() each drop exactly once.

#ifndef CONCURRENT_IPC_INTERNAL_REMOTE_TASK_H_
#define CONCURRENT_IPC_INTERNAL_REMOTE_TASK_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "executors/task_node.h"
#include "futures/errors.h"
#include "futures/internal/shared_state.h"
#include "ipc/codec.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/remote_state.h"

namespace concurrent {
namespace internal {

// What the pool knows when a response arrives, for error messages.
struct ResponseContext {
  int worker_pid = 0;
};

// The error a future gets when its task's frames cannot be used: a request
// that cannot be sent (larger than max_payload_bytes), a response that does
// not decode, a worker that could not run the frame: a CodecError saying
// `what` (which names the function).
std::exception_ptr MakeFrameError(std::string what);

// A readable account of a failure response: the text of a kFailure frame,
// or "Type: what()" of an encoded exception (kException).
std::string DescribeFailure(FrameKind kind, std::span<const std::byte> payload);

// A Buffer that starts in storage of its own (no allocation for the small
// arguments of most calls) and moves to the heap when it outgrows it. Never
// moved or copied.
class InlineBuffer final : public Buffer {
 public:
  InlineBuffer() noexcept { set_storage(storage_, sizeof(storage_)); }
  InlineBuffer(const InlineBuffer&) = delete;
  InlineBuffer& operator=(const InlineBuffer&) = delete;
  // Frees the heap storage, if any (the buffer is then empty).
  void release() noexcept { static_cast<Buffer&>(*this) = Buffer(); }

 private:
  alignas(16) std::byte storage_[96];
};

// How long a task of one function (and kind: a call or a map chunk) runs in
// a pool's workers: a moving average over about its last 8 runs, 0 until one
// finished. The pool owns one per function; its tasks point to it.
struct RunEstimate {
  std::uint64_t average_ns = 0;
};

class RemoteTaskNode : public TaskNode {
 public:
  // For RemoteState (internal/remote_state.h).
  using ReplyKind = FrameKind;
  using ReplyContext = ResponseContext;
  static constexpr std::string_view kRunsElsewhere =
      "a ProcessPoolExecutor task cannot run in the submitting process";

  // The request frame's kind (kCall or kChunk) and payload.
  FrameKind kind() const noexcept { return kind_; }
  std::string_view function_name() const noexcept { return name_; }
  // The encoded arguments (kCall) or items (kChunk): fill before submitting.
  Buffer& args() noexcept { return args_; }
  // `name` must outlive the node (the registry's names are static).
  void set_function(std::string_view name) noexcept { name_ = name; }

  std::size_t payload_size() const noexcept {
    return sizeof(std::uint16_t) + name_.size() + args_.size();
  }
  // Writes the payload: [u16 name length][name][args].
  void write_payload(std::byte* dst) const noexcept {
    const auto length = static_cast<std::uint16_t>(name_.size());
    std::memcpy(dst, &length, sizeof(length));
    std::memcpy(dst + sizeof(length), name_.data(), name_.size());
    if (args_.size() != 0) {
      std::memcpy(dst + sizeof(length) + name_.size(), args_.data(),
                  args_.size());
    }
  }
  // Frees the encoded arguments once they are in a ring (unless the pool may
  // have to send them again).
  void release_payload() noexcept { args_.release(); }

  // Completes the future from a response frame of `kind` (kValue,
  // kException, kChunkResult or kFailure) and drops the pool's reference.
  // Requires: the pool claimed the task (try_set_running). Never throws: a
  // payload that does not decode fails the future with a clear error.
  virtual void complete(FrameKind kind, std::span<const std::byte> payload,
                        const ResponseContext& context) noexcept = 0;

  // Fails a claimed task's future with `error`; drops the pool's reference.
  virtual void fail_claimed(std::exception_ptr error) noexcept = 0;

  // Drops the only reference of a node that was never adopted by a future
  // (its arguments did not encode).
  virtual void discard() noexcept = 0;

  // For RemoteState: called by a thread about to park on the future; may
  // wait for the response in shared memory (PoolCore::await_response).
  static constexpr bool kAwaitsReply = true;
  bool await_reply(const Deadline& deadline) noexcept;

  // Set by the pool when it claimed the task (it stays claimed if it is sent
  // again after its worker died before starting it).
  bool claimed = false;
  // The request's sequence number in its current worker's ring.
  std::uint64_t seq = 0;
  // Under the pool's mu_: its function's run time (set on first use), and
  // where it was sent last: the worker slot (-1: not sent) and that slot's
  // generation.
  RunEstimate* estimate = nullptr;
  int worker = -1;
  std::uint64_t generation = 0;

 protected:
  explicit RemoteTaskNode(FrameKind kind) : kind_(kind) {}
  ~RemoteTaskNode() = default;

 private:
  FrameKind kind_;
  std::string_view name_;
  InlineBuffer args_;
};

// A RemoteTaskNode whose future is a Future<T>. Subclasses implement decode().
template <typename T>
using RemoteTaskState = RemoteState<T, RemoteTaskNode>;

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_REMOTE_TASK_H_
