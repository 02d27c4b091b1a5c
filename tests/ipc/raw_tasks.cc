// Copyright 2026 The concurrent Authors.

#include "tests/ipc/raw_tasks.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "futures/internal/shared_state.h"
#include "gil/gil.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/worker.h"
#include "ipc/remote_error.h"

namespace concurrent {
namespace testing {
namespace {

std::string g_global = "unset";

void Put(Buffer& out, std::string_view s) { out.append(s.data(), s.size()); }

// What RawInvoke returns for a failure: an encoded RawTaskError.
bool Fail(Buffer& out, std::string_view function, const std::string& what) {
  internal::encode_exception(std::make_exception_ptr(RawTaskError(what)),
                             function, out);
  return false;
}

class RawTask final : public internal::RemoteTaskState<std::string> {
 public:
  RawTask(internal::FrameKind kind, std::string name, std::string_view body)
      : internal::RemoteTaskState<std::string>(kind), name_(std::move(name)) {
    set_function(name_);
    args().append(body.data(), body.size());
  }

 private:
  void decode(internal::FrameKind kind, std::span<const std::byte> payload,
              const internal::ResponseContext&) override {
    std::string text(internal::AsString(payload));
    switch (kind) {
      case internal::FrameKind::kValue:
      case internal::FrameKind::kChunkResult:
        set_value(std::move(text));
        return;
      case internal::FrameKind::kException:
        set_exception(decode_exception(payload));
        return;
      default:
        set_exception(internal::MakeFrameError(text));
        return;
    }
  }

  std::string name_;
};

Future<std::string> Submit(internal::PoolCore& pool, internal::FrameKind kind,
                           std::string fn, std::string_view body) {
  auto* task = new RawTask(kind, std::move(fn), body);
  Future<std::string> future = internal::FutureAccess::adopt<std::string>(task);
  task->ref();
  try {
    pool.submit(task);
  } catch (...) {
    task->unref();
    throw;
  }
  return future;
}

const bool g_installed = [] {
  internal::SetWorkerInvoker(&RawInvoke);
  return true;
}();

}  // namespace

CONCURRENT_REGISTER_EXCEPTION(RawTaskError);

bool RawInvoke(std::string_view name, std::span<const std::byte> args,
               Buffer& out) {
  const std::string arg(internal::AsString(args));
  if (name == "echo") {
    Put(out, arg);
    return true;
  }
  if (name == "pid") {
    Put(out, std::to_string(getpid()));
    return true;
  }
  if (name == "throw") return Fail(out, name, arg);
  if (name == "sleep_ms") {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::atoi(arg.c_str())));
    return true;
  }
  if (name == "size") {
    const std::size_t n = std::strtoull(arg.c_str(), nullptr, 10);
    std::memset(out.append(n), 'x', n);
    return true;
  }
  if (name == "length") {
    Put(out, std::to_string(args.size()));
    return true;
  }
  if (name == "sigkill") raise(SIGKILL);
  if (name == "segv") {
    volatile int* p = nullptr;
    *p = 1;
  }
  if (name == "abort") std::abort();
  if (name == "exit") _exit(std::atoi(arg.c_str()));
  if (name == "init_fail") return Fail(out, name, "init failed: " + arg);
  if (name == "started_then_sleep") {
    // Tells the test it runs (creates the file `arg`), then sleeps.
    if (FILE* f = std::fopen(arg.c_str(), "w")) std::fclose(f);
    std::this_thread::sleep_for(std::chrono::seconds(120));
    return true;
  }
  if (name == "gil_held") {
    Put(out, current_gil() != nullptr && current_gil()->held_by_current_thread()
                 ? "1"
                 : "0");
    return true;
  }
  if (name == "bad_kind" || name == "bad_spill") {
    // Plays a buggy worker: publishes a response to the running task whose
    // header is impossible, then exits once the parent has read it.
    internal::WorkerBlock* block = internal::CurrentWorkerBlock();
    const std::uint64_t tail =
        block->response.tail.load(std::memory_order_relaxed);
    internal::Slot& slot = block->response_slots[tail % internal::kSlotCount];
    slot.header.seq = block->started_seq.load(std::memory_order_relaxed);
    if (name == "bad_kind") {
      slot.header.kind = 999;
      slot.header.flags = 0;
      slot.header.length = 3;
    } else {
      slot.header.kind =
          static_cast<std::uint32_t>(internal::FrameKind::kValue);
      slot.header.flags = internal::kFlagSpilled;
      slot.header.length = 4096;
      slot.header.spill_begin = (std::uint64_t{1} << 40) - 100;
    }
    block->response.tail.store(tail + 1, std::memory_order_release);
    // Wake the manager, wait until it consumed the frame, and leave (the
    // worker's own writer would overwrite the slot).
    internal::WorkerBlock* b = block;
    for (int i = 0; i < 30'000 && b->response.head.load() <= tail; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    _exit(0);
  }
  if (name == "bad_indices") {
    internal::WorkerBlock* block = internal::CurrentWorkerBlock();
    block->response.tail.fetch_add(1000, std::memory_order_release);
    std::this_thread::sleep_for(std::chrono::seconds(120));
    return true;
  }
  if (name == "set_global") {
    g_global = arg;
    return true;
  }
  if (name == "get_global") {
    Put(out, g_global);
    return true;
  }
  return Fail(out, name, "unknown function " + std::string(name));
}

Future<std::string> SubmitRaw(internal::PoolCore& pool, std::string fn,
                              std::string_view arg) {
  return Submit(pool, internal::FrameKind::kCall, std::move(fn), arg);
}

Future<std::string> SubmitRawChunk(internal::PoolCore& pool, std::string fn,
                                   const std::vector<std::string>& items) {
  std::string body;
  auto put_u32 = [&](std::uint32_t v) {
    body.append(reinterpret_cast<const char*>(&v), sizeof(v));
  };
  put_u32(static_cast<std::uint32_t>(items.size()));
  for (const std::string& item : items) {
    put_u32(static_cast<std::uint32_t>(item.size()));
    body += item;
  }
  return Submit(pool, internal::FrameKind::kChunk, std::move(fn), body);
}

Future<std::string> SubmitRawFrame(internal::PoolCore& pool,
                                   internal::FrameKind kind, std::string fn,
                                   std::string_view body) {
  return Submit(pool, kind, std::move(fn), body);
}

std::vector<std::pair<bool, std::string>> ParseChunk(std::string_view raw) {
  std::vector<std::pair<bool, std::string>> items;
  internal::ByteReader reader(
      {reinterpret_cast<const std::byte*>(raw.data()), raw.size()});
  std::uint32_t count = 0;
  if (!reader.read(count)) return items;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint8_t ok = 0;
    std::uint32_t length = 0;
    std::span<const std::byte> bytes;
    if (!reader.read(ok) || !reader.read(length) ||
        !reader.read_bytes(length, bytes)) {
      break;
    }
    items.emplace_back(ok != 0, std::string(internal::AsString(bytes)));
  }
  return items;
}

}  // namespace testing
}  // namespace concurrent
