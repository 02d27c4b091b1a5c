#include "benchmarks/gil_experiments.h"

#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "benchmarks/machine.h"

namespace concurrent::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// One step of interpreter-like work: a 64-bit LCG (a few ns).
inline uint64_t step(uint64_t x) {
  return x * 6364136223846793005ULL + 1442695040888963407ULL;
}

std::atomic<uint64_t> sink{0};

std::string fmt_ms(double ms) { return absl::StrFormat("%g", ms); }

std::string json_list(const std::vector<double>& v) {
  return absl::StrCat("[",
                      absl::StrJoin(v, ", ",
                                    [](std::string* out, double d) {
                                      absl::StrAppend(
                                          out, absl::StrFormat("%.6g", d));
                                    }),
                      "]");
}

}  // namespace

std::optional<std::pair<int, int>> experiment_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return std::nullopt;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.size() < 2) return std::nullopt;
  return std::make_pair(cpus[0], cpus[1]);
}

bool pin_to_cpu(int cpu) {
  if (cpu < 0) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

uint64_t work_unit(Gil& gil, int64_t steps) {
  uint64_t x = 1;
  for (int64_t i = 0; i < steps; ++i) {
    x = step(x);
    gil.check();
  }
  sink.fetch_add(x, std::memory_order_relaxed);
  return x;
}

int64_t calibrate_unit(absl::Duration target) {
  Gil gil;
  std::scoped_lock hold(gil);
  int64_t steps = 1'000'000;
  for (;;) {
    const auto start = Clock::now();
    work_unit(gil, steps);
    const double dt = seconds_since(start);
    if (dt > 0.05) {
      return std::max<int64_t>(
          1, static_cast<int64_t>(steps * absl::ToDoubleSeconds(target) / dt));
    }
    steps *= 2;
  }
}

double cpu_bound_threads_speedup(int k, int64_t steps) {
  Gil gil;
  auto start = Clock::now();
  std::thread single([&] {
    std::scoped_lock hold(gil);
    work_unit(gil, k * steps);
  });
  single.join();
  const double t_single = seconds_since(start);

  start = Clock::now();
  std::vector<std::thread> workers;
  for (int i = 0; i < k; ++i) {
    workers.emplace_back([&] {
      std::scoped_lock hold(gil);
      work_unit(gil, steps);
    });
  }
  for (auto& w : workers) w.join();
  return t_single / seconds_since(start);
}

double cpu_bound_processes_speedup(int k, int64_t steps) {
  auto start = Clock::now();
  {
    Gil gil;
    std::scoped_lock hold(gil);
    work_unit(gil, k * steps);
  }
  const double t_single = seconds_since(start);

  start = Clock::now();
  std::vector<pid_t> children;
  for (int i = 0; i < k; ++i) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      Gil gil;  // each process has its own interpreter, hence its own GIL
      gil.lock();
      work_unit(gil, steps);
      gil.unlock();
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
  }
  return t_single / seconds_since(start);
}

HandoffResult handoff(absl::Duration interval, int samples, GilPolicy policy) {
  const auto cpus = experiment_cpus().value_or(std::make_pair(-1, -1));
  Gil gil({.policy = policy, .switch_interval = interval});
  std::atomic<bool> stop{false};
  absl::Notification spinning;
  std::thread cpu_bound([&] {
    pin_to_cpu(cpus.first);
    std::scoped_lock hold(gil);
    spinning.Notify();
    uint64_t x = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      x = step(x);
      gil.check();
    }
    sink.fetch_add(x, std::memory_order_relaxed);
  });
  std::vector<double> ms(samples);
  std::thread sleeper([&] {
    pin_to_cpu(cpus.second);
    spinning.WaitForNotification();
    std::scoped_lock hold(gil);
    for (int i = 0; i < 10; ++i) gil_sleep(absl::ZeroDuration());  // warm up
    for (int i = 0; i < samples; ++i) {
      const auto t0 = Clock::now();
      gil_sleep(absl::ZeroDuration());
      ms[i] =
          std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    }
    stop.store(true, std::memory_order_relaxed);
  });
  sleeper.join();
  cpu_bound.join();
  std::sort(ms.begin(), ms.end());
  HandoffResult r;
  r.samples = samples;
  r.median = absl::Nanoseconds(median(ms) * 1e6);
  r.p10 = absl::Nanoseconds(ms[samples / 10] * 1e6);
  r.p90 = absl::Nanoseconds(ms[samples * 9 / 10] * 1e6);
  return r;
}

