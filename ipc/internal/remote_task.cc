// Copyright 2026 The concurrent Authors.

#include "ipc/internal/remote_task.h"

#include <exception>
#include <string>
#include <utility>

#include "ipc/internal/pool_core.h"
#include "ipc/remote_error.h"

namespace concurrent {
namespace internal {

bool RemoteTaskNode::await_reply(const Deadline& deadline) noexcept {
  return PoolCore::AwaitResponse(owner.load(std::memory_order_acquire), *this,
                                 deadline);
}

std::exception_ptr MakeFrameError(std::string what) {
  return std::make_exception_ptr(CodecError(std::move(what)));
}

std::string DescribeFailure(FrameKind kind,
                            std::span<const std::byte> payload) {
  if (kind != FrameKind::kException) return std::string(AsString(payload));
  try {
    std::rethrow_exception(decode_exception(payload));
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

}  // namespace internal
}  // namespace concurrent
