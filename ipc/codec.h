// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: ipc/codec.h
// -----------------------------------------------------------------------------
//
// The serialization codec of values that cross a process (or machine)
// boundary: a task's arguments and its result. It is the C++ stand-in for
// pickle in Python's `ProcessPoolExecutor`, for the types C++ tasks pass:
//
//   * arithmetic types, enums and other trivially copyable types (copied as
//     their bytes), `bool` (one byte, 0 or 1);
//   * `std::string`, and `std::vector`, `std::array`, `std::pair`,
//     `std::tuple`, `std::optional` and `std::map` of codable types, nested
//     to any depth;
//   * user types through one hook, `serialize`, that lists their fields (see
//     "The user-type hook" below).
//
// `encode(out, values...)` appends to a growable `Buffer` (whose storage a
// subclass may place in shared memory); `decode<T>(bytes)` reads a `T` from a
// span and checks every length against the bytes that remain, so truncated,
// corrupted or oversized input is a `CodecError`, never a read out of bounds
// or an allocation sized by a corrupt length.
//
// Example:
//
//   concurrent::Buffer buffer;
//   std::map<std::string, std::vector<double>> prices = {{"a", {1.5, 2.5}}};
//   concurrent::encode(buffer, prices, std::optional<int>(7));
//   concurrent::Decoder in(buffer.bytes());
//   std::map<std::string, std::vector<double>> prices2;
//   std::optional<int> seven;
//   in(prices2, seven);   // throws CodecError on bad input
//   in.finish();          // throws CodecError if bytes are left over
//
//   // One value: decode<T>() does the three steps above.
//   concurrent::Buffer b2;
//   concurrent::encode(b2, std::string("hello"));
//   std::string s = concurrent::decode<std::string>(b2.bytes());
//
// The user-type hook: a type that is not trivially copyable (or that should
// not be copied as bytes) lists its fields in a `serialize` function template,
// either a member or a free function in the type's namespace (found by
// argument-dependent lookup). The same function encodes and decodes:
//
//   struct Order {
//     std::string symbol;
//     std::vector<double> prices;
//     int quantity = 0;
//     template <class Archive>
//     void serialize(Archive& ar) { ar(symbol, prices, quantity); }
//   };
//   // or, for a type you cannot change:
//   namespace geo {
//   template <class Archive>
//   void serialize(Archive& ar, Point& p) { ar(p.x, p.y); }
//   }
//
// `Archive` is `Encoder` or `Decoder`; `Archive::is_loading` tells which (a
// hook may validate decoded fields and throw `CodecError`). Decoding a hooked
// type default-constructs it, then fills its fields. When saving, the hook is
// called on a const object through `const_cast` and must not modify it. A
// type with a hook is always encoded through it, even if it is trivially
// copyable. Hooked types may nest themselves (a tree); decoding nests at most
// `Decoder::kMaxDepth` hooked values deep, so a corrupt input cannot overflow
// the stack.
//
// Wire format (not a stable or portable format: both sides run the same
// binary, as the process pool's workers and the MPI executor's ranks do):
//   * trivially copyable T: its `sizeof(T)` bytes, native byte order;
//     `bool`: one byte, 0 or 1 (anything else is a CodecError);
//   * std::string: a uint64 length, then the bytes;
//   * std::vector<T> with trivially copyable T: a uint64 count, one byte
//     `pad`, `pad` zero bytes that align the elements to `alignof(T)` in
//     memory, then the elements' bytes; other vectors: the count, then each
//     element;
//   * std::array<T, N>, std::pair, std::tuple: the elements in order;
//   * std::optional<T>: one byte (0 empty, 1 engaged), then the value;
//   * std::map<K, V>: a uint64 count, then key, value, ... in the map's order
//     (decoding rejects keys out of order or duplicated);
//   * a hooked type: what its hook writes, nothing more.
// A count is checked against the bytes left before anything is allocated:
// it may not exceed (bytes left) / (the fewest bytes an element takes),
// counting at least one byte per element, so a container of elements that
// encode to nothing (std::tuple<>, an empty hook) holds at most as many
// elements as bytes follow it.
// `encode(out, a, b)` writes the same bytes as `encode(out, std::tie(a, b))`.
//
// Copies of large data: encoding a std::vector<T> or std::string of
// trivially copyable T makes one memcpy from the vector into the buffer;
// decoding makes one memcpy from the span into the new vector, with no zero
// fill. A 64 MiB vector thus costs one memcpy each way, plus the buffer's
// growth if its capacity was too small (`Buffer::reserve` avoids it). The
// no-zero-fill decode needs the elements aligned in memory: the encoder pads
// them to alignof(T) at their address in the buffer, so a transport that
// keeps each encoding at the same address modulo 16 (Buffer storage and the
// span both 16-byte aligned, say) gets it; other spans decode correctly
// through a zero fill and a copy.
//
// Trivially copyable types are copied as bytes, whatever they hold: a
// pointer or a view inside a struct (`const char*`, `std::string_view`, an
// iterator) arrives as a meaningless address, and a `bool` field of such a
// struct arrives unchecked. Pointers, `std::string_view`, `std::span` and
// `std::reference_wrapper` themselves are rejected at compile time; give a
// struct that holds such fields a hook (or owning fields).
//
// Thread-safety: `encode` and `decode` are thread-safe on distinct buffers;
// `Buffer`, `Encoder` and `Decoder` are thread-compatible.
//
// Errors: decoding throws `CodecError` (a `concurrent::Error`) on truncated,
// corrupted or oversized input, with the byte offset at which it stopped;
// encoding throws `CodecError` when a buffer cannot grow to the size asked
// (and `std::bad_alloc` when memory runs out). Exceptions that a hook throws
// pass through unchanged.