SwitchRateResult switch_rate(absl::Duration interval, absl::Duration duration,
                             GilPolicy policy) {
  const auto cpus = experiment_cpus().value_or(std::make_pair(-1, -1));
  Gil gil({.policy = policy, .switch_interval = interval});
  std::atomic<bool> stop{false};
  int last = -1;  // guarded by the GIL
  uint64_t work[2] = {0, 0};
  uint64_t switches[2] = {0, 0};
  std::barrier ready(3);
  auto worker = [&](int me, int cpu) {
    pin_to_cpu(cpu);
    ready.arrive_and_wait();
    std::scoped_lock hold(gil);
    uint64_t w = 0, s = 0, x = 1;
    while (!stop.load(std::memory_order_relaxed)) {
      if (last != me) {
        last = me;
        ++s;
      }
      ++w;
      x = step(x);
      gil.check();
    }
    work[me] = w;
    switches[me] = s;
    sink.fetch_add(x, std::memory_order_relaxed);
  };
  std::thread a(worker, 0, cpus.first);
  std::thread b(worker, 1, cpus.second);
  ready.arrive_and_wait();
  const auto start = Clock::now();
  const uint64_t switches_before = gil.stats().switches;
  absl::SleepFor(duration);
  const uint64_t switches_after = gil.stats().switches;
  stop.store(true, std::memory_order_relaxed);
  const double elapsed = seconds_since(start);
  a.join();
  b.join();
  SwitchRateResult r;
  r.per_second = static_cast<double>(switches[0] + switches[1]) / elapsed;
  r.stats_per_second =
      static_cast<double>(switches_after - switches_before) / elapsed;
  const double total = static_cast<double>(work[0] + work[1]);
  r.min_share =
      total > 0 ? static_cast<double>(std::min(work[0], work[1])) / total : 0;
  return r;
}

double convoy(GilPolicy policy, absl::Duration interval,
              absl::Duration duration, bool behind_cpu_bound) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    throw std::runtime_error("convoy: socketpair failed");
  }
  // The echo peer: another process in bpo-7946; a thread that never takes
  // the GIL is the same thing to the GIL.
  std::thread echo([fd = sv[1]] {
    char buf[64];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        const ssize_t w = ::write(fd, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) return;
        off += w;
      }
    }
  });
  const auto cpus = experiment_cpus().value_or(std::make_pair(-1, -1));
  Gil gil({.policy = policy, .switch_interval = interval});
  std::atomic<bool> stop{false};
  absl::Notification spinning;
  std::thread cpu_bound;
  if (behind_cpu_bound) {
    cpu_bound = std::thread([&] {
      pin_to_cpu(cpus.first);
      std::scoped_lock hold(gil);
      spinning.Notify();
      uint64_t x = 1;
      while (!stop.load(std::memory_order_relaxed)) {
        x = step(x);
        gil.check();
      }
      sink.fetch_add(x, std::memory_order_relaxed);
    });
  } else {
    spinning.Notify();
  }
  uint64_t round_trips = 0;
  double elapsed = 0;
  bool io_error = false;
  std::thread client([&] {
    pin_to_cpu(cpus.second);
    spinning.WaitForNotification();
    std::scoped_lock hold(gil);
    char msg[16] = "ping";
    const auto start = Clock::now();
    const auto deadline =
        start + std::chrono::nanoseconds(absl::ToInt64Nanoseconds(duration));
    while (Clock::now() < deadline && !io_error) {
      // As CPython's sock.sendall() and sock.recv(): each blocking call
      // runs without the GIL.
      const ssize_t w =
          without_gil([&] { return ::write(sv[0], msg, sizeof msg); });
      size_t got = 0;
      while (w == static_cast<ssize_t>(sizeof msg) && got < sizeof msg) {
        const ssize_t r = without_gil(
            [&] { return ::read(sv[0], msg + got, sizeof msg - got); });
        if (r <= 0) break;
        got += static_cast<size_t>(r);
      }
      if (got != sizeof msg) io_error = true;
      ++round_trips;
    }
    elapsed = seconds_since(start);
    stop.store(true, std::memory_order_relaxed);
  });
  client.join();
  if (cpu_bound.joinable()) cpu_bound.join();
  ::shutdown(sv[0], SHUT_RDWR);
  echo.join();
  ::close(sv[0]);
  ::close(sv[1]);
  if (io_error) throw std::runtime_error("convoy: the echo failed");
  return static_cast<double>(round_trips) / elapsed;
}

