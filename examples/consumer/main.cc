// A program in another workspace that uses concurrent's thread pool: the
// consumer that README's "Depending on one target from another repository"
// describes and examples/check_consumers.sh builds, runs and checks (it must
// print 42). The same file builds in a workspace that vendored futures/ and
// executors/ instead.

#include <cstdio>

#include "executors/thread_pool_executor.h"
#include "futures/future.h"

int main() {
  concurrent::ThreadPoolExecutor pool({.max_workers = 2});
  concurrent::Future<int> answer =
      pool.submit([](int a, int b) { return a * b; }, 6, 7);
  std::printf("%d\n", answer.result());
  return 0;
}
