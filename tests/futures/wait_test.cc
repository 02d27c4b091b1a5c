#include "futures/wait.h"

#include <string>
#include <vector>

#include "futures/future.h"
#include "futures/promise.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

TEST(WaitTest, Smoke) {
  Promise<int> a;
  Promise<std::string> b;
  Future<int> fa = a.get_future();
  Future<std::string> fb = b.get_future();
  a.set_result(1);
  auto [done, not_done] =
      wait({fa, fb}, absl::ZeroDuration(), ReturnWhen::kFirstCompleted);
  EXPECT_EQ(done.size(), 1u);
  EXPECT_EQ(not_done.size(), 1u);
  std::vector<Future<int>> v{fa, fa};
  int n = 0;
  for (const Future<int>& f : as_completed(v)) {
    EXPECT_EQ(f.result(), 1);
    ++n;
  }
  EXPECT_EQ(n, 1);
  auto all = when_all(fa, fb);
  b.set_result("x");
  EXPECT_EQ(std::get<1>(all.result()).result(), "x");
  auto any = when_any(std::vector<Future<int>>{fa});
  EXPECT_EQ(any.result().index, 0u);
}

}  // namespace
}  // namespace concurrent
