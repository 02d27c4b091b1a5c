// What a benchmark run records about the machine it ran on: the CPU model, the
// number of CPUs, the kernel, the date and the load, so that a figure can be
// read against where it was measured. Used by //benchmarks:gil_experiments and
// the tour.
//
// Thread-safe: every function only reads the system.

#ifndef CONCURRENT_BENCHMARKS_MACHINE_H_
#define CONCURRENT_BENCHMARKS_MACHINE_H_

#include <string>
#include <vector>

namespace concurrent::bench {

struct Machine {
  std::string cpu_model;     // /proc/cpuinfo's first "model name", or "unknown"
  int cpus = 0;              // std::thread::hardware_concurrency()
  int usable_cpus = 0;       // CPUs this process may run on (affinity)
  std::string kernel;        // "Linux 6.1.0-18-amd64" (uname -sr)
  std::string date;          // "2026-11-24 00:37 UTC"
  double load_average = -1;  // 1-minute load average, -1 if unknown
};

// The machine this process runs on, now.
Machine this_machine();

// /proc/cpuinfo's first "model name", or "unknown".
std::string cpu_model();

// The median of `v` (0 if empty).
double median(std::vector<double> v);

}  // namespace concurrent::bench

#endif  // CONCURRENT_BENCHMARKS_MACHINE_H_
