// Copyright 2026 The concurrent Authors.

#include "futures/internal/blocking_observer.h"

#include <utility>

namespace concurrent {
namespace internal {
namespace {

thread_local BlockingObserver* t_blocking_observer = nullptr;

}  // namespace

BlockingObserver* CurrentBlockingObserver() noexcept {
  return t_blocking_observer;
}

ScopedBlockingObserver::ScopedBlockingObserver(
    BlockingObserver* observer) noexcept
    : previous_(std::exchange(t_blocking_observer, observer)) {}

ScopedBlockingObserver::~ScopedBlockingObserver() {
  t_blocking_observer = previous_;
}

}  // namespace internal
}  // namespace concurrent
