// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// The server is a fork of the program taken while the program had one
// thread, so it holds no lock that another thread owned, and it stays
// single-threaded: every fork it makes is as safe as a fork at the top of
// main(). It never returns to the program's code and leaves with _exit()
// (no atexit handler, no static destructor of the program runs in it).
//
// Protocol (a SOCK_SEQPACKET socketpair; the client serializes calls with a
// mutex, so a reply always answers the last request):
//   request  SpawnRequest + SCM_RIGHTS [control memfd, spill memfd, eventfd]
//   reply    SpawnReply   + SCM_RIGHTS [pidfd, status pipe read end]
// The server keeps each worker's pidfd in its poll() set; when one becomes
// readable it reaps the worker with waitid(P_PIDFD) and writes the
// WorkerExit to the worker's status pipe, then closes it. End of file on the
// socket (the program closed it, or exec'd) makes the server kill its
// workers and exit. PR_SET_PDEATHSIG kills the server when the thread that
// forked it dies, and the workers' own PR_SET_PDEATHSIG kills them with the
// server: when the program is SIGKILLed, nothing survives.

#include "ipc/internal/fork_server.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ipc/internal/worker.h"

namespace concurrent {
namespace internal {
namespace {

constexpr std::uint32_t kSpawnMagic = 0x4e575053;  // "SPWN"
constexpr std::uint32_t kReplyMagic = 0x4c504552;  // "REPL"
constexpr int kReplyTimeoutMs = 30'000;

struct SpawnRequest {
  std::uint32_t magic;
  std::uint32_t worker_index;
  std::int32_t owner_pid;
  std::uint32_t reserved;
};

struct SpawnReply {
  std::uint32_t magic;
  std::int32_t pid;
  std::int32_t error;  // errno of a failed fork, else 0
  std::uint32_t reserved;
};

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer runs a background thread of its own once the program has
// started one; its fork interceptor makes forking around it safe.
constexpr int kRuntimeThreads = 1;
#else
constexpr int kRuntimeThreads = 0;
#endif

int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int CloseRange(unsigned first) {
  return static_cast<int>(syscall(SYS_close_range, first, ~0u, 0));
}

// Moves `fds` to descriptors 3, 4, ... (in order) and closes every other
// descriptor above 2. Used right after a fork, single-threaded.
void KeepOnly(std::vector<int*> fds) {
  const int n = static_cast<int>(fds.size());
  std::vector<int> high(n);
  for (int i = 0; i < n; ++i) high[i] = fcntl(*fds[i], F_DUPFD, 3 + n);
  for (int i = 0; i < n; ++i) {
    dup2(high[i], 3 + i);  // clears FD_CLOEXEC; nothing here execs
    *fds[i] = 3 + i;
  }
  CloseRange(static_cast<unsigned>(3 + n));
}

bool SendWithFds(int socket, const void* data, std::size_t size, const int* fds,
                 int nfds) {
  iovec iov{const_cast<void*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(size);
}

// Receives one message of exactly `size` bytes and up to `max_fds`
// descriptors (CLOEXEC). Returns the number of descriptors received, or -1
// (end of file, error, or a message of another size: descriptors that came
// with it are closed).
int ReceiveWithFds(int socket, void* data, std::size_t size, int* fds,
                   int max_fds) {
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * max_fds);
  ssize_t n;
  do {
    n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  int received = 0;
  if (n >= 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr;
         c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const int count =
          static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
      for (int i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (received < max_fds) {
          fds[received++] = fd;
        } else {
          close(fd);
        }
      }
    }
  }
  if (n != static_cast<ssize_t>(size) || (msg.msg_flags & MSG_TRUNC) != 0) {
    for (int i = 0; i < received; ++i) close(fds[i]);
    return -1;
  }
  return received;
}

// --- The server process ----------------------------------------------------

struct Child {
  pid_t pid;
  int pidfd;
  int status_write;
};

void HandleSpawn(int socket, pid_t server_pid, std::vector<Child>& children) {
  SpawnRequest request;
  int fds[3] = {-1, -1, -1};
  const int received =
      ReceiveWithFds(socket, &request, sizeof(request), fds, 3);
  if (received < 0) {
    // End of file (the program is gone or closed us) or garbage: stop.
    for (const Child& c : children) kill(c.pid, SIGKILL);
    _exit(0);
  }
  SpawnReply reply{kReplyMagic, 0, 0, 0};
  int status_pipe[2] = {-1, -1};
  if (received != 3 || request.magic != kSpawnMagic) {
    reply.error = EINVAL;
  } else if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    reply.error = errno;
  } else {
    const pid_t pid = fork();
    if (pid == 0) {
      WorkerStartup startup;
      startup.control_fd = fds[0];
      startup.spill_fd = fds[1];
      startup.event_fd = fds[2];
      startup.worker_index = request.worker_index;
      startup.owner_pid = request.owner_pid;
      startup.server_pid = server_pid;
      KeepOnly({&startup.control_fd, &startup.spill_fd, &startup.event_fd});
      WorkerMain(startup);
    }
    if (pid < 0) {
      reply.error = errno;
    } else {
      reply.pid = pid;
      const int pidfd = PidfdOpen(pid);  // the child cannot be reaped yet
      children.push_back({pid, pidfd, status_pipe[1]});
      status_pipe[1] = -1;
    }
  }
  int reply_fds[2] = {-1, -1};
  int nfds = 0;
  if (reply.error == 0) {
    reply_fds[0] = fcntl(children.back().pidfd, F_DUPFD_CLOEXEC, 0);
    reply_fds[1] = status_pipe[0];
    nfds = 2;
  }
  SendWithFds(socket, &reply, sizeof(reply), reply_fds, nfds);
  for (int fd : reply_fds) {
    if (fd >= 0) close(fd);
  }
  if (status_pipe[1] >= 0) close(status_pipe[1]);
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

void Reap(Child& child) {
  siginfo_t info{};
  int r;
  do {
    r = waitid(static_cast<idtype_t>(P_PIDFD), child.pidfd, &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  WorkerExit exit{};
  if (r == 0) {
    exit.code = info.si_code;
    exit.status = info.si_status;
  } else {
    exit.code = -1;
    exit.status = errno;
  }
  ssize_t ignored = write(child.status_write, &exit, sizeof(exit));
  (void)ignored;
  close(child.status_write);
  close(child.pidfd);
}

[[noreturn]] void ServerLoop(int socket, pid_t parent);

// Nothing may unwind past this frame (see WorkerMain).
[[noreturn]] void ServerMain(int socket, pid_t parent) {
  try {
    ServerLoop(socket, parent);
  } catch (...) {
  }
  _exit(1);
}

void ServerLoop(int socket, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_NAME, "ccpool-server");
  signal(SIGINT, SIG_IGN);   // Ctrl-C is the program's to handle
  signal(SIGCHLD, SIG_DFL);  // we reap our children ourselves
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  KeepOnly({&socket});
  const pid_t self = getpid();
  std::vector<Child> children;
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({socket, POLLIN, 0});
    for (const Child& c : children) fds.push_back({c.pidfd, POLLIN, 0});
    const int n = poll(fds.data(), fds.size(), 1000);
    if (getppid() != parent) _exit(0);
    if (n <= 0) continue;
    for (std::size_t i = children.size(); i-- > 0;) {
      if (fds[i + 1].revents != 0) {
        Reap(children[i]);
        children.erase(children.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (fds[0].revents != 0) HandleSpawn(socket, self, children);
  }
}

// --- The client side (the program) ----------------------------------------

// Read at load time: the threads a process has before main() (1, or 2
// under some runtimes); more than that when a pool first needs the server
// means the program started threads.
const int g_threads_at_load = CountThreads();

struct Client {
  absl::Mutex mu;
  pid_t owner ABSL_GUARDED_BY(mu) = 0;  // the process that started it
  pid_t server ABSL_GUARDED_BY(mu) = 0;
  UniqueFd socket ABSL_GUARDED_BY(mu);
};

// A fork of this process (the server, a worker, or a fork the program made)
// inherits a copy of the client, maybe with `mu` held by a thread that does
// not exist there: it gets a fresh one (see FreshClientAfterFork).
Client* g_client = new Client;
pid_t g_client_pid = getpid();

Client& TheClient() {
  if (g_client_pid != getpid()) {
    // We are a fork: the copy may be locked for good. Leak it.
    g_client = new Client;
    g_client_pid = getpid();
  }
  return *g_client;
}

bool RunningLocked(Client& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
  return c.owner == getpid() && c.socket.valid();
}

void StartLocked(Client& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
  const int threads = CountThreads();
  const int allowed = std::max(1, g_threads_at_load) + kRuntimeThreads;
  if (threads > allowed) {
    throw ForkServerThreadsError(absl::StrCat(
        "ProcessPoolExecutor: cannot start worker processes: this process "
        "already runs ",
        threads,
        " threads, and forking a multi-threaded process can deadlock the "
        "child on a lock another thread held. Call "
        "concurrent::ProcessPoolExecutor::start_fork_server() at the top of "
        "main(), before any thread starts (GoogleTest: link "
        "//ipc:gtest_main instead of gtest_main)."));
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    throw ForkServerError(absl::StrCat(
        "ProcessPoolExecutor: socketpair for the fork server failed: ",
        strerror(errno)));
  }
  std::fflush(nullptr);  // buffered output must not be written twice
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    ServerMain(sv[1], parent);
  }
  close(sv[1]);
  if (pid < 0) {
    const int err = errno;
    close(sv[0]);
    throw ForkServerError(
        absl::StrCat("ProcessPoolExecutor: fork of the fork server failed: ",
                     strerror(err)));
  }
  c.owner = parent;
  c.server = pid;
  c.socket = UniqueFd(sv[0]);
}

// The server is gone (its socket failed): reap it, forget it.
void DropServerLocked(Client& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
  c.socket.reset();
  if (c.server > 0) {
    // It is our child; it was killed or exited, or is about to: don't leave
    // a zombie (bounded: it has no reason to linger once its socket died).
    kill(c.server, SIGKILL);
    int status;
    while (waitpid(c.server, &status, 0) < 0 && errno == EINTR) {
    }
  }
  c.server = 0;
  c.owner = 0;
}

}  // namespace

int CountThreads() {
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (!std::getline(stat, line)) return -1;
  const std::size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 1));
  std::string field;
  // Fields after the command name start at field 3; num_threads is 20.
  for (int i = 3; fields >> field; ++i) {
    if (i == 20) return std::atoi(field.c_str());
  }
  return -1;
}

std::string DescribeExit(const WorkerExit& exit) {
  auto signal_name = [](int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev != nullptr ? absl::StrCat("SIG", abbrev)
                             : absl::StrCat("signal ", sig);
  };
  switch (exit.code) {
    case CLD_EXITED:
      return absl::StrCat("exited with status ", exit.status);
    case CLD_KILLED:
      return absl::StrCat("was killed by signal ", exit.status, " (",
                          signal_name(exit.status), ")");
    case CLD_DUMPED:
      return absl::StrCat("was killed by signal ", exit.status, " (",
                          signal_name(exit.status), ", core dumped)");
    default:
      return "ended (its exit status is unknown)";
  }
}

void StartForkServer() {
  Client& c = TheClient();
  absl::MutexLock lock(&c.mu);
  if (!RunningLocked(c)) StartLocked(c);
}

bool ForkServerRunning() {
  Client& c = TheClient();
  absl::MutexLock lock(&c.mu);
  return RunningLocked(c);
}

pid_t ForkServerPid() {
  Client& c = TheClient();
  absl::MutexLock lock(&c.mu);
  return RunningLocked(c) ? c.server : 0;
}

SpawnedWorker SpawnWorker(int control_fd, int spill_fd, int event_fd,
                          std::uint32_t worker_index) {
  Client& c = TheClient();
  absl::MutexLock lock(&c.mu);
  if (!RunningLocked(c)) StartLocked(c);
  const SpawnRequest request{kSpawnMagic, worker_index,
                             static_cast<std::int32_t>(getpid()), 0};
  const int fds[3] = {control_fd, spill_fd, event_fd};
  const pid_t server = c.server;
  auto dead = [&](const char* what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(c.mu) {
    DropServerLocked(c);
    return ForkServerError(
        absl::StrCat("ProcessPoolExecutor: the fork server (pid ", server, ") ",
                     what, "; no worker can be started"));
  };
  if (!SendWithFds(c.socket.get(), &request, sizeof(request), fds, 3)) {
    throw dead("does not accept requests (it died)");
  }
  pollfd p{c.socket.get(), POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, kReplyTimeoutMs);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) throw dead("did not answer within 30 s");
  SpawnReply reply;
  int reply_fds[2] = {-1, -1};
  const int received =
      ReceiveWithFds(c.socket.get(), &reply, sizeof(reply), reply_fds, 2);
  if (received < 0 || reply.magic != kReplyMagic) throw dead("died");
  if (reply.error != 0 || received != 2) {
    for (int i = 0; i < received; ++i) close(reply_fds[i]);
    throw ForkServerError(absl::StrCat(
        "ProcessPoolExecutor: the fork server could not fork a worker: ",
        strerror(reply.error != 0 ? reply.error : EPROTO)));
  }
  SpawnedWorker worker;
  worker.pid = reply.pid;
  worker.pidfd = UniqueFd(reply_fds[0]);
  worker.status_fd = UniqueFd(reply_fds[1]);
  return worker;
}

}  // namespace internal
}  // namespace concurrent