#ifndef CONCURRENT_IPC_CODEC_H_
#define CONCURRENT_IPC_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "futures/errors.h"

namespace concurrent {

namespace internal {
struct CodecAccess;
}  // namespace internal

// Input that does not decode (truncated, corrupted, a length past the end of
// the input, trailing bytes), or a buffer that cannot grow to the size asked.
// `what()` says what was wrong and at which byte offset.
class CodecError : public Error {
 public:
  using Error::Error;
  ~CodecError() override;
};

// A growable, contiguous byte buffer that encoders append to.
//
// By default its storage is on the heap, 16-byte aligned, and grows by
// doubling. A subclass can place the storage elsewhere (a shared-memory ring
// slot, then a spill segment) by overriding `grow()`: encoding then writes
// straight into that storage.
//
// Thread-compatible. Movable only as a plain Buffer (a subclass that owns
// special storage should delete its moves).
class Buffer {
 public:
  Buffer() noexcept = default;
  // An empty buffer whose capacity is at least `capacity` bytes.
  explicit Buffer(size_t capacity);
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  virtual ~Buffer();

  // The bytes written so far.
  std::byte* data() noexcept { return data_; }
  const std::byte* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }
  size_t capacity() const noexcept { return capacity_; }
  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }

  // Guarantees: capacity() >= `capacity`; the bytes are kept.
  // Throws: CodecError if the storage cannot grow that far; std::bad_alloc.
  void reserve(size_t capacity) {
    if (capacity > capacity_) grow(capacity);
  }

  // Extends the buffer by `n` uninitialised bytes and returns a pointer to
  // the first of them (valid until the next call that may grow the buffer).
  // Throws: as reserve().
  std::byte* append(size_t n) {
    if (n > capacity_ - size_) grow_for(n);
    std::byte* p = data_ + size_;
    size_ += n;
    return p;
  }

  // Appends a copy of `n` bytes at `p` (`p` must not point into this buffer).
  void append(const void* p, size_t n);

  // Requires: n <= size(). Drops the bytes from offset `n` on (the storage
  // is kept). `truncate(0)` empties the buffer.
  void truncate(size_t n) noexcept { size_ = n < size_ ? n : size_; }
  void clear() noexcept { size_ = 0; }

 protected:
  // Called when the capacity must become at least `min_capacity`
  // (> capacity()). The default moves the bytes to a heap block of
  // max(min_capacity, 2 * capacity()) bytes. An override must call
  // set_storage() with storage of at least `min_capacity` bytes whose first
  // size() bytes are the buffer's bytes, or throw (CodecError for "too
  // large"). Storage aligned to 16 bytes keeps large vectors on the one-copy
  // decode path (see "Copies of large data" above).
  virtual void grow(size_t min_capacity);

  // Points the buffer at `capacity` bytes at `data`; size() is kept.
  void set_storage(std::byte* data, size_t capacity) noexcept {
    data_ = data;
    capacity_ = capacity;
  }

 private:
  void grow_for(size_t n);

  std::byte* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  std::unique_ptr<std::byte[]> heap_;
};

