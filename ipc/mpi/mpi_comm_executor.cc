// Copyright 2026 The concurrent Authors.
//
// The public face of MpiCommExecutor. The master's machinery is in
// internal/dispatcher.cc, MPI's setup and the worker ranks' loop in
// internal/runtime.cc; both open with their notes.

#include "ipc/mpi/mpi_comm_executor.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "ipc/mpi/internal/dispatcher.h"
#include "ipc/mpi/internal/mpi_api.h"
#include "ipc/mpi/internal/protocol.h"
#include "ipc/mpi/internal/runtime.h"

namespace concurrent {

MpiError::~MpiError() = default;
BrokenMpiExecutor::~BrokenMpiExecutor() = default;

// Both cross a process boundary as themselves (a nested executor's failure
// inside a task).
CONCURRENT_REGISTER_EXCEPTION(MpiError);
CONCURRENT_REGISTER_EXCEPTION(BrokenMpiExecutor);

namespace internal {

std::exception_ptr MpiWorkerFailure(std::string_view function,
                                    const MpiReplyContext& context,
                                    std::span<const std::byte> text) {
  return std::make_exception_ptr(CodecError(absl::StrCat(
      "MpiCommExecutor: task ", std::string(function), " failed on rank ",
      context.rank, ": ",
      std::string(reinterpret_cast<const char*>(text.data()), text.size()))));
}

std::exception_ptr MpiUnexpectedReply(std::string_view function,
                                      const MpiReplyContext& context) {
  return std::make_exception_ptr(CodecError(absl::StrCat(
      "MpiCommExecutor: rank ", context.rank,
      " sent a reply of an unexpected kind for task ", std::string(function))));
}

void ThrowCorruptChunk(std::string_view function,
                       const MpiReplyContext& context, std::string_view what) {
  throw CodecError(absl::StrCat("MpiCommExecutor: the reply of rank ",
                                context.rank, " to a map() chunk of ",
                                std::string(function), " is corrupt (",
                                std::string(what), ")"));
}

}  // namespace internal

MpiCommExecutor::MpiCommExecutor(int& argc, char**& argv, Options options) {
  start(&argc, &argv, options);
}
MpiCommExecutor::MpiCommExecutor(int& argc, char**& argv)
    : MpiCommExecutor(argc, argv, Options()) {}
MpiCommExecutor::MpiCommExecutor(Options options) {
  start(nullptr, nullptr, options);
}
MpiCommExecutor::MpiCommExecutor() : MpiCommExecutor(Options()) {}

void MpiCommExecutor::start(int* argc, char*** argv, const Options& options) {
  internal::MpiRuntime& runtime =
      internal::MpiRuntime::setup(argc, argv, /*finalize_at_exit=*/true);
  rank_ = runtime.rank();
  world_size_ = runtime.size();
  if (world_size_ < 2) {
    throw std::invalid_argument(
        "MpiCommExecutor needs at least 2 ranks (the master and a worker: "
        "mpirun -np 2 or more); this job has 1");
  }
  max_workers_ = options.max_workers.value_or(world_size_ - 1);
  if (max_workers_ < 1 || max_workers_ > world_size_ - 1) {
    throw std::invalid_argument(absl::StrCat(
        "MpiCommExecutor: max_workers must be between 1 and ", world_size_ - 1,
        " (the job's ranks but the master), not ", max_workers_));
  }
  if (options.max_payload_bytes < 1 ||
      options.max_payload_bytes > kMaxPayloadBytes) {
    throw std::invalid_argument(absl::StrCat(
        "MpiCommExecutor: max_payload_bytes must be between 1 and ",
        kMaxPayloadBytes, ", not ", options.max_payload_bytes));
  }
  if (!is_master()) {
    runtime.serve(runtime.next_worker_executor());
    return;
  }
  auto core = std::make_unique<internal::MpiExecutorCore>();
  core->max_workers = max_workers_;
  core->max_payload = options.max_payload_bytes;
  static std::atomic<std::uint32_t> next_id{0};
  core->id = ++next_id;
  internal::MpiDispatcher::instance().attach(core.get(), runtime.comm(),
                                             world_size_);
  core_ = std::move(core);
}

MpiCommExecutor::~MpiCommExecutor() {
  if (core_ == nullptr) return;
  internal::MpiDispatcher& dispatcher = *core_->dispatcher;
  if (dispatcher.on_comm_thread()) {
    std::fprintf(stderr,
                 "MpiCommExecutor: destroyed from one of its done callbacks "
                 "(the communication thread), which would wait for "
                 "itself; aborting\n");
    std::abort();
  }
  shutdown(/*wait=*/true);
  dispatcher.detach(core_.get());
}

int MpiCommExecutor::thread_level() noexcept {
  return internal::MpiRuntime::provided_thread_level();
}

void MpiCommExecutor::shutdown(bool wait, bool cancel_futures) {
  if (core_ == nullptr) return;
  core_->dispatcher->shutdown(core_.get(), wait, cancel_futures);
}

void MpiCommExecutor::execute(TaskNode* /*task*/) {
  throw std::invalid_argument(
      "MpiCommExecutor runs registered functions only: submit a free "
      "function registered with CONCURRENT_REGISTER_TASK, not a closure "
      "(through Executor&)");
}

void MpiCommExecutor::submit_node(internal::MpiTaskNode* task) {
  if (core_ == nullptr) {
    throw std::logic_error(
        absl::StrCat("MpiCommExecutor: submit() on worker rank ", rank_,
                     "; only the master (rank 0, is_master()) submits tasks"));
  }
  core_->dispatcher->submit(core_.get(), task);
}

int MpiCommExecutor::main(int& argc, char**& argv,
                          absl::FunctionRef<int()> master_main) {
  internal::MpiRuntime& runtime =
      internal::MpiRuntime::setup(&argc, &argv, /*finalize_at_exit=*/false);
  if (runtime.rank() != 0) {
    runtime.serve(0);
    runtime.finalize();
    return 0;
  }
  int rc = 1;
  try {
    rc = master_main();
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "MpiCommExecutor::main: the master's function threw: %s\n",
                 e.what());
  } catch (...) {
    std::fprintf(stderr,
                 "MpiCommExecutor::main: the master's function threw an "
                 "exception that is not a std::exception\n");
  }
  if (internal::MpiDispatcher::instance().attached() != 0) {
    std::fprintf(stderr,
                 "MpiCommExecutor::main: an MpiCommExecutor outlived the "
                 "master's function; aborting the job\n");
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  internal::mpi::ControlMessage message;
  message.op = internal::mpi::ControlOp::kExit;
  for (int r = 1; r < runtime.size(); ++r) {
    MPI_Send(&message, sizeof(message), MPI_BYTE, r, internal::mpi::kTagControl,
             runtime.comm());
  }
  runtime.finalize();
  return rc;
}

}  // namespace concurrent
