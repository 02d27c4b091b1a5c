// Copyright 2026 The concurrent Authors.
//
// The node an MpiCommExecutor queues: a task that runs on a worker rank,
// fused with the shared state of its future (as executors' TaskState is). It
// holds the task message (protocol.h) until the message is sent, and
// decodes the reply into its future. Private: include
// "ipc/mpi/mpi_comm_executor.h".
//
// Reference counting is the executors' (executors/task_node.h): the future
// owns one reference, the executor one, which complete(), fail_claimed(),
// fail_and_release() and cancel_and_release() each drop exactly once.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_MPI_TASK_H_
#define CONCURRENT_IPC_MPI_INTERNAL_MPI_TASK_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "executors/executor.h"
#include "executors/task_node.h"
#include "futures/errors.h"
#include "futures/internal/shared_state.h"
#include "ipc/codec.h"
#include "ipc/internal/remote_state.h"
#include "ipc/mpi/internal/protocol.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent {
namespace internal {

// What the master knows when a reply arrives, for error messages.
struct MpiReplyContext {
  int rank = 0;
};

// The error of a kFailure reply: a CodecError naming the function, the rank
// and what the worker said.
std::exception_ptr MpiWorkerFailure(std::string_view function,
                                    const MpiReplyContext& context,
                                    std::span<const std::byte> text);
// The error of a reply of a kind the task does not expect.
std::exception_ptr MpiUnexpectedReply(std::string_view function,
                                      const MpiReplyContext& context);

class MpiTaskNode : public TaskNode {
 public:
  // For RemoteState (ipc/internal/remote_state.h).
  using ReplyKind = mpi::ReplyKind;
  using ReplyContext = MpiReplyContext;
  static constexpr std::string_view kRunsElsewhere =
      "an MpiCommExecutor task cannot run on the master rank";

  mpi::TaskKind kind() const noexcept { return kind_; }
  std::string_view function_name() const noexcept { return name_; }
  // For RemoteState: a waiter parks (only the executor's master thread
  // receives replies).
  static constexpr bool kAwaitsReply = false;
  bool await_reply(const Deadline&) noexcept { return false; }

  // The whole task message: kHeaderSize bytes reserved for the header, then
  // the arguments (encode into it), then the name (finish_message()).
  Buffer& message() noexcept { return message_; }
  // Appends the name and fills the header's lengths. `name` must outlive
  // the node (the registry's names are static).
  void finish_message(std::string_view name) {
    name_ = name;
    mpi::TaskHeader header;
    header.kind = kind_;
    header.name_length = static_cast<std::uint16_t>(name.size());
    header.args_length = message_.size() - mpi::kHeaderSize;
    message_.append(name.data(), name.size());
    std::memcpy(message_.data(), &header, sizeof(header));
  }
  // Stamps the executor and the largest reply it accepts into the header.
  void stamp(std::uint32_t executor, std::uint64_t max_reply) noexcept {
    mpi::TaskHeader header;
    std::memcpy(&header, message_.data(), sizeof(header));
    header.executor = executor;
    header.max_reply_bytes = max_reply;
    std::memcpy(message_.data(), &header, sizeof(header));
  }
  // The size of the arguments (the payload that max_payload_bytes bounds).
  std::size_t args_size() const noexcept {
    return message_.size() - mpi::kHeaderSize - name_.size();
  }
  // Frees the message once it is sent.
  void release_message() noexcept { message_ = Buffer(); }

  // Completes the future from a reply and drops the executor's reference.
  // Requires: the task was claimed (try_claim). Never throws: a payload
  // that does not decode fails the future.
  virtual void complete(mpi::ReplyKind kind, std::span<const std::byte> payload,
                        const MpiReplyContext& context) noexcept = 0;
  // Fails a claimed task's future with `error`; drops the executor's
  // reference.
  virtual void fail_claimed(std::exception_ptr error) noexcept = 0;
  // Drops the only reference of a node that no future adopted (its
  // arguments did not encode).
  virtual void discard() noexcept = 0;

