// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// Setup. MPI is set up once per process (setup() under a mutex): initialized
// if the program did not, then MPI_COMM_WORLD is duplicated so that our tags
// never match the program's own messages, and MPI_ERRORS_RETURN is set on
// the duplicate so that the master's communication thread sees an error
// instead of the job aborting in the middle of a call (the default handler,
// MPI_ERRORS_ARE_FATAL, stays on MPI_COMM_WORLD). When this library
// initialized MPI, it finalizes it at exit (std::atexit, registered after
// MPI_Init_thread, so it runs before Open MPI's own exit handlers) or at the
// end of MpiCommExecutor::main.
//
// Worker loop (serve()). The worker polls rank 0 for any tag (PollBackoff),
// receives the message into a 16-byte aligned Buffer, and handles it:
//   * a task: parses the header (every length checked against the message),
//     runs internal::invoke_registered once (a call) or per item (a chunk,
//     which stops at the first item that throws), and sends the reply with
//     a blocking MPI_Send. The reply is built in one Buffer: the header, then
//     the result encoded in place behind it. A message that does not parse,
//     or a result over the master's max_reply_bytes, gets a kFailure reply
//     (text), so the master's future fails instead of waiting;
//   * kEnd: remembers that executor `n` ended (a worker's n-th
//     MpiCommExecutor constructor returns once it has seen it, whenever it
//     came); kExit: leaves the loop (MpiCommExecutor::main).
// Replies go out in the order tasks came in; their seq numbers let the master
// check it. A failing MPI call aborts the job: a worker has nobody else to
// tell, and a dead rank ends the job anyway.

#include "ipc/mpi/internal/runtime.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ipc/mpi/internal/backoff.h"
#include "ipc/mpi/internal/protocol.h"
#include "ipc/mpi/mpi_comm_executor.h"
#include "ipc/task_registry.h"

namespace concurrent {
namespace internal {
namespace {

absl::Mutex g_setup_mu;
MpiRuntime* g_runtime ABSL_GUARDED_BY(g_setup_mu) = nullptr;
std::atomic<int> g_thread_level{-1};

// Buffers that held a large message are dropped afterwards rather than kept.
constexpr std::size_t kKeepBufferBytes = std::size_t{4} << 20;

void FinalizeAtExit() {
  absl::MutexLock lock(&g_setup_mu);
  if (g_runtime != nullptr) g_runtime->finalize();
}

[[noreturn]] void ThrowMpiError(const char* call, int code) {
  throw MpiError(absl::StrCat(call, " failed: ", MpiErrorString(code)));
}

}  // namespace

std::string MpiErrorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    return absl::StrCat("MPI error ", code);
  }
  return std::string(text, static_cast<std::size_t>(length));
}

int MpiRuntime::provided_thread_level() noexcept {
  return g_thread_level.load(std::memory_order_acquire);
}

MpiRuntime& MpiRuntime::setup(int* argc, char*** argv, bool finalize_at_exit) {
  absl::MutexLock lock(&g_setup_mu);
  if (g_runtime != nullptr) {
    if (g_runtime->finalized_) {
      throw MpiError(
          "MpiCommExecutor: MPI was finalized already (by "
          "MpiCommExecutor::main or at exit); it cannot be set up again");
    }
    return *g_runtime;
  }
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) {
    throw MpiError("MpiCommExecutor: MPI was finalized already");
  }
  int initialized = 0;
  MPI_Initialized(&initialized);
  int provided = MPI_THREAD_SINGLE;
  bool ours = false;
  if (!initialized) {
    const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
    if (rc != MPI_SUCCESS) ThrowMpiError("MPI_Init_thread", rc);
    ours = true;
  } else {
    MPI_Query_thread(&provided);
  }
  g_thread_level.store(provided, std::memory_order_release);
  auto runtime = new MpiRuntime();  // lives as long as the process
  runtime->initialized_by_us_ = ours;
  g_runtime = runtime;
  if (ours && finalize_at_exit) std::atexit(&FinalizeAtExit);
  // Every rank reaches this point (collective), so every rank sees the same
  // error below and throws the same exception.
  if (provided < MPI_THREAD_SERIALIZED) {
    throw MpiError(absl::StrCat(
        "MpiCommExecutor needs MPI_THREAD_SERIALIZED or MPI_THREAD_MULTIPLE; "
        "MPI provides thread level ",
        provided,
        " (initialize MPI with MPI_Init_thread(..., MPI_THREAD_MULTIPLE, ...), "
        "or let MpiCommExecutor do it)"));
  }
  int rc = MPI_Comm_dup(MPI_COMM_WORLD, &runtime->comm_);
  if (rc != MPI_SUCCESS) ThrowMpiError("MPI_Comm_dup", rc);
  MPI_Comm_set_errhandler(runtime->comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(runtime->comm_, &runtime->rank_);
  MPI_Comm_size(runtime->comm_, &runtime->size_);
  return *runtime;
}

void MpiRuntime::finalize() noexcept {
  if (finalized_) return;
  finalized_ = true;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (initialized_by_us_) MPI_Finalize();
}

