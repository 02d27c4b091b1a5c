// Copyright 2026 The concurrent Authors.
//
// Under ThreadSanitizer only: turns off Abseil's mutex deadlock detector in
// the executor tests. Debian's Abseil is not built with TSan, and the
// detector's graph (GraphCycles) is guarded by an internal spin lock that
// //third_party/absl:tsan_shim does not annotate, so two threads locking any
// absl::Mutex at once show up as a false data race inside GraphCycles::GetId.
// (The proper home of this is the shim; see the executors branch's notes.)

#if defined(__SANITIZE_THREAD__)

#include "absl/synchronization/mutex.h"

namespace {

const bool kDeadlockDetectionOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace

#endif  // defined(__SANITIZE_THREAD__)
