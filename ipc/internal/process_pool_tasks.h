// Copyright 2026 The concurrent Authors.
//
// The typed task nodes of ProcessPoolExecutor: a call (submit) and a chunk of
// calls (map), which decode their responses with the codec. Private: include
// "ipc/process_pool_executor.h".

#ifndef CONCURRENT_IPC_INTERNAL_PROCESS_POOL_TASKS_H_
#define CONCURRENT_IPC_INTERNAL_PROCESS_POOL_TASKS_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "executors/executor.h"
#include "ipc/codec.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/remote_task.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent {
namespace internal {

// The error of a kFailure response (the worker could not run the frame).
std::exception_ptr WorkerFailure(std::string_view function,
                                 const ResponseContext& context,
                                 std::span<const std::byte> message);
// The error of a response of an unexpected kind.
std::exception_ptr UnexpectedResponse(std::string_view function,
                                      FrameKind kind);

// submit(fn, args...): the future of fn's result R (maybe void).
template <typename R>
class CallTask final : public RemoteTaskState<R> {
 public:
  CallTask() : RemoteTaskState<R>(FrameKind::kCall) {}

 private:
  void decode(FrameKind kind, std::span<const std::byte> payload,
              const ResponseContext& context) override {
    switch (kind) {
      case FrameKind::kValue:
        if constexpr (std::is_void_v<R>) {
          decode_result<void>(payload);
          this->set_value();
        } else {
          this->set_value(decode_result<R>(payload));
        }
        return;
      case FrameKind::kException:
        this->set_exception(decode_exception(payload));
        return;
      case FrameKind::kFailure:
        this->set_exception(
            WorkerFailure(this->function_name(), context, payload));
        return;
      default:
        this->set_exception(UnexpectedResponse(this->function_name(), kind));
        return;
    }
  }
};

// map(fn, inputs): one chunk of inputs; the future of the results of its
// first items and the exception of the first that failed.
template <typename U>
class ChunkTask final : public RemoteTaskState<MapChunk<U>> {
 public:
  ChunkTask() : RemoteTaskState<MapChunk<U>>(FrameKind::kChunk) {}
  void set_count(std::uint32_t count) noexcept { count_ = count; }

 private:
  void decode(FrameKind kind, std::span<const std::byte> payload,
              const ResponseContext& context) override {
    if (kind == FrameKind::kFailure) {
      this->set_exception(
          WorkerFailure(this->function_name(), context, payload));
      return;
    }
    if (kind != FrameKind::kChunkResult) {
      this->set_exception(UnexpectedResponse(this->function_name(), kind));
      return;
    }
    ByteReader reader(payload);
    std::uint32_t count = 0;
    if (!reader.read(count) || count > count_) {
      throw CodecError(
          "ProcessPoolExecutor: a map() chunk's response is "
          "corrupt (its item count)");
    }
    MapChunk<U> chunk;
    chunk.values.reserve(count);
    for (std::uint32_t i = 0; i < count; ++i) {
      std::uint8_t ok = 0;
      std::uint32_t length = 0;
      std::span<const std::byte> bytes;
      if (!reader.read(ok) || !reader.read(length) ||
          !reader.read_bytes(length, bytes)) {
        throw CodecError(
            "ProcessPoolExecutor: a map() chunk's response is "
            "truncated");
      }
      if (ok != 0) {
        chunk.values.push_back(decode_result<U>(bytes));
      } else {
        chunk.error = decode_exception(bytes);
        break;
      }
    }
    if (chunk.error == nullptr && chunk.values.size() != count_) {
      throw CodecError("ProcessPoolExecutor: a map() chunk's response has " +
                       std::to_string(chunk.values.size()) + " results for " +
                       std::to_string(count_) + " inputs");
    }
    this->set_value(std::move(chunk));
  }

  std::uint32_t count_ = 0;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_PROCESS_POOL_TASKS_H_