void MpiRuntime::abort_job(const char* call, int code) {
  std::fprintf(stderr,
               "MpiCommExecutor: worker rank %d: %s failed: %s; aborting the "
               "job\n",
               rank_, call, MpiErrorString(code).c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

void MpiRuntime::serve(std::uint32_t executor) {
  PollBackoff backoff;
  for (;;) {
    if (executor == 0 ? exit_ : ended_.count(executor) != 0) return;
    int flag = 0;
    MPI_Status status;
    int rc = MPI_Iprobe(0, MPI_ANY_TAG, comm_, &flag, &status);
    if (rc != MPI_SUCCESS) abort_job("MPI_Iprobe", rc);
    if (!flag) {
      const std::chrono::microseconds nap = backoff.idle();
      if (nap.count() > 0) std::this_thread::sleep_for(nap);
      continue;
    }
    backoff.reset();
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (recv_.capacity() > kKeepBufferBytes &&
        static_cast<std::size_t>(count) <= kKeepBufferBytes) {
      recv_ = Buffer();
    }
    recv_.clear();
    recv_.append(static_cast<std::size_t>(count));
    rc = MPI_Recv(recv_.data(), count, MPI_BYTE, 0, status.MPI_TAG, comm_,
                  MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) abort_job("MPI_Recv", rc);
    if (status.MPI_TAG == mpi::kTagTask) {
      run_task(count);
    } else if (status.MPI_TAG == mpi::kTagControl) {
      mpi::ControlMessage control;
      mpi::Reader reader(recv_.bytes());
      if (reader.read(control) && control.magic == mpi::kControlMagic) {
        if (control.op == mpi::ControlOp::kEnd) ended_.insert(control.executor);
        if (control.op == mpi::ControlOp::kExit) exit_ = true;
      }
    }
  }
}

void MpiRuntime::run_task(int count) {
  using Clock = std::chrono::steady_clock;
  const std::span<const std::byte> message(recv_.data(),
                                           static_cast<std::size_t>(count));
  if (reply_.capacity() > kKeepBufferBytes) reply_ = Buffer();
  reply_.clear();
  reply_.append(mpi::kHeaderSize);
  mpi::ReplyHeader reply;
  reply.seq = seq_++;
  mpi::TaskHeader task;
  mpi::Reader reader(message);
  std::span<const std::byte> args;
  std::span<const std::byte> name_bytes;
  auto fail = [&](std::string_view text) {
    reply_.truncate(mpi::kHeaderSize);
    reply_.append(text.data(), text.size());
    reply.kind = mpi::ReplyKind::kFailure;
  };
  const Clock::time_point start = Clock::now();
  if (!reader.read(task) || task.magic != mpi::kTaskMagic ||
      !reader.read_bytes(task.args_length, args) ||
      !reader.read_bytes(task.name_length, name_bytes) ||
      reader.position() != message.size()) {
    fail(absl::StrCat("rank ", rank_, " received a malformed task message (",
                      message.size(), " bytes)"));
  } else {
    reply.executor = task.executor;
    const std::string_view name(
        reinterpret_cast<const char*>(name_bytes.data()), name_bytes.size());
    if (task.kind == mpi::TaskKind::kCall) {
      const bool ok = invoke_registered(name, args, reply_);
      reply.kind = ok ? mpi::ReplyKind::kValue : mpi::ReplyKind::kException;
    } else if (task.kind == mpi::TaskKind::kChunk) {
      reply.kind = mpi::ReplyKind::kChunkResult;
      mpi::Reader items(args);
      std::uint64_t n = 0;
      bool good = items.read(n);
      const std::size_t payload_at = reply_.size();
      reply_.append(sizeof(std::uint64_t));
      std::uint64_t done = 0;
      for (; good && done < n; ++done) {
        std::uint64_t length = 0;
        std::uint64_t zero = 0;
        std::span<const std::byte> item;
        if (!items.skip_to_16() || !items.read(length) || !items.read(zero) ||
            !items.read_bytes(length, item)) {
          good = false;
          break;
        }
        const std::size_t pad = mpi::PadTo16(reply_.size() - payload_at);
        std::memset(reply_.append(pad), 0, pad);
        const std::size_t at = reply_.size();
        std::memset(reply_.append(mpi::kItemPrefix), 0, mpi::kItemPrefix);
        const bool ok = invoke_registered(name, item, reply_);
        std::uint64_t out = reply_.size() - at - mpi::kItemPrefix;
        if (!ok) out |= mpi::kItemFailed;
        std::memcpy(reply_.data() + at, &out, sizeof(out));
        if (!ok) {
          ++done;
          break;
        }
      }
      if (good) {
        std::memcpy(reply_.data() + payload_at, &done, sizeof(done));
      } else {
        fail(absl::StrCat("rank ", rank_,
                          " received a malformed map() chunk for task ",
                          std::string(name)));
      }
    } else {
      fail(absl::StrCat("rank ", rank_, " received a task of unknown kind ",
                        static_cast<int>(task.kind)));
    }
    const std::size_t payload = reply_.size() - mpi::kHeaderSize;
    if (reply.kind != mpi::ReplyKind::kFailure &&
        payload > task.max_reply_bytes) {
      fail(absl::StrCat("the result of task ", std::string(name), " on rank ",
                        rank_, " is ", payload,
                        " bytes encoded, more than max_payload_bytes (",
                        task.max_reply_bytes, ")"));
    }
  }
  reply.run_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start)
          .count());
  std::memcpy(reply_.data(), &reply, sizeof(reply));
  const int rc = MPI_Send(reply_.data(), static_cast<int>(reply_.size()),
                          MPI_BYTE, 0, mpi::kTagReply, comm_);
  if (rc != MPI_SUCCESS) abort_job("MPI_Send", rc);
}

}  // namespace internal
}  // namespace concurrent
