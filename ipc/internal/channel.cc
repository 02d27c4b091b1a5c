// Copyright 2026 The concurrent Authors.

#include "ipc/internal/channel.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace concurrent {
namespace internal {
namespace {

constexpr std::uint64_t kMinWindow = std::uint64_t{1} << 20;  // 1 MiB

bool ValidKind(std::uint32_t kind) {
  switch (static_cast<FrameKind>(kind)) {
    case FrameKind::kCall:
    case FrameKind::kChunk:
    case FrameKind::kValue:
    case FrameKind::kException:
    case FrameKind::kChunkResult:
    case FrameKind::kFailure:
      return true;
  }
  return false;
}

}  // namespace

std::byte* SpillWindow::at(std::uint64_t offset, std::uint64_t length) {
  const std::uint64_t needed = offset + length;
  if (window_.size() < needed) {
    std::uint64_t size = std::max<std::uint64_t>(kMinWindow, window_.size());
    while (size < needed) size *= 2;
    size = std::min(size, area_.size);
    window_ = MappedWindow(area_.fd, area_.offset, size);
  }
  return window_.data() + offset;
}

FrameWriter::Status FrameWriter::begin(std::uint64_t length, std::byte** dst) {
  const std::uint64_t head = control_->head.load(std::memory_order_acquire);
  if (tail_ - head >= kSlotCount) return Status::kFull;
  Slot& slot = slots_[tail_ % kSlotCount];
  pending_length_ = length;
  if (length <= kInlineCapacity) {
    pending_spilled_ = false;
    *dst = slot.inline_payload;
    return Status::kOk;
  }
  const std::uint64_t area = spill_.area_size();
  if (length > area) return Status::kTooLarge;
  // The consumer's release point; a corrupt value past ours is clamped, so
  // it can only make us wait, never write outside the area.
  const std::uint64_t freed =
      std::min(control_->spill_free.load(std::memory_order_seq_cst), alloc_);
  std::uint64_t start = alloc_;
  if (alloc_ == freed) {
    // Everything released: restart at offset 0 (warm pages).
    start = RoundUp(alloc_, area);
  } else {
    // Outstanding ranges occupy [freed, alloc_): ours must not wrap onto
    // them, nor cross the end of the area (then it starts over at 0).
    if ((start % area) + length > area) start = RoundUp(start, area);
    if (start + length - freed > area) return Status::kFull;
  }
  pending_spilled_ = true;
  pending_spill_ = start;
  *dst = spill_.at(start % area, length);
  return Status::kOk;
}

void FrameWriter::commit(std::uint64_t seq, FrameKind kind,
                         std::uint64_t run_ns) {
  Slot& slot = slots_[tail_ % kSlotCount];
  SlotHeader header{};
  header.seq = seq;
  header.kind = static_cast<std::uint32_t>(kind);
  header.flags = pending_spilled_ ? kFlagSpilled : 0;
  header.length = pending_length_;
  header.spill_begin = pending_spilled_ ? pending_spill_ : 0;
  header.run_ns = run_ns;
  std::memcpy(&slot.header, &header, sizeof(header));
  if (pending_spilled_) alloc_ = pending_spill_ + pending_length_;
  ++tail_;
  // seq_cst: the consumer's "set sleeping, re-read tail" and our "publish,
  // read sleeping" form a Dekker pair (no fences: ThreadSanitizer).
  control_->tail.store(tail_, std::memory_order_seq_cst);
}

std::byte* FrameWriter::begin_inline() {
  const std::uint64_t head = control_->head.load(std::memory_order_acquire);
  if (tail_ - head >= kSlotCount) return nullptr;
  pending_spilled_ = false;
  pending_length_ = 0;
  return slots_[tail_ % kSlotCount].inline_payload;
}

FrameWriter::Status FrameWriter::reserve_spill(std::uint64_t min_length,
                                               std::uint64_t kept,
                                               std::byte** dst,
                                               std::uint64_t* capacity) {
  const std::uint64_t area = spill_.area_size();
  if (min_length > area) return Status::kTooLarge;
  const std::uint64_t freed =
      std::min(control_->spill_free.load(std::memory_order_seq_cst), alloc_);
  // The contiguous free room from monotonic position `start`.
  auto room = [&](std::uint64_t start) {
    const std::uint64_t to_end = area - start % area;
    return alloc_ == freed ? to_end : std::min(to_end, freed + area - start);
  };
  // Not much more than asked, so that the window we map stays small.
  auto grant = [&](std::uint64_t available) {
    return std::min(available,
                    std::max(min_length * 2, std::uint64_t{1} << 20));
  };
  if (pending_spilled_ && room(pending_spill_) >= min_length) {
    // Extend in place: the bytes stay where they are (the window may move).
    *capacity = grant(room(pending_spill_));
    *dst = spill_.at(pending_spill_ % area, *capacity);
    return Status::kOk;
  }
  std::uint64_t start = alloc_ == freed ? RoundUp(alloc_, area) : alloc_;
  if (alloc_ != freed && room(start) < min_length) {
    start = RoundUp(start, area);  // past the end: from offset 0
  }
  if (room(start) < min_length ||
      (alloc_ != freed && start + min_length - freed > area)) {
    return Status::kFull;
  }
  const std::uint64_t granted = grant(room(start));
  if (pending_spilled_) {
    // Move the kept bytes from the old reservation (rare: it could not be
    // extended in place). Map both through one window.
    const std::uint64_t old_phys = pending_spill_ % area;
    const std::uint64_t new_phys = start % area;
    std::byte* base =
        spill_.at(0, std::max(old_phys + kept, new_phys + granted));
    std::memmove(base + new_phys, base + old_phys, kept);
    *dst = base + new_phys;
  } else {
    std::byte* inline_bytes = slots_[tail_ % kSlotCount].inline_payload;
    *dst = spill_.at(start % area, granted);
    std::memcpy(*dst, inline_bytes, kept);
  }
  pending_spilled_ = true;
  pending_spill_ = start;
  *capacity = granted;
  return Status::kOk;
}

void FrameWriter::commit_length(std::uint64_t seq, FrameKind kind,
                                std::uint64_t length, std::uint64_t run_ns) {
  pending_length_ = length;
  commit(seq, kind, run_ns);
}

bool FrameBuffer::start(FrameWriter& writer, OnFull on_full, void* context) {
  writer_ = &writer;
  on_full_ = on_full;
  context_ = context;
  too_large_ = false;
  std::byte* slot = writer.begin_inline();
  if (slot == nullptr) return false;
  set_storage(slot, kInlineCapacity);
  clear();
  return true;
}

void FrameBuffer::commit(std::uint64_t seq, FrameKind kind,
                         std::uint64_t run_ns) {
  writer_->commit_length(seq, kind, size(), run_ns);
}

void FrameBuffer::grow(size_t min_capacity) {
  for (;;) {
    std::byte* dst = nullptr;
    std::uint64_t capacity = 0;
    switch (writer_->reserve_spill(min_capacity, size(), &dst, &capacity)) {
      case FrameWriter::Status::kOk:
        set_storage(dst, static_cast<size_t>(capacity));
        return;
      case FrameWriter::Status::kTooLarge:
        too_large_ = true;
        throw CodecError(absl::StrCat(
            "ProcessPoolExecutor: the payload needs at least ", min_capacity,
            " bytes, more than the pool's max_payload_bytes (",
            writer_->spill_area_size(), ")"));
      case FrameWriter::Status::kFull:
        on_full_(context_);
        break;
    }
  }
}

std::uint64_t FrameWriter::unconsumed() const {
  return tail_ - control_->head.load(std::memory_order_acquire);
}

void FrameWriter::reset() {
  tail_ = 0;
  alloc_ = 0;
  pending_length_ = 0;
  pending_spill_ = 0;
  pending_spilled_ = false;
  spill_.unmap();
}

FrameReader::Status FrameReader::peek(Frame* frame, std::string* why) {
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  if (tail == head_) return Status::kEmpty;
  if (tail - head_ > kSlotCount) {
    *why = absl::StrCat("ring indices are corrupt (head ", head_, ", tail ",
                        tail, ", capacity ", kSlotCount, ")");
    return Status::kCorrupt;
  }
  const Slot& slot = slots_[head_ % kSlotCount];
  SlotHeader header;
  std::memcpy(&header, &slot.header, sizeof(header));  // read once
  frame->seq = header.seq;
  frame->kind = static_cast<FrameKind>(header.kind);
  frame->payload = {};
  frame->spill_end = 0;
  frame->run_ns = header.run_ns;
  if (!ValidKind(header.kind)) {
    *why = absl::StrCat("frame ", header.seq, " has an unknown kind ",
                        header.kind);
    return Status::kBadFrame;
  }
  if ((header.flags & kFlagSpilled) == 0) {
    if (header.length > kInlineCapacity) {
      *why = absl::StrCat("frame ", header.seq, " claims ", header.length,
                          " inline bytes; a slot holds ", kInlineCapacity);
      return Status::kBadFrame;
    }
    frame->payload = {slot.inline_payload,
                      static_cast<std::size_t>(header.length)};
    frame->spill_end = 0;
    return Status::kFrame;
  }
  const std::uint64_t area = spill_.area_size();
  const std::uint64_t begin = header.spill_begin;
  const std::uint64_t length = header.length;
  // The range must be past what we released and inside the area. (Ranges
  // are consumed in order, so everything before it is released: only the
  // producer has to keep its ranges apart.)
  if (area == 0 || length > area || begin < spill_free_ ||
      (begin % area) + length > area) {
    *why = absl::StrCat("frame ", header.seq, " points to spill bytes [", begin,
                        ", +", length, ") outside its area of ", area,
                        " bytes (released up to ", spill_free_, ")");
    return Status::kBadFrame;
  }
  frame->payload = {spill_.at(begin % area, length),
                    static_cast<std::size_t>(length)};
  frame->spill_end = begin + length;
  return Status::kFrame;
}

void FrameReader::pop(const Frame& frame) {
  if (frame.spill_end != 0) {
    spill_free_ = frame.spill_end;
    control_->spill_free.store(spill_free_, std::memory_order_seq_cst);
  }
  ++head_;
  control_->head.store(head_, std::memory_order_release);
}

std::uint64_t FrameReader::available() const {
  const std::uint64_t tail = control_->tail.load(std::memory_order_seq_cst);
  return tail - head_ > kSlotCount ? 0 : tail - head_;
}

void FrameReader::reset() {
  head_ = 0;
  spill_free_ = 0;
  spill_.unmap();
}

}  // namespace internal
}  // namespace concurrent