// Writes values to a Buffer. The hooks of user types receive one.
//
// Thread-compatible.
class Encoder {
 public:
  static constexpr bool is_loading = false;

  explicit Encoder(Buffer& out) noexcept : out_(out) {}

  // Appends the encoding of each value, in order. A type that is not codable
  // is a compile-time error.
  // Throws: CodecError if the buffer cannot grow; what a hook throws.
  template <class... Ts>
  void operator()(const Ts&... values);

  Buffer& buffer() noexcept { return out_; }

 private:
  Buffer& out_;
};

// Reads values from a span of bytes, checking every length against what
// remains. The hooks of user types receive one.
//
// Thread-compatible. The span must stay valid while the Decoder is used.
class Decoder {
 public:
  static constexpr bool is_loading = true;
  // How deep hooked values may nest in decoded input.
  static constexpr int kMaxDepth = 1000;

  explicit Decoder(std::span<const std::byte> bytes) noexcept
      : begin_(bytes.data()),
        pos_(bytes.data()),
        end_(bytes.data() + bytes.size()) {}

  // Decodes into each value, in order, replacing its content. Hooked types
  // are filled through their hook.
  // Throws: CodecError on truncated or corrupted input (the values are then
  // left in a valid but unspecified state); what a hook throws.
  template <class... Ts>
  void operator()(Ts&... values);

  // Throws CodecError unless every byte was consumed.
  void finish() const;

  // Bytes consumed so far, and bytes left.
  size_t position() const noexcept {
    return static_cast<size_t>(pos_ - begin_);
  }
  size_t remaining() const noexcept { return static_cast<size_t>(end_ - pos_); }

  // For hooks that store raw bytes: a view of the next `n` bytes, consumed.
  // Throws: CodecError if fewer than `n` bytes remain.
  std::span<const std::byte> read_bytes(size_t n) {
    if (n > remaining()) throw_truncated(n);
    const std::byte* p = pos_;
    pos_ += n;
    return {p, n};
  }

  // Throws CodecError saying that `what` is wrong at the current offset.
  [[noreturn]] void fail(std::string_view what) const;

 private:
  friend struct internal::CodecAccess;
  [[noreturn]] void throw_truncated(size_t n) const;

  const std::byte* begin_;
  const std::byte* pos_;
  const std::byte* end_;
  int depth_ = 0;
};

}  // namespace concurrent

#include "ipc/internal/codec_impl.h"  // IWYU pragma: keep

namespace concurrent {

// True for the types this codec can encode and decode (see the list at the
// top of this file). Hooked types count as codable; their hook's fields are
// checked when the hook is instantiated.
template <class T>
concept Codable = internal::codable<T>();

// Appends the encoding of `values...` to `out`.
// Throws: CodecError if `out` cannot grow; what a hook throws.
template <class... Ts>
void encode(Buffer& out, const Ts&... values) {
  Encoder encoder(out);
  encoder(values...);
}

// Decodes one T from `bytes`, which must hold exactly one encoded T.
// Requires: T is default-constructible (or a codable aggregate of such).
// Throws: CodecError on truncated, corrupted or oversized input and on
// trailing bytes; what a hook throws.
template <class T>
T decode(std::span<const std::byte> bytes) {
  static_assert(!std::is_const_v<T> && !std::is_reference_v<T>,
                "decode<T>: T must be a plain value type");
  Decoder in(bytes);
  T value{};
  in(value);
  in.finish();
  return value;
}

template <class... Ts>
void Encoder::operator()(const Ts&... values) {
  (internal::encode_value(*this, values), ...);
}

template <class... Ts>
void Decoder::operator()(Ts&... values) {
  (internal::decode_value(*this, values), ...);
}

}  // namespace concurrent

#endif  // CONCURRENT_IPC_CODEC_H_
