// Copyright 2026 The concurrent Authors.
//
// The layout of a process pool's shared memory. Private to ipc/; the rules
// that make it safe are in the "Notes about the implementation" block of
// ipc/process_pool_executor.cc, and in docs/ipc.md.
//
// Two memfds per pool, both sealed against shrinking:
//
//   control segment (a few hundred KiB):
//     SegmentHeader                       offset 0, one page
//     InitializerBlock                    the initializer's name and args
//     WorkerBlock[max_workers]            worker_blocks_offset + i * stride
//       control words (state, pid, stop, started_seq, ...)
//       worker doorbell (futex word) and its "sleeping" flag
//       request ring indices + slots      parent -> worker
//       response ring indices + slots     worker -> parent
//
//   spill segment (sparse: pages exist only where written):
//     for worker i: request area  at (2i)   * spill_area_size
//                   response area at (2i+1) * spill_area_size
//
// Every index and length read from shared memory is validated before use:
// a peer may be dead, half-way through a write, or corrupt.

#ifndef CONCURRENT_IPC_INTERNAL_LAYOUT_H_
#define CONCURRENT_IPC_INTERNAL_LAYOUT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

namespace concurrent {
namespace internal {

inline constexpr std::uint64_t kSegmentMagic =
    0x314c4f4f50434343;  // "CCCPOOL1"
inline constexpr std::uint32_t kLayoutVersion = 2;
inline constexpr std::size_t kCacheLine = 64;

// Slots: fixed size; a frame whose payload does not fit inline goes to the
// spill area and the slot carries its position.
inline constexpr std::uint32_t kSlotSize = 512;
inline constexpr std::uint32_t kSlotCount = 64;  // per ring, a power of two
static_assert((kSlotCount & (kSlotCount - 1)) == 0);

inline constexpr std::size_t kMaxFunctionName = 1024;

enum class WorkerState : std::uint32_t {
  kVacant = 0,      // no process
  kStarting = 1,    // spawned; initializer not done yet
  kReady = 2,       // serving its request ring
  kInitFailed = 3,  // the initializer threw: its exception is response
                    // frame 0 (task frames count from 1); exits
  kRetiring = 4,    // ran max_tasks_per_child tasks, answered them; exits
  kStopped = 5,     // asked to stop, ring drained; exits
};

enum class FrameKind : std::uint32_t {
  // Requests.
  kCall = 1,   // [u16 name length][name][args]
  kChunk = 2,  // [u16 name length][name][u32 n] n x ([u32 length][args])
  // Responses.
  kValue = 16,        // an encoded result
  kException = 17,    // an encoded exception (the task threw)
  kChunkResult = 18,  // [u32 n] n x ([u8 ok][u32 length][bytes]); only the
                      // last may have ok = 0 (an encoded exception)
  kFailure = 19,      // the worker could not run the frame: UTF-8 message
};

inline constexpr std::uint32_t kFlagSpilled = 1;

// The fixed header of a slot. Readers copy it out once (a peer could be
// writing it) and validate the copy.
struct SlotHeader {
  std::uint64_t seq;          // per-worker task number; echoed in responses
  std::uint32_t kind;         // FrameKind
  std::uint32_t flags;        // kFlagSpilled
  std::uint64_t length;       // payload bytes
  std::uint64_t spill_begin;  // monotonic spill position (if spilled)
  // Responses: how long the task ran (ns), a hint the parent's dispatch
  // uses; 0 in requests and where unknown.
  std::uint64_t run_ns;
};
static_assert(sizeof(SlotHeader) == 40);
inline constexpr std::uint32_t kInlineCapacity = kSlotSize - sizeof(SlotHeader);

struct alignas(kCacheLine) Slot {
  SlotHeader header;
  std::byte inline_payload[kInlineCapacity];
};
static_assert(sizeof(Slot) == kSlotSize);

// A single-producer single-consumer ring of fixed slots. Positions are
// monotonic 64-bit counters; slot = position % kSlotCount. The producer owns
// `tail`, the consumer `head` and `spill_free`. Nothing here is a lock: a
// process that dies leaves the indices consistent (a half-written slot is not
// published until `tail` moves).
struct RingControl {
  alignas(kCacheLine) std::atomic<std::uint64_t> tail;
  alignas(kCacheLine) std::atomic<std::uint64_t> head;
  // The consumer publishes the end of the last spill range it is done with.
  alignas(kCacheLine) std::atomic<std::uint64_t> spill_free;
};

struct alignas(kCacheLine) WorkerBlock {
  // Written by the worker (the parent resets them between processes).
  std::atomic<std::uint32_t> state;  // WorkerState
  std::atomic<std::uint32_t> pid;
  // The seq of the task the worker is running (or ran last); written before
  // the task starts, so after a death the parent knows which tasks of the
  // ring never started.
  std::atomic<std::uint64_t> started_seq;
  std::atomic<std::uint64_t> tasks_done;
  // Set by the parent: exit once the request ring is empty.
  std::atomic<std::uint32_t> stop;
  std::uint32_t reserved0;

