// Copyright 2026 The concurrent Authors.
//
// The process-wide MPI state of MpiCommExecutor (MPI set up once, the
// duplicated communicator, the thread level) and the worker ranks' serving
// loop. Private to ipc/mpi.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_RUNTIME_H_
#define CONCURRENT_IPC_MPI_INTERNAL_RUNTIME_H_

#include <cstdint>
#include <set>
#include <string>

#include "ipc/codec.h"
#include "ipc/mpi/internal/mpi_api.h"

namespace concurrent {
namespace internal {

// MPI's text for error code `code` ("MPI_ERR_RANK: invalid rank").
std::string MpiErrorString(int code);

class MpiRuntime {
 public:
  // Sets MPI up once per process and returns the runtime: MPI_Init_thread
  // (MPI_THREAD_MULTIPLE) unless MPI is initialized, then a duplicate of
  // MPI_COMM_WORLD with MPI_ERRORS_RETURN. Collective on its first call.
  // `argc` and `argv` may be null. If this call initialized MPI and
  // `finalize_at_exit`, MPI_Finalize runs when the process exits.
  // Thread-safe. Throws MpiError (a failed call, a thread level below
  // MPI_THREAD_SERIALIZED, MPI finalized already).
  static MpiRuntime& setup(int* argc, char*** argv, bool finalize_at_exit);

  // The thread level MPI provided; -1 before setup().
  static int provided_thread_level() noexcept;

  MPI_Comm comm() const noexcept { return comm_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }

  // Frees the communicator and, if setup() initialized MPI, finalizes it.
  // Idempotent. Requires: no communication thread is running.
  void finalize() noexcept;

  // Worker ranks: serves tasks from rank 0 in this thread until the end of
  // executor `executor` was announced (kEnd), or, if `executor` is 0, until
  // kExit. Ends the job (MPI_Abort) if an MPI call fails: a worker cannot
  // report it otherwise.
  void serve(std::uint32_t executor);

  // Worker ranks: the order number (1, 2, ...) of the next executor this
  // rank constructs. Called by the serving thread only.
  std::uint32_t next_worker_executor() noexcept { return ++worker_executors_; }

 private:
  MpiRuntime() = default;

  // Runs one task message (in recv_) and sends its reply.
  void run_task(int count);
  [[noreturn]] void abort_job(const char* call, int code);

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = -1;
  int size_ = 0;
  bool initialized_by_us_ = false;
  bool finalized_ = false;

  // The worker loop's state (its thread only).
  std::uint32_t worker_executors_ = 0;
  std::set<std::uint32_t> ended_;
  bool exit_ = false;
  std::uint64_t seq_ = 0;
  Buffer recv_;
  Buffer reply_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_INTERNAL_RUNTIME_H_
