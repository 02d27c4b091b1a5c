// Copyright 2026 The concurrent Authors.
//
// An anonymous shared-memory segment: a memfd (no name in /dev/shm, so
// nothing to leak even when its owner is killed) mapped through
// Boost.Interprocess's mapped_region. The creator seals it against
// shrinking, so a misbehaving peer cannot truncate it under a mapping (which
// would turn the creator's reads into SIGBUS). Private to ipc/.

#ifndef CONCURRENT_IPC_INTERNAL_SHARED_SEGMENT_H_
#define CONCURRENT_IPC_INTERNAL_SHARED_SEGMENT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "boost/interprocess/mapped_region.hpp"

namespace concurrent {
namespace internal {

// An owned file descriptor (closed by the destructor). Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

// What Boost.Interprocess's mapped_region needs to map a memfd: the
// "MemoryMappable" concept (a mapping handle and a mode).
class MemfdMappable {
 public:
  explicit MemfdMappable(int fd) noexcept : fd_(fd) {}
  boost::interprocess::mapping_handle_t get_mapping_handle() const noexcept;
  boost::interprocess::mode_t get_mode() const noexcept {
    return boost::interprocess::read_write;
  }

 private:
  int fd_;
};

// Creates a memfd of `size` bytes named `name` (a label for /proc/PID/maps
// only), mode 0600, sealed against shrinking (and growing: the size is
// final). Pages are allocated on first touch. Throws std::system_error.
UniqueFd CreateSealedMemfd(const std::string& name, std::uint64_t size);

// The size of the file behind `fd`, or -1.
std::int64_t FileSize(int fd) noexcept;

// Whether `fd` is sealed against shrinking (so mapping it is safe).
bool IsShrinkSealed(int fd) noexcept;

// A read-write mapping of bytes [offset, offset + size) of the memfd `fd`.
// Throws boost::interprocess::interprocess_exception if mmap fails.
class MappedWindow {
 public:
  MappedWindow() = default;
  MappedWindow(int fd, std::uint64_t offset, std::size_t size);

  std::byte* data() const noexcept {
    return static_cast<std::byte*>(region_.get_address());
  }
  std::size_t size() const noexcept { return region_.get_size(); }
  bool mapped() const noexcept { return region_.get_address() != nullptr; }

 private:
  boost::interprocess::mapped_region region_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_SHARED_SEGMENT_H_
