// Copyright 2026 The concurrent Authors.
//
// The master's side of MpiCommExecutor: the per-executor state and the
// dispatcher, whose communication thread makes every MPI call while an
// executor runs. Private to ipc/mpi; see dispatcher.cc for the protocol.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_DISPATCHER_H_
#define CONCURRENT_IPC_MPI_INTERNAL_DISPATCHER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "executors/task_node.h"
#include "ipc/codec.h"
#include "ipc/mpi/internal/backoff.h"
#include "ipc/mpi/internal/mpi_api.h"
#include "ipc/mpi/internal/mpi_task.h"

namespace concurrent {
namespace internal {

class MpiDispatcher;

// One master executor's state. The fields below `max_payload` are guarded by
// the dispatcher's mutex.
struct MpiExecutorCore {
  std::uint32_t id = 0;
  int max_workers = 0;  // ranks 1..max_workers get its tasks
  std::size_t max_payload = 0;
  MpiDispatcher* dispatcher = nullptr;

  bool shutdown = false;
  // Accepted tasks not sent yet, oldest first.
  std::deque<MpiTaskNode*> pending;
  // Tasks accepted and not completed (pending + sent).
  std::size_t outstanding = 0;
  // The worker ranks were told that this executor ended.
  bool ended = false;

  // The communication thread's own: the mean run time of this executor's
  // recent tasks on the workers, in ns (0: none finished yet).
  std::uint64_t mean_run_ns = 0;
};

class MpiDispatcher {
 public:
  // The process's dispatcher (created on first use; never destroyed).
  static MpiDispatcher& instance();

  // Registers an executor of the master; starts the communication thread
  // if it is the first. `comm` is the runtime's communicator.
  void attach(MpiExecutorCore* core, MPI_Comm comm, int world_size);
  // Unregisters an executor whose end was announced (core->ended); stops and
  // joins the communication thread if it was the last.
  void detach(MpiExecutorCore* core);
  // Executors attached now (MpiCommExecutor::main checks none is left).
  std::size_t attached() const;

  // Accepts `task` (its future holds the only reference) for `core`: takes
  // the executor's reference and queues it. Throws ExecutorShutdownError or
  // BrokenMpiExecutor (then the task is untouched).
  void submit(MpiExecutorCore* core, MpiTaskNode* task);
  // See MpiCommExecutor::shutdown().
  void shutdown(MpiExecutorCore* core, bool wait, bool cancel_futures);

  bool on_comm_thread() const noexcept {
    return std::this_thread::get_id() == comm_thread_id_.load();
  }

 private:
  struct InFlight {
    MpiTaskNode* node;
    MPI_Request send;  // MPI_REQUEST_NULL once the send completed
  };
  struct Worker {
    int rank = 0;
    std::deque<InFlight> in_flight;  // in the order sent
    std::uint64_t next_seq = 0;
    std::uint64_t idle_since = 0;  // round at which it became idle
  };
  // A node claimed and assigned to a worker, to send.
  struct Send {
    MpiTaskNode* node;
    Worker* worker;
  };

  MpiDispatcher() = default;

  void loop();
  // Moves pending tasks to workers (claims them) and collects executors
  // whose end can be announced.
  void plan(std::vector<Send>& sends, std::vector<MpiTaskNode*>& cancelled,
            std::vector<MpiExecutorCore*>& ends)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker that takes the next task of an executor using ranks
  // 1..max_workers, or null.
  Worker* choose(const MpiExecutorCore& core)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many tasks a busy worker may have in flight for `core`.
  static std::size_t room(const MpiExecutorCore& core);
  // MPI work of one round, outside mu_; false if an MPI call failed.
  bool send_tasks(std::vector<Send>& sends, bool& progress);
  // Sets `unfinished` if a send is still in progress.
  bool test_sends(bool& progress, bool& unfinished);
  bool receive_replies(bool& progress);
  bool announce_ends(std::vector<MpiExecutorCore*>& ends);
  // Breaks every executor: the pending and in-flight futures fail with a
  // BrokenMpiExecutor saying which call failed.
  void break_all(const char* call, int code);
  // Counts `n` completed tasks of `core`.
  void completed(MpiExecutorCore* core, std::size_t n);
  bool anything_in_flight() const;
  // The longest nap between polls for replies while tasks run: a sixteenth
  // of the shortest mean run time of the executors' tasks (kMaxNap while
  // none is known).
  std::chrono::microseconds reply_poll_cap() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  absl::CondVar wake_;  // the communication thread sleeps on it
  std::vector<MpiExecutorCore*> executors_ ABSL_GUARDED_BY(mu_);
  std::size_t next_executor_ ABSL_GUARDED_BY(mu_) = 0;  // round robin
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool sleeping_ ABSL_GUARDED_BY(mu_) = false;
  std::exception_ptr broken_ ABSL_GUARDED_BY(mu_);
  // Bumped when a task is queued or an executor shuts down.
  std::uint64_t work_epoch_ ABSL_GUARDED_BY(mu_) = 0;

  // Held across attach()/detach(), so that one thread at a time starts or
  // joins the communication thread.
  absl::Mutex lifecycle_mu_;
  std::thread thread_;
  std::atomic<std::thread::id> comm_thread_id_{};
  MPI_Comm comm_ = MPI_COMM_NULL;

  // The communication thread's own state (mu_ held when plan() reads it).
  std::vector<Worker> workers_;
  std::uint64_t round_ = 0;
  Buffer recv_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_INTERNAL_DISPATCHER_H_
