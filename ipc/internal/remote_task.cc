// Copyright 2026 The concurrent Authors.

#include "ipc/internal/remote_task.h"

#include <string>
#include <utility>

namespace concurrent {
namespace internal {

std::exception_ptr MakeFrameError(std::string what) {
  return std::make_exception_ptr(Error(std::move(what)));
}

std::string DescribeFailure(FrameKind kind,
                            std::span<const std::byte> payload) {
  (void)kind;
  return std::string(AsString(payload));
}

}  // namespace internal
}  // namespace concurrent
