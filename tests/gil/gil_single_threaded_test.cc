// The GIL's fast paths store instead of swapping while the process has never
// created a thread (glibc's __libc_single_threaded, as glibc's own mutexes
// do). This binary checks the hand-over from that state: its first test must
// run in a fresh process, before anything creates a thread, hence its own
// test target.
#include <mutex>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gil/gil.h"
#include "gtest/gtest.h"

#if defined(__GLIBC__) && __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#endif

namespace concurrent {
namespace {

TEST(GilSingleThreadedTest, TakenBeforeTheFirstThreadHandsOverAfterIt) {
#if defined(__GLIBC__) && __has_include(<sys/single_threaded.h>)
  if (!__libc_single_threaded) {
    GTEST_SKIP() << "the process already has a thread (sanitizer runtime?)";
  }
#else
  GTEST_SKIP() << "no __libc_single_threaded on this platform";
#endif
  Gil gil;
  gil.lock();               // single-threaded: a plain store
  bool waiter_ran = false;  // guarded by the GIL
  absl::Notification started;
  std::thread waiter([&] {  // from here on, the swaps
    started.Notify();
    std::scoped_lock hold(gil);
    waiter_ran = true;
  });
  started.WaitForNotification();
  EXPECT_THROW(static_cast<void>(gil.try_lock()), GilError);  // still held
  gil.unlock();  // taken with a store, released with a swap (or hand-over)
  waiter.join();
  std::scoped_lock hold(gil);
  EXPECT_TRUE(waiter_ran);
  const GilStats st = gil.stats();
  EXPECT_EQ(st.acquisitions, 3u);
  EXPECT_EQ(st.switches, 3u);
}

// Once a thread exists the fast paths must swap again: two threads contend
// for the GIL. A shortcut still taken would let both in now and then (rarely
// seen by the plain build; ThreadSanitizer reports it at once: checked by
// caching the flag).
TEST(GilSingleThreadedTest, ThreadsCreatedLaterAreExcluded) {
  Gil gil;
  for (int i = 0; i < 10; ++i) {
    std::scoped_lock hold(gil);  // possibly still single-threaded
  }
  long counter = 0;  // guarded by the GIL
  int inside = 0;
  bool overlap = false;
  constexpr int kIterations = 20000;
  auto work = [&] {
    for (int i = 0; i < kIterations; ++i) {
      std::scoped_lock hold(gil);
      if (++inside != 1) overlap = true;
      ++counter;
      --inside;
    }
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_FALSE(overlap);
  EXPECT_EQ(counter, 2L * kIterations);
}

}  // namespace
}  // namespace concurrent
