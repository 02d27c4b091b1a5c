// Copyright 2026 The concurrent Authors.

#include "futures/errors.h"

namespace concurrent {

// Out-of-line destructors anchor each type's vtable and type_info in one
// translation unit, so catching by type works across shared libraries.
Error::~Error() = default;
CancelledError::~CancelledError() = default;
TimeoutError::~TimeoutError() = default;
InvalidStateError::~InvalidStateError() = default;
DeadlockError::~DeadlockError() = default;
BrokenPromise::~BrokenPromise() = default;
ExecutorShutdownError::~ExecutorShutdownError() = default;
BrokenExecutor::~BrokenExecutor() = default;
BrokenThreadPool::~BrokenThreadPool() = default;
BrokenProcessPool::~BrokenProcessPool() = default;

}  // namespace concurrent
