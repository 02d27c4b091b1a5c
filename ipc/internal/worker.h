// Copyright 2026 The concurrent Authors.
//
// The worker process of a ProcessPoolExecutor: maps the pool's segments,
// runs the initializer, then serves its request ring until told to stop,
// its parent dies, or it has run max_tasks_per_child tasks. Private to ipc/.

#ifndef CONCURRENT_IPC_INTERNAL_WORKER_H_
#define CONCURRENT_IPC_INTERNAL_WORKER_H_

#include <cstddef>
#include <span>
#include <string_view>

#include "ipc/codec.h"
#include "ipc/internal/fork_server.h"
#include "ipc/internal/layout.h"

namespace concurrent {
namespace internal {

// Exit statuses of a worker that could not serve (the parent names them).
inline constexpr int kExitBadSegment = 121;   // the segment failed validation
inline constexpr int kExitCorruptRing = 122;  // its request ring is corrupt
inline constexpr int kExitInitFailed = 123;   // the initializer threw
inline constexpr int kExitOrphaned = 124;     // the pool's process is gone
inline constexpr int kExitUncaught = 125;     // an exception escaped the loop
inline constexpr int kExitNoResponseSlot = 126;  // the parent overfilled it

// What each status above means, or nullptr.
const char* DescribeWorkerExitStatus(int status);

// Runs the registered function `name` on the encoded `args`: appends the
// encoded result to `out` and returns true, or appends an encoded exception
// and returns false. Never throws. internal::invoke_registered
// (ipc/task_registry.h) is the one workers use.
using WorkerInvoker = bool (*)(std::string_view name,
                               std::span<const std::byte> args, Buffer& out);

// Replaces the invoker of every worker (tests of the transport install one
// that misbehaves on purpose); nullptr restores invoke_registered. Set it
// before the fork server starts: a worker is a fork of the server and sees
// the value the server had.
void SetWorkerInvoker(WorkerInvoker invoker);

// In a worker process: its block in the pool's control segment (tests use it
// to play a misbehaving worker). Null elsewhere.
WorkerBlock* CurrentWorkerBlock();

// The worker's main loop. Never returns (leaves with _exit()).
[[noreturn]] void WorkerMain(const WorkerStartup& startup);

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_WORKER_H_
