// Copyright 2026 The concurrent Authors.
//
// Process-pool faults that need a separate pool process (tests/ipc/
// pool_child.cc): the pool's process SIGKILLed (nothing may survive it: no
// worker, no fork server, no shared-memory segment), and a program that
// starts a thread before its first pool without starting the fork server
// (the pool fails at once with a message saying what to add; no hang).

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

namespace {

constexpr absl::Duration kBound = absl::Seconds(30);

std::string ChildPath() {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(dir != nullptr ? dir : ".", "/",
                      workspace != nullptr ? workspace : "concurrent",
                      "/tests/ipc/pool_child");
}

std::set<std::string> ShmEntries() {
  std::set<std::string> names;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.insert(e->d_name);
    }
    closedir(d);
  }
  return names;
}

// Runs the child with `mode`; its stdout is read through *out_fd.
pid_t Spawn(const std::string& mode, int* out_fd) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const std::string path = ChildPath();
  char* argv[] = {const_cast<char*>(path.c_str()),
                  const_cast<char*>(mode.c_str()), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ),
            0)
      << path;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

// Reads lines from `fd` until one equals `until` or the stream ends
// (bounded).
std::vector<std::string> ReadLines(int fd, const std::string& until) {
  std::vector<std::string> lines;
  std::string partial;
  const absl::Time deadline = absl::Now() + kBound;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0 || poll(&p, 1, left) <= 0) {
      ADD_FAILURE() << "the child did not print '" << until << "' in time";
      return lines;
    }
    char buf[512];
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return lines;
    partial.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = partial.find('\n')) != std::string::npos) {
      lines.push_back(partial.substr(0, nl));
      partial.erase(0, nl + 1);
      if (lines.back() == until) return lines;
    }
  }
}

bool Gone(pid_t pid) {
  // Reap it if it was reparented to us (we are a subreaper), then look.
  int status;
  waitpid(pid, &status, WNOHANG);
  return kill(pid, 0) != 0 && errno == ESRCH;
}

TEST(ChildProcessTest, SigkilledPoolProcessLeavesNothingBehind) {
  // Orphans of the child come to us, so that we can see them die and reap
  // them (otherwise init would, and kill(pid, 0) could not tell a zombie).
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::set<std::string> shm_before = ShmEntries();
  int out = -1;
  const pid_t child = Spawn("parent_sigkill", &out);
  const std::vector<std::string> lines = ReadLines(out, "ready");
  close(out);
  std::vector<pid_t> pids;
  for (const std::string& line : lines) {
    std::istringstream in(line);
    std::string what;
    pid_t pid = 0;
    if (in >> what >> pid && (what == "server" || what == "worker")) {
      pids.push_back(pid);
    }
  }
  ASSERT_EQ(pids.size(), 3u) << "server + two workers";
  for (pid_t pid : pids) ASSERT_EQ(kill(pid, 0), 0) << pid;

  ASSERT_EQ(kill(child, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  const absl::Time killed = absl::Now();
  for (pid_t pid : pids) {
    while (!Gone(pid)) {
      ASSERT_LT(absl::Now() - killed, kBound) << "pid " << pid << " survived";
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  std::printf("the server and workers were gone %s after the SIGKILL\n",
              absl::FormatDuration(absl::Now() - killed).c_str());
  // Nothing of the pool in /dev/shm (its segments are memfds: they never
  // had a name there).
  EXPECT_EQ(ShmEntries(), shm_before);
}

TEST(ChildProcessTest, MultiThreadedProgramWithoutForkServerFailsAtOnce) {
  int out = -1;
  const absl::Time start = absl::Now();
  const pid_t child = Spawn("no_hook", &out);
  const std::vector<std::string> lines = ReadLines(out, "");
  close(out);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_LT(absl::Now() - start, kBound);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(absl::StartsWith(lines[0], "BrokenProcessPool: ")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "start_fork_server()")) << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "top of main()")) << lines[0];
  if (lines.size() > 1) std::printf("%s\n", lines[1].c_str());
}

}  // namespace