std::string run_all_json(int repetitions, bool quick) {
  const auto cpus = experiment_cpus();
  const int64_t steps =
      calibrate_unit(quick ? absl::Milliseconds(150) : absl::Milliseconds(300));
  std::string j = "{\n";
  absl::StrAppend(&j, " \"implementation\": \"concurrent::Gil (new GIL)\",\n");
  absl::StrAppend(
      &j, absl::StrFormat(" \"machine\": {\"cpu\": \"%s\", \"cpus\": %d},\n",
                          cpu_model(), std::thread::hardware_concurrency()));
  absl::StrAppend(&j, " \"repetitions\": ", repetitions, ",\n");
  if (cpus) {
    absl::StrAppend(&j, " \"pinned_cpus\": [", cpus->first, ", ", cpus->second,
                    "],\n");
  } else {
    absl::StrAppend(&j, " \"pinned_cpus\": [],\n");
  }
  absl::StrAppend(&j, " \"cpu_bound\": {\"unit_iterations\": ", steps,
                  ", \"threads\": {");
  bool first = true;
  for (int k : {2, 4}) {
    std::vector<double> runs;
    for (int r = 0; r < repetitions; ++r) {
      runs.push_back(cpu_bound_threads_speedup(k, steps));
    }
    absl::StrAppend(&j, first ? "" : ", ", "\"", k,
                    "\": {\"speedup\": ", absl::StrFormat("%.4f", median(runs)),
                    ", \"runs\": ", json_list(runs), "}");
    first = false;
  }
  absl::StrAppend(&j, "}, \"processes\": {");
  {
    std::vector<double> runs;
    for (int r = 0; r < repetitions; ++r) {
      runs.push_back(cpu_bound_processes_speedup(2, steps));
    }
    absl::StrAppend(
        &j, "\"2\": {\"speedup\": ", absl::StrFormat("%.4f", median(runs)),
        ", \"runs\": ", json_list(runs), "}");
  }
  absl::StrAppend(&j, "}},\n");

  std::string handoffs, rates;
  for (double ms : {5.0, 1.0, 0.1}) {
    const absl::Duration interval = absl::Microseconds(ms * 1000);
    int samples = static_cast<int>((quick ? 0.3 : 1.0) / (ms / 1000.0));
    samples = std::clamp(samples, 50, 3000);
    std::vector<double> medians, p90s;
    for (int r = 0; r < repetitions; ++r) {
      const HandoffResult h = handoff(interval, samples);
      medians.push_back(absl::ToDoubleMilliseconds(h.median));
      p90s.push_back(absl::ToDoubleMilliseconds(h.p90));
    }
    absl::StrAppend(
        &handoffs, handoffs.empty() ? "" : ", ", "\"", fmt_ms(ms),
        "\": {\"median_ms\": ", absl::StrFormat("%.4f", median(medians)),
        ", \"samples\": ", samples,
        ", \"run_medians_ms\": ", json_list(medians),
        ", \"run_p90s_ms\": ", json_list(p90s), "}");
    std::vector<double> per_s, stats_per_s, shares;
    for (int r = 0; r < repetitions; ++r) {
      const SwitchRateResult s = switch_rate(
          interval, quick ? absl::Milliseconds(500) : absl::Seconds(1));
      per_s.push_back(s.per_second);
      stats_per_s.push_back(s.stats_per_second);
      shares.push_back(s.min_share);
    }
    absl::StrAppend(
        &rates, rates.empty() ? "" : ", ", "\"", fmt_ms(ms),
        "\": {\"per_second\": ", absl::StrFormat("%.1f", median(per_s)),
        ", \"min_share\": ", absl::StrFormat("%.4f", median(shares)),
        ", \"stats_per_second\": ",
        absl::StrFormat("%.1f", median(stats_per_s)),
        ", \"runs\": ", json_list(per_s), "}");
  }
  absl::StrAppend(&j, " \"handoff\": {", handoffs, "},\n");
  absl::StrAppend(&j, " \"switch_rate\": {", rates, "}\n}\n");
  return j;
}

}  // namespace concurrent::bench