  // The worker parks on `doorbell` after setting `sleeping` (no request) or
  // `spill_waiting` (no room for a large response); the parent bumps and
  // wakes it when it sees the flag after publishing a request or releasing
  // response spill.
  alignas(kCacheLine) std::atomic<std::uint32_t> doorbell;
  std::atomic<std::uint32_t> sleeping;
  std::atomic<std::uint32_t> spill_waiting;

  RingControl request;   // parent -> worker
  RingControl response;  // worker -> parent

  Slot request_slots[kSlotCount];
  Slot response_slots[kSlotCount];

  // After the slots, out of what the parent resets for a new worker: it
  // counts threads of the parent (changed without the parent's lock).
  // Set by the parent's threads that poll the response ring for their own
  // response (a count): the worker then does not ring the manager after a
  // response. A Dekker pair with the ring's tail: the worker publishes,
  // then reads this; a poller lowers it, then re-reads the tail and rings
  // the manager itself if a response is left.
  alignas(kCacheLine) std::atomic<std::uint32_t> waiters_polling;
};

// Written by the parent before any worker starts; read-only afterwards.
struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t header_size;  // sizeof(SegmentHeader)
  std::uint64_t segment_size;
  std::uint32_t worker_count;
  std::uint32_t worker_block_size;  // sizeof(WorkerBlock)
  std::uint64_t worker_blocks_offset;
  std::uint32_t slot_size;
  std::uint32_t slot_count;
  std::uint64_t spill_area_size;  // bytes per area (two per worker)
  std::uint64_t spill_segment_size;
  std::uint64_t initializer_offset;  // InitializerBlock, 0 if none
  std::uint64_t initializer_size;
  std::uint32_t owner_pid;            // the pool's process
  std::uint32_t max_tasks_per_child;  // 0: unlimited
  // Per-worker GIL (0: none); gil_policy is a concurrent::GilPolicy.
  std::uint32_t gil_enabled;
  std::uint32_t gil_policy;
  std::int64_t gil_switch_interval_ns;
  std::uint32_t gil_check_interval;
  std::uint32_t reserved0;

  // The manager thread parks in poll() on the pool's eventfd after setting
  // this; a worker that publishes a response and sees it set clears it and
  // writes the eventfd.
  alignas(kCacheLine) std::atomic<std::uint32_t> manager_sleeping;
};

// After a seq_cst store of a response ring's tail: whether the caller must
// write the eventfd (the manager was parked; the flag is cleared, so only one
// caller does).
inline bool ClaimManagerWake(SegmentHeader& header) {
  return header.manager_sleeping.load(std::memory_order_seq_cst) != 0 &&
         header.manager_sleeping.exchange(0, std::memory_order_acq_rel) != 0;
}

// Frames published in `ring` and not yet released, from its shared indices
// (a huge number if a peer corrupted them).
inline std::uint64_t Backlog(const RingControl& ring) {
  return ring.tail.load(std::memory_order_seq_cst) -
         ring.head.load(std::memory_order_acquire);
}

// The initializer: a registered function's name and its encoded arguments.
struct InitializerBlock {
  std::uint32_t name_length;
  std::uint32_t reserved;
  std::uint64_t args_length;
  // name bytes, then args bytes
};

inline constexpr std::uint64_t RoundUp(std::uint64_t n, std::uint64_t to) {
  return (n + to - 1) / to * to;
}

// Where everything is, computed identically by the parent (to build) and by
// a worker (to check what it maps).
struct SegmentGeometry {
  std::uint32_t worker_count;
  std::uint64_t initializer_size;  // bytes of InitializerBlock + name + args
  std::uint64_t spill_area_size;

  std::uint64_t initializer_offset() const { return 4096; }
  std::uint64_t worker_blocks_offset() const {
    return RoundUp(initializer_offset() + initializer_size, 4096);
  }
  std::uint64_t worker_stride() const {
    return RoundUp(sizeof(WorkerBlock), kCacheLine);
  }
  std::uint64_t segment_size() const {
    return RoundUp(worker_blocks_offset() + worker_count * worker_stride(),
                   4096);
  }
  std::uint64_t spill_segment_size() const {
    return 2ull * worker_count * spill_area_size;
  }
  std::uint64_t request_area(std::uint32_t worker) const {
    return 2ull * worker * spill_area_size;
  }
  std::uint64_t response_area(std::uint32_t worker) const {
    return (2ull * worker + 1) * spill_area_size;
  }
};

// Sequential, bounds-checked reads from a span. Every read checks the bytes
// left, so a corrupt length can never read outside the span.
class ByteReader {
 public:
  explicit ByteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  template <typename T>
  bool read(T& out) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_bytes(std::uint64_t n, std::span<const std::byte>& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }
  std::span<const std::byte> rest() const { return bytes_.subspan(pos_); }
  bool at_end() const { return pos_ == bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

inline std::string_view AsString(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_LAYOUT_H_
