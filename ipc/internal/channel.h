// Copyright 2026 The concurrent Authors.
//
// The two ends of one ring of a process pool (ipc/internal/layout.h): a
// FrameWriter (the single producer) and a FrameReader (the single consumer).
// A frame's payload sits inline in its slot when it fits, else in the ring's
// spill area, a window of the pool's spill memfd that each side maps on
// demand (so a pool that never sends a large payload maps none of it).
//
// Spill allocation: the producer hands out contiguous ranges in order
// (monotonic positions, physical offset = position % area size); the
// consumer releases them in the same order by publishing the end of the last
// range it is done with. When everything is released the next range starts
// at offset 0 again, so a pool that sends one large payload at a time keeps
// reusing the same (already faulted-in) pages.
//
// Not thread-safe: each object is used by one thread at a time (the parent
// serializes its producers with the pool's mutex).

#ifndef CONCURRENT_IPC_INTERNAL_CHANNEL_H_
#define CONCURRENT_IPC_INTERNAL_CHANNEL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ipc/codec.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/shared_segment.h"

namespace concurrent {
namespace internal {

// Where a ring's spill area is: `fd` (the spill memfd), `offset` of the
// area in it, `size` of the area. size == 0: no spill area.
struct SpillArea {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

// Maps a growing prefix of a spill area.
class SpillWindow {
 public:
  SpillWindow() = default;
  explicit SpillWindow(SpillArea area) : area_(area) {}
  // A pointer to bytes [offset, offset + length) of the area; remaps a
  // larger prefix if needed. Requires offset + length <= area size. Throws
  // boost::interprocess::interprocess_exception if mmap fails.
  std::byte* at(std::uint64_t offset, std::uint64_t length);
  std::uint64_t area_size() const { return area_.size; }
  // Unmaps (the data stays in the memfd).
  void unmap() { window_ = MappedWindow(); }

 private:
  SpillArea area_;
  MappedWindow window_;
};

class FrameWriter {
 public:
  FrameWriter() = default;
  FrameWriter(RingControl* control, Slot* slots, SpillArea spill)
      : control_(control), slots_(slots), spill_(spill) {}

  enum class Status {
    kOk,
    kFull,      // no free slot, or no spill room yet: retry after the
                // consumer made progress
    kTooLarge,  // the payload can never fit (larger than the spill area)
  };

  // Reserves room for a payload of `length` bytes; on kOk, `*dst` points to
  // it (inline or spill). Write the payload, then commit(). Nothing is
  // visible to the consumer before commit().
  Status begin(std::uint64_t length, std::byte** dst);
  // Publishes the reserved frame (`run_ns`: SlotHeader::run_ns).
  void commit(std::uint64_t seq, FrameKind kind, std::uint64_t run_ns = 0);

  // For a payload whose length is not known in advance (an encoder writing
  // straight into the frame): begin_inline() starts the frame in the free
  // slot's inline room (nullptr if no slot is free); when the payload
  // outgrows what it has, reserve_spill() moves it to the spill area (or
  // extends the spill reservation in place) with room for at least
  // `min_length` bytes, keeping its first `kept` bytes: `*dst` and
  // `*capacity` say where it is now and how much room it has. kFull: not now
  // (the consumer has not released enough; retry later, the frame is
  // unchanged). Then commit_length() publishes it.
  std::byte* begin_inline();
  Status reserve_spill(std::uint64_t min_length, std::uint64_t kept,
                       std::byte** dst, std::uint64_t* capacity);
  void commit_length(std::uint64_t seq, FrameKind kind, std::uint64_t length,
                     std::uint64_t run_ns = 0);

  // Frames published and not yet consumed.
  std::uint64_t unconsumed() const;
  std::uint64_t spill_area_size() const { return spill_.area_size(); }
  // Forgets everything (the peer is gone and the ring was reset).
  void reset();

 private:
  RingControl* control_ = nullptr;
  Slot* slots_ = nullptr;
  SpillWindow spill_;
  std::uint64_t tail_ = 0;   // our copy of control_->tail
  std::uint64_t alloc_ = 0;  // next free spill position
  // The frame being built.
  std::uint64_t pending_length_ = 0;
  std::uint64_t pending_spill_ = 0;
  bool pending_spilled_ = false;
};

// A frame whose payload an encoder writes in place (ipc/codec.h's Buffer):
// in the free slot's inline room first, moved to the spill area when it
// outgrows it, so the payload is written to shared memory once, by its
// encoder. Not movable.
class FrameBuffer final : public Buffer {
 public:
  // Called when the spill area has no room yet (kFull): return to retry, or
  // throw. Called first right after the caller's last release check, then
  // again after each retry that still found no room.
  using OnFull = void (*)(void* context);

  FrameBuffer() = default;
  FrameBuffer(const FrameBuffer&) = delete;
  FrameBuffer& operator=(const FrameBuffer&) = delete;

  // Starts a frame in `writer`'s next slot; false if no slot is free.
  bool start(FrameWriter& writer, OnFull on_full, void* context);
  // Publishes it as frame `seq` of `kind`.
  void commit(std::uint64_t seq, FrameKind kind, std::uint64_t run_ns = 0);
  // Whether the last growth failed because the payload could never fit.
  bool too_large() const { return too_large_; }

 protected:
  void grow(size_t min_capacity) override;

 private:
  FrameWriter* writer_ = nullptr;
  OnFull on_full_ = nullptr;
  void* context_ = nullptr;
  bool too_large_ = false;
};

// A frame as the consumer sees it: a validated copy of the slot header and
// the payload (in shared memory: valid until pop()).
struct Frame {
  std::uint64_t seq = 0;
  FrameKind kind{};
  std::span<const std::byte> payload;
  std::uint64_t spill_end = 0;  // 0 if inline
  std::uint64_t run_ns = 0;     // SlotHeader::run_ns (a hint, unchecked)
};

class FrameReader {
 public:
  FrameReader() = default;
  FrameReader(RingControl* control, Slot* slots, SpillArea spill)
      : control_(control), slots_(slots), spill_(spill) {}

  enum class Status {
    kEmpty,
    kFrame,
    kBadFrame,  // the slot's header is impossible (unknown kind, a length
                // or spill range out of bounds): frame->seq is set, the
                // payload is empty, *why says what; pop() skips it
    kCorrupt,   // the ring's indices are impossible: *why says which; the
                // ring cannot be trusted any more
  };

  // Looks at the next frame without consuming it.
  Status peek(Frame* frame, std::string* why);
  // Consumes the frame peek() returned (releases its slot and spill range).
  void pop(const Frame& frame);
  // Frames published and not yet consumed (0 if the indices are corrupt).
  std::uint64_t available() const;
  void reset();

 private:
  RingControl* control_ = nullptr;
  Slot* slots_ = nullptr;
  SpillWindow spill_;
  std::uint64_t head_ = 0;        // our copy of control_->head
  std::uint64_t spill_free_ = 0;  // our copy of control_->spill_free
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_CHANNEL_H_
