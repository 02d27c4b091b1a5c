// Copyright 2026 The concurrent Authors.
//
// The messages MpiCommExecutor's master and worker ranks exchange on their
// communicator (a duplicate of MPI_COMM_WORLD, so nothing a program sends on
// MPI_COMM_WORLD itself can match them). Both sides run the same binary, so
// the layout is native (no byte swapping), as ipc/codec.h's wire format is.
// Private to ipc/mpi.
//
// A task (tag kTagTask, master -> worker):
//   [TaskHeader, 32 bytes][args: args_length bytes][name: name_length bytes]
//   The arguments start 32 bytes into the message, so an encoding that the
//   master made at offset 0 of a 16-byte aligned Buffer keeps its alignment
//   in the worker's 16-byte aligned receive buffer (ipc/codec.h, "Copies of
//   large data": a 64 MiB vector then decodes with one memcpy).
//   A call's args are encode_call's bytes. A map() chunk's args are
//   [u64 count] then per item: zero padding to a 16-byte boundary of the
//   args, [u64 length][u64 0][the item's encode_call bytes].
//
// A reply (tag kTagReply, worker -> master), one per task, in the order the
// worker received them:
//   [ReplyHeader, 32 bytes][payload]
//   kValue: the encoded result; kException: the encoded exception
//   (ipc/remote_error.h); kFailure: a text saying why the worker could not
//   run the task (the message did not parse, the result was too large);
//   kChunkResult: [u64 count] then per item: zero padding to a 16-byte
//   boundary of the payload, [u64 length | kItemFailed if it threw][u64 0]
//   [the result, or the exception, which ends the chunk].
//
// Control (tag kTagControl, master -> worker): a ControlMessage. kEnd: the
// master's executor `executor` has shut down and finished its work (a
// worker rank's MpiCommExecutor constructor returns when it has seen the end
// of its own executor); kExit: MpiCommExecutor::main's function returned,
// the worker leaves its loop.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_PROTOCOL_H_
#define CONCURRENT_IPC_MPI_INTERNAL_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

namespace concurrent {
namespace internal {
namespace mpi {

inline constexpr int kTagTask = 1;
inline constexpr int kTagReply = 2;
inline constexpr int kTagControl = 3;

inline constexpr std::uint32_t kTaskMagic = 0x4b534154;     // "TASK"
inline constexpr std::uint32_t kReplyMagic = 0x594c5052;    // "RPLY"
inline constexpr std::uint32_t kControlMagic = 0x4c525443;  // "CTRL"

enum class TaskKind : std::uint8_t { kCall = 1, kChunk = 2 };
enum class ReplyKind : std::uint8_t {
  kValue = 1,
  kException = 2,
  kChunkResult = 3,
  kFailure = 4,
};
enum class ControlOp : std::uint32_t { kEnd = 1, kExit = 2 };

struct TaskHeader {
  std::uint32_t magic = kTaskMagic;
  TaskKind kind = TaskKind::kCall;
  std::uint8_t reserved0 = 0;
  std::uint16_t name_length = 0;
  std::uint32_t executor = 0;
  std::uint32_t reserved1 = 0;
  // The worker's reply must not be larger than this (the master's
  // max_payload_bytes): a larger result is replaced by a kFailure.
  std::uint64_t max_reply_bytes = 0;
  std::uint64_t args_length = 0;
};

struct ReplyHeader {
  std::uint32_t magic = kReplyMagic;
  ReplyKind kind = ReplyKind::kValue;
  std::uint8_t reserved0 = 0;
  std::uint16_t reserved1 = 0;
  std::uint32_t executor = 0;
  std::uint32_t reserved2 = 0;
  // The n-th task the master sent to this worker (0, 1, ...): replies come
  // in that order, the master checks it.
  std::uint64_t seq = 0;
  // How long the task ran in the worker (for the master's queue-ahead).
  std::uint64_t run_ns = 0;
};

struct ControlMessage {
  std::uint32_t magic = kControlMagic;
  ControlOp op = ControlOp::kEnd;
  std::uint32_t executor = 0;
  std::uint32_t reserved = 0;
};

inline constexpr std::size_t kHeaderSize = 32;
static_assert(sizeof(TaskHeader) == kHeaderSize);
static_assert(sizeof(ReplyHeader) == kHeaderSize);
static_assert(std::is_trivially_copyable_v<TaskHeader> &&
              std::is_trivially_copyable_v<ReplyHeader> &&
              std::is_trivially_copyable_v<ControlMessage>);

// Set in a chunk result item's length when that item threw.
inline constexpr std::uint64_t kItemFailed = std::uint64_t{1} << 63;
// An item's prefix in a chunk: [u64 length][u64 0].
inline constexpr std::size_t kItemPrefix = 16;

// The zero bytes that bring `offset` to a multiple of 16.
inline constexpr std::size_t PadTo16(std::size_t offset) {
  return (16 - offset % 16) % 16;
}

// Reads trivially copyable values from a span, checking every length.
class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  template <typename T>
  bool read(T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_bytes(std::size_t n, std::span<const std::byte>& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool skip_to_16() {
    const std::size_t pad = PadTo16(pos_);
    if (bytes_.size() - pos_ < pad) return false;
    pos_ += pad;
    return true;
  }
  std::size_t position() const { return pos_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace mpi
}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_INTERNAL_PROTOCOL_H_
