// Copyright 2026 The concurrent Authors.

#include "ipc/codec.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>

#include "absl/strings/str_cat.h"

namespace concurrent {

CodecError::~CodecError() = default;

Buffer::Buffer(size_t capacity) { reserve(capacity); }

Buffer::Buffer(Buffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      heap_(std::move(other.heap_)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    heap_ = std::move(other.heap_);
  }
  return *this;
}

Buffer::~Buffer() = default;

void Buffer::append(const void* p, size_t n) {
  if (n != 0) std::memcpy(append(n), p, n);
}

void Buffer::grow_for(size_t n) {
  if (n > std::numeric_limits<size_t>::max() / 2 - size_) {
    throw CodecError(absl::StrCat("buffer of ", size_, " bytes cannot grow by ",
                                  n, " bytes"));
  }
  grow(size_ + n);
}

void Buffer::grow(size_t min_capacity) {
  if (min_capacity > std::numeric_limits<size_t>::max() / 2) {
    throw CodecError(
        absl::StrCat("buffer cannot grow to ", min_capacity, " bytes"));
  }
  const size_t capacity = std::max({min_capacity, 2 * capacity_, size_t{64}});
  // Default-initialised: no zero fill of storage about to be overwritten.
  std::unique_ptr<std::byte[]> block(new std::byte[capacity]);
  if (size_ != 0) std::memcpy(block.get(), data_, size_);
  heap_ = std::move(block);
  set_storage(heap_.get(), capacity);
}

void Decoder::finish() const {
  if (pos_ != end_) {
    fail(absl::StrCat(remaining(), " unexpected trailing bytes"));
  }
}

void Decoder::fail(std::string_view what) const {
  throw CodecError(absl::StrCat(
      "cannot decode: ", absl::string_view(what.data(), what.size()),
      " (at byte ", position(), " of ", end_ - begin_, ")"));
}

void Decoder::throw_truncated(size_t n) const {
  fail(absl::StrCat("truncated input: ", n, " bytes needed, ", remaining(),
                    " left"));
}

namespace internal {

uint64_t read_count(Decoder& in, size_t min_size) {
  uint64_t n;
  std::memcpy(&n, CodecAccess::take(in, sizeof n), sizeof n);
  const size_t per = std::max<size_t>(min_size, 1);
  if (n > in.remaining() / per) {
    in.fail(absl::StrCat("a length of ", n, " elements of at least ", per,
                         " bytes runs past the end of the input (",
                         in.remaining(), " bytes left)"));
  }
  return n;
}

void write_padding(Buffer& out, size_t alignment) {
  // The padding byte itself, then zeros up to the alignment.
  std::byte* count = out.append(1);
  const auto next = reinterpret_cast<uintptr_t>(out.data() + out.size());
  const size_t pad = (alignment - next % alignment) % alignment;
  *count = static_cast<std::byte>(pad);
  if (pad != 0) std::memset(out.append(pad), 0, pad);
}

void skip_padding(Decoder& in, size_t alignment) {
  const auto pad = static_cast<size_t>(*CodecAccess::take(in, 1));
  if (pad >= alignment) {
    in.fail(absl::StrCat("padding of ", pad, " bytes for ", alignment,
                         "-byte alignment"));
  }
  const std::byte* p = CodecAccess::take(in, pad);
  for (size_t i = 0; i < pad; ++i) {
    if (p[i] != std::byte{0}) in.fail("nonzero padding byte");
  }
}

bool read_bool(Decoder& in) {
  const std::byte b = *CodecAccess::take(in, 1);
  if (b != std::byte{0} && b != std::byte{1}) {
    in.fail(absl::StrCat("a bool byte of ", static_cast<int>(b)));
  }
  return b == std::byte{1};
}

void throw_unordered_map_key(const Decoder& in) {
  in.fail("map keys out of order or duplicated");
}

}  // namespace internal
}  // namespace concurrent