  // The executor's state (internal::MpiExecutorCore) the task belongs to.
  void* core = nullptr;
  // The task's sequence number among those sent to its worker.
  std::uint64_t seq = 0;

 protected:
  explicit MpiTaskNode(mpi::TaskKind kind) : kind_(kind) {
    message_.append(mpi::kHeaderSize);
  }
  ~MpiTaskNode() = default;

 private:
  mpi::TaskKind kind_;
  std::string_view name_;
  Buffer message_;
};

// An MpiTaskNode whose future is a Future<T>. Subclasses implement decode().
template <typename T>
using MpiTaskState = RemoteState<T, MpiTaskNode>;

// submit(fn, args...): the future of fn's result R (maybe void).
template <typename R>
class MpiCallTask final : public MpiTaskState<R> {
 public:
  MpiCallTask() : MpiTaskState<R>(mpi::TaskKind::kCall) {}

 private:
  void decode(mpi::ReplyKind kind, std::span<const std::byte> payload,
              const MpiReplyContext& context) override {
    switch (kind) {
      case mpi::ReplyKind::kValue:
        if constexpr (std::is_void_v<R>) {
          decode_result<void>(payload);
          this->set_value();
        } else {
          this->set_value(decode_result<R>(payload));
        }
        return;
      case mpi::ReplyKind::kException:
        this->set_exception(decode_exception(payload));
        return;
      case mpi::ReplyKind::kFailure:
        this->set_exception(
            MpiWorkerFailure(this->function_name(), context, payload));
        return;
      default:
        this->set_exception(MpiUnexpectedReply(this->function_name(), context));
        return;
    }
  }
};

// The CodecError of a chunk reply that does not parse.
[[noreturn]] void ThrowCorruptChunk(std::string_view function,
                                    const MpiReplyContext& context,
                                    std::string_view what);

// map(fn, inputs): one chunk of inputs; the future of the results of its
// first items and the exception of the first that failed.
template <typename U>
class MpiChunkTask final : public MpiTaskState<MapChunk<U>> {
 public:
  MpiChunkTask() : MpiTaskState<MapChunk<U>>(mpi::TaskKind::kChunk) {}
  void set_count(std::uint64_t count) noexcept { count_ = count; }

 private:
  void decode(mpi::ReplyKind kind, std::span<const std::byte> payload,
              const MpiReplyContext& context) override {
    if (kind == mpi::ReplyKind::kFailure) {
      this->set_exception(
          MpiWorkerFailure(this->function_name(), context, payload));
      return;
    }
    if (kind != mpi::ReplyKind::kChunkResult) {
      this->set_exception(MpiUnexpectedReply(this->function_name(), context));
      return;
    }
    mpi::Reader reader(payload);
    std::uint64_t count = 0;
    if (!reader.read(count) || count > count_) {
      ThrowCorruptChunk(this->function_name(), context, "its item count");
    }
    MapChunk<U> chunk;
    chunk.values.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint64_t length = 0;
      std::uint64_t zero = 0;
      std::span<const std::byte> bytes;
      if (!reader.skip_to_16() || !reader.read(length) || !reader.read(zero) ||
          !reader.read_bytes(length & ~mpi::kItemFailed, bytes)) {
        ThrowCorruptChunk(this->function_name(), context, "an item");
      }
      if ((length & mpi::kItemFailed) == 0) {
        chunk.values.push_back(decode_result<U>(bytes));
      } else {
        chunk.error = decode_exception(bytes);
        break;
      }
    }
    if (chunk.error == nullptr && chunk.values.size() != count_) {
      ThrowCorruptChunk(this->function_name(), context,
                        "fewer results than inputs");
    }
    this->set_value(std::move(chunk));
  }

  std::uint64_t count_ = 0;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_INTERNAL_MPI_TASK_H_
