#include "benchmarks/machine.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace concurrent::bench {

std::string cpu_model() {
  std::FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f == nullptr) return "unknown";
  char line[512];
  std::string model = "unknown";
  while (std::fgets(line, sizeof line, f) != nullptr) {
    absl::string_view s(line);
    if (absl::ConsumePrefix(&s, "model name")) {
      const size_t colon = s.find(':');
      if (colon != absl::string_view::npos) {
        model = std::string(absl::StripAsciiWhitespace(s.substr(colon + 1)));
      }
      break;
    }
  }
  std::fclose(f);
  return model;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

Machine this_machine() {
  Machine m;
  m.cpu_model = cpu_model();
  m.cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  m.usable_cpus =
      sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : m.cpus;
  utsname u;
  m.kernel = uname(&u) == 0 ? absl::StrCat(u.sysname, " ", u.release)
                            : std::string("unknown");
  m.date =
      absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone());
  double load[1];
  if (getloadavg(load, 1) == 1) m.load_average = load[0];
  return m;
}

}  // namespace concurrent::bench
