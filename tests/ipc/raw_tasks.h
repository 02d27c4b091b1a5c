// Copyright 2026 The concurrent Authors.
//
// Test support for the process pool's transport, without the codec: a task
// whose arguments and result are raw bytes, and a task invoker with a few
// functions that misbehave on purpose (crash, exit, throw, sleep). Install
// it before the fork server starts (InstallRawInvoker() does, from a static
// initializer of raw_tasks.cc).

#ifndef CONCURRENT_TESTS_IPC_RAW_TASKS_H_
#define CONCURRENT_TESTS_IPC_RAW_TASKS_H_

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "futures/future.h"
#include "ipc/codec.h"
#include "ipc/internal/pool_core.h"
#include "ipc/internal/remote_task.h"

namespace concurrent {
namespace testing {

// A task error carried as text.
struct RawTaskError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Raw functions (by name):
//   echo        returns its argument
//   pid         returns the worker's pid (decimal)
//   throw       fails with its argument as the message
//   sleep_ms    sleeps for its argument (decimal ms), returns ""
//   size        returns N bytes of 'x' (N = its argument, decimal)
//   length      returns the length of its argument (decimal)
//   sigkill     raise(SIGKILL)
//   segv        a segmentation fault
//   abort       abort()
//   exit        _exit(its argument, decimal)
//   init_fail   fails with "init failed: " + argument
//   set_global  sets a worker global to its argument; get_global reads it
bool RawInvoke(std::string_view name, std::span<const std::byte> args,
               Buffer& out);

// A future of raw bytes for `fn(arg)` (kCall), or for a chunk of items
// (kChunk: the result is the raw kChunkResult payload).
Future<std::string> SubmitRaw(internal::PoolCore& pool, std::string fn,
                              std::string_view arg);
Future<std::string> SubmitRawChunk(internal::PoolCore& pool, std::string fn,
                                   const std::vector<std::string>& items);

// A future for a request frame of any `kind` with the raw `body` (the
// fuzz tests send malformed ones).
Future<std::string> SubmitRawFrame(internal::PoolCore& pool,
                                   internal::FrameKind kind, std::string fn,
                                   std::string_view body);

// Parses a kChunkResult payload into (ok, bytes) items.
std::vector<std::pair<bool, std::string>> ParseChunk(std::string_view raw);

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_IPC_RAW_TASKS_H_
