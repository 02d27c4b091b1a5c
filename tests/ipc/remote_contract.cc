// Copyright 2026 The concurrent Authors.

#include "tests/ipc/remote_contract.h"

#include <chrono>
#include <string>
#include <thread>

#include "ipc/remote_error.h"
#include "ipc/task_registry.h"
#include "tests/executors/contract_tasks.h"

namespace concurrent {
namespace testing {
namespace contract {

int HoldUntil(std::string started, std::string release) {
  Touch(started);
  for (int i = 0; i < 120'000 && !Exists(release); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 0;
}

CONCURRENT_REGISTER_TASK(HoldUntil);
CONCURRENT_REGISTER_TASK(Multiply);
CONCURRENT_REGISTER_TASK(Identity);
CONCURRENT_REGISTER_TASK(IntIdentity);
CONCURRENT_REGISTER_TASK(Square);
CONCURRENT_REGISTER_TASK(Double);
CONCURRENT_REGISTER_TASK(ToString);
CONCURRENT_REGISTER_TASK(ReturnOne);
CONCURRENT_REGISTER_TASK(ReturnThree);
CONCURRENT_REGISTER_TASK(ReturnFive);
CONCURRENT_REGISTER_TASK(ThrowTaskError);
CONCURRENT_REGISTER_TASK(FailAtFive);
CONCURRENT_REGISTER_TASK(Touch);
CONCURRENT_REGISTER_TASK(TouchVoid);
CONCURRENT_REGISTER_TASK(GatedTouch);
CONCURRENT_REGISTER_EXCEPTION(TaskError);

}  // namespace contract
}  // namespace testing
}  // namespace concurrent
