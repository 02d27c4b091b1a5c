// Copyright 2026 The concurrent Authors.

#include "ipc/internal/shared_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "boost/interprocess/detail/os_file_functions.hpp"

namespace concurrent {
namespace internal {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

boost::interprocess::mapping_handle_t MemfdMappable::get_mapping_handle()
    const noexcept {
  return boost::interprocess::ipcdetail::mapping_handle_from_file_handle(fd_);
}

UniqueFd CreateSealedMemfd(const std::string& name, std::uint64_t size) {
  UniqueFd fd(memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd.valid()) {
    throw std::system_error(errno, std::generic_category(),
                            "memfd_create(" + name + ")");
  }
  if (fchmod(fd.get(), 0600) != 0 ||
      ftruncate(fd.get(), static_cast<off_t>(size)) != 0 ||
      fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) !=
          0) {
    throw std::system_error(errno, std::generic_category(),
                            "sizing and sealing the memfd " + name);
  }
  return fd;
}

std::int64_t FileSize(int fd) noexcept {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  return st.st_size;
}

bool IsShrinkSealed(int fd) noexcept {
  const int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_SHRINK) != 0;
}

MappedWindow::MappedWindow(int fd, std::uint64_t offset, std::size_t size)
    : region_(MemfdMappable(fd), boost::interprocess::read_write,
              static_cast<boost::interprocess::offset_t>(offset), size) {}

}  // namespace internal
}  // namespace concurrent
