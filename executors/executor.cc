// Copyright 2026 The concurrent Authors.

#include "executors/executor.h"

namespace concurrent {

Executor::~Executor() = default;

}  // namespace concurrent
