// Copyright 2026 The concurrent Authors.
//
// The fork server: one process per program, forked from it while it is
// still single-threaded, that forks the process pools' workers on request
// (CPython's "forkserver" start method). A worker is thus a fork of a
// single-threaded process: no lock can be held by another thread at the
// fork, whatever the parent's threads are doing when a pool starts a worker.
// Private to ipc/; see the "process model" in docs/ipc.md.
//
// The server is started by StartForkServer() (what
// ProcessPoolExecutor::start_fork_server() calls, at the top of main()), or
// lazily by the first SpawnWorker() if the process is single-threaded at that
// moment. It dies with the thread that started it (PR_SET_PDEATHSIG), and its
// workers die with it.
//
// For each worker the server hands back: the pid, a pidfd (readable when the
// worker terminates: death is seen without the worker's help), and the read
// end of a pipe on which the server writes the worker's wait status once it
// has reaped it (so no zombie is left, and the pool can say how it died).

#ifndef CONCURRENT_IPC_INTERNAL_FORK_SERVER_H_
#define CONCURRENT_IPC_INTERNAL_FORK_SERVER_H_

#include <sys/types.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ipc/internal/shared_segment.h"

namespace concurrent {
namespace internal {

// What a new worker gets: its three descriptors and where it sits.
struct WorkerStartup {
  int control_fd = -1;  // the pool's control memfd
  int spill_fd = -1;    // the pool's spill memfd
  int event_fd = -1;    // the pool's doorbell (eventfd)
  std::uint32_t worker_index = 0;
  pid_t owner_pid = 0;   // the pool's process
  pid_t server_pid = 0;  // the worker's parent
};

struct SpawnedWorker {
  pid_t pid = 0;
  UniqueFd pidfd;
  UniqueFd status_fd;  // 8 bytes (WorkerExit) when the worker was reaped
};

// How a worker ended, as the server's waitid() saw it.
struct WorkerExit {
  std::int32_t code = 0;    // CLD_EXITED, CLD_KILLED or CLD_DUMPED
  std::int32_t status = 0;  // exit status or signal number
};

// "exited with status 3", "was killed by signal 9 (SIGKILL)", ...
std::string DescribeExit(const WorkerExit& exit);

// The server could not be started or reached; what() says why and what to do.
class ForkServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The server was not started and cannot be now: the process has threads.
class ForkServerThreadsError : public ForkServerError {
 public:
  using ForkServerError::ForkServerError;
};

// Starts the fork server of this process if it is not running. Throws
// ForkServerError if the process runs more than one thread (forking it could
// deadlock the server) or if fork() fails.
void StartForkServer();

// Whether this process has a running fork server (started by it).
bool ForkServerRunning();

// The server's pid, or 0.
pid_t ForkServerPid();

// Forks a worker that runs WorkerMain(startup) (ipc/internal/worker.h).
// Starts the server first if needed and possible. Thread-safe; bounded (a
// server that does not answer within 30 s is treated as dead). Throws
// ForkServerError.
SpawnedWorker SpawnWorker(int control_fd, int spill_fd, int event_fd,
                          std::uint32_t worker_index);

// The number of threads of this process (from /proc/self/stat), or -1.
int CountThreads();

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_FORK_SERVER_H_
