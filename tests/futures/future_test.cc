#include "futures/future.h"

#include "futures/promise.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

TEST(FutureTest, Smoke) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_FALSE(f.done());
  p.set_result(3);
  EXPECT_EQ(f.result(), 3);
  auto g = f.then([](int v) { return v * 2; });
  EXPECT_EQ(g.result(), 6);
}

}  // namespace
}  // namespace concurrent
