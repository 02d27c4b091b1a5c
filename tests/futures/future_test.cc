// Future<T> and Promise<T>: states, results, errors, callbacks.

#include "futures/future.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/promise.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

namespace concurrent {
namespace {

struct TaskError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Records what the callback exception handler receives.
class HandlerRecorder {
 public:
  HandlerRecorder() { previous_ = set_callback_exception_handler(&Record); }
  ~HandlerRecorder() { set_callback_exception_handler(previous_); }
  static std::vector<std::string> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(messages_, {});
  }

 private:
  static void Record(std::exception_ptr e, std::string_view future) {
    std::string what = "?";
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (int v) {
      what = "int " + std::to_string(v);
    }
    absl::MutexLock lock(&mu_);
    messages_.push_back(std::string(future) + ": " + what);
  }
  static absl::Mutex mu_;
  static std::vector<std::string> messages_ ABSL_GUARDED_BY(mu_);
  CallbackExceptionHandler previous_;
};
absl::Mutex HandlerRecorder::mu_;
std::vector<std::string> HandlerRecorder::messages_;

// ---------------------------------------------------------------------------
// Handles.

TEST(FutureHandleTest, DefaultConstructedIsInvalidAndSaysSo) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.done(), InvalidStateError);
  EXPECT_THROW(f.result(), InvalidStateError);
  EXPECT_THROW(f.cancel(), InvalidStateError);
  EXPECT_THROW(f.add_done_callback([](const Future<int>&) {}),
               InvalidStateError);
  EXPECT_THROW(f.then([](int) { return 1; }), InvalidStateError);
  AnyFuture any;
  EXPECT_FALSE(any.valid());
  EXPECT_THROW(any.done(), InvalidStateError);
}

TEST(FutureHandleTest, MovedFromIsInvalidCopiesShareState) {
  Promise<int> p;
  Future<int> a = p.get_future();
  Future<int> b = a;
  EXPECT_TRUE(a == b);
  Future<int> c = std::move(a);
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the point.
  EXPECT_THROW(a.done(), InvalidStateError);
  p.set_result(5);
  EXPECT_EQ(b.result(), 5);
  EXPECT_EQ(c.result(), 5);
  EXPECT_TRUE(AnyFuture(b) == AnyFuture(c));
}

TEST(PromiseTest, MovedFromPromiseIsInvalid) {
  Promise<int> p;
  Promise<int> q = std::move(p);
  EXPECT_FALSE(p.valid());  // NOLINT(bugprone-use-after-move): the point.
  EXPECT_THROW(p.set_result(1), InvalidStateError);
  EXPECT_THROW(p.get_future(), InvalidStateError);
  q.set_result(2);
  EXPECT_EQ(q.get_future().result(), 2);
}

// ---------------------------------------------------------------------------
// States.

TEST(FutureStateTest, PendingRunningFinished) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_TRUE(f.running());
  EXPECT_FALSE(f.done());
  EXPECT_FALSE(f.cancel());  // running: too late
  EXPECT_FALSE(f.cancelled());
  p.set_result(1);
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancel());  // finished
  EXPECT_EQ(f.result(), 1);
}

TEST(FutureStateTest, CancelPendingFuture) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancel());  // already cancelled: still true
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_THROW(f.result(), CancelledError);
  EXPECT_THROW(f.exception(), CancelledError);
  EXPECT_FALSE(p.set_running_or_notify_cancel());  // the task must not run
  EXPECT_THROW(p.set_result(1), InvalidStateError);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(TaskError("x"))),
               InvalidStateError);
}

TEST(FutureStateTest, CancelledErrorNamesTheFuture) {
  Promise<int> p;
  Future<int> f = p.get_future();
  f.cancel();
  try {
    f.result();
    FAIL() << "no exception";
  } catch (const CancelledError& e) {
    EXPECT_NE(std::string(e.what()).find("future@"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cancelled"), std::string::npos);
  }
}

TEST(PromiseTest, CompletingTwiceIsInvalidState) {
  Promise<int> p;
  p.set_result(1);
  EXPECT_THROW(p.set_result(2), InvalidStateError);
  EXPECT_THROW(p.set_exception(std::make_exception_ptr(TaskError("x"))),
               InvalidStateError);
  EXPECT_EQ(p.get_future().result(), 1);
}

TEST(PromiseTest, SetRunningTwiceIsInvalidState) {
  Promise<int> p;
  EXPECT_TRUE(p.set_running_or_notify_cancel());
  EXPECT_THROW((void)p.set_running_or_notify_cancel(), InvalidStateError);
  p.set_result(3);
  EXPECT_THROW((void)p.set_running_or_notify_cancel(), InvalidStateError);
}

TEST(PromiseTest, NullExceptionIsRejected) {
  Promise<int> p;
  EXPECT_THROW(p.set_exception(nullptr), std::invalid_argument);
  EXPECT_FALSE(p.get_future().done());
}

TEST(PromiseTest, ThrowingValueConstructorLeavesFuturePending) {
  struct Explosive {
    explicit Explosive(int) { throw TaskError("ctor"); }
  };
  Promise<Explosive> p;
  EXPECT_THROW(p.set_result(1), TaskError);
  EXPECT_FALSE(p.get_future().done());
}

TEST(PromiseTest, DestroyedPromiseBreaksItsFuture) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.get_future();
  }
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), BrokenPromise);
  try {
    f.result();
  } catch (const BrokenPromise& e) {
    EXPECT_NE(std::string(e.what()).find("Promise was destroyed"),
              std::string::npos);
  }
}

TEST(PromiseTest, DroppedPromiseRunsCallbacksAndContinuationsWithTheError) {
  // The promise is the state's last owner: no Future handle is left, yet the
  // callback and the then() result must still learn about it.
  bool callback_saw_broken = false;
  Future<int> continued;
  {
    Promise<int> p;
    p.get_future().add_done_callback([&](const Future<int>& f) {
      try {
        f.result();
      } catch (const BrokenPromise&) {
        callback_saw_broken = true;
      }
    });
    continued = p.get_future().then([](int v) { return v; });
  }
  EXPECT_TRUE(callback_saw_broken);
  EXPECT_THROW(continued.result(), BrokenPromise);
}

TEST(PromiseTest, AssignedOverPromiseBreaksItsFuture) {
  Promise<int> p;
  Future<int> f = p.get_future();
  p = Promise<int>();
  EXPECT_THROW(f.result(), BrokenPromise);
}

TEST(PromiseTest, DestroyedPromiseOfCancelledFutureStaysCancelled) {
  Future<int> f;
  {
    Promise<int> p;
    f = p.get_future();
    f.cancel();
  }
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(f.result(), CancelledError);
}

TEST(PromiseTest, BrokenPromiseWakesABlockedWaiter) {
  auto p = std::make_unique<Promise<int>>();
  Future<int> f = p->get_future();
  std::thread breaker([&] { p.reset(); });
  EXPECT_THROW(f.result(), BrokenPromise);
  breaker.join();
}

// ---------------------------------------------------------------------------
// result() and exception().

TEST(FutureResultTest, RethrowsTheVeryExceptionObject) {
  Promise<int> p;
  Future<int> f = p.get_future();
  p.set_exception(std::make_exception_ptr(TaskError("boom")));
  const void* stored = nullptr;
  try {
    std::rethrow_exception(f.exception());
  } catch (const TaskError& e) {
    stored = &e;
  }
  try {
    f.result();
    FAIL() << "no exception";
  } catch (const TaskError& e) {
    EXPECT_EQ(&e, stored);
    EXPECT_STREQ(e.what(), "boom");
  }
}

TEST(FutureResultTest, ExceptionIsNullOnSuccess) {
  Promise<std::string> p;
  p.set_result("ok");
  EXPECT_EQ(p.get_future().exception(), nullptr);
  EXPECT_EQ(p.get_future().result(), "ok");
}

TEST(FutureResultTest, ZeroOrNegativeTimeoutOnDoneFutureReturnsAtOnce) {
  Promise<int> p;
  p.set_result(4);
  Future<int> f = p.get_future();
  EXPECT_EQ(f.result(absl::ZeroDuration()), 4);
  EXPECT_EQ(f.result(-absl::Seconds(1)), 4);
  EXPECT_EQ(f.exception(absl::ZeroDuration()), nullptr);
}

TEST(FutureResultTest, ZeroTimeoutOnPendingFutureTimesOutAtOnce) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_THROW(f.result(absl::ZeroDuration()), TimeoutError);
  EXPECT_THROW(f.result(-absl::Seconds(1)), TimeoutError);
  EXPECT_THROW(f.exception(absl::ZeroDuration()), TimeoutError);
  EXPECT_FALSE(f.done());  // the timeout does not touch the future
}

TEST(FutureResultTest, PositiveTimeoutExpires) {
  Promise<int> p;
  Future<int> f = p.get_future();
  EXPECT_THROW(f.result(absl::Milliseconds(2)), TimeoutError);
  p.set_result(1);
  EXPECT_EQ(f.result(absl::Milliseconds(2)), 1);
}

TEST(FutureResultTest, TimeoutErrorSaysWhat) {
  Promise<int> p;
  try {
    p.get_future().result(absl::Milliseconds(1));
    FAIL() << "no exception";
  } catch (const TimeoutError& e) {
    EXPECT_NE(std::string(e.what()).find("not done within 1ms"),
              std::string::npos)
        << e.what();
  }
}

TEST(FutureResultTest, BlocksUntilAnotherThreadSetsTheResult) {
  Promise<int> p;
  Future<int> f = p.get_future();
  std::thread setter([&] { p.set_result(42); });
  EXPECT_EQ(f.result(), 42);
  setter.join();
}

TEST(FutureResultTest, VoidFuture) {
  Promise<void> p;
  Future<void> f = p.get_future();
  p.set_result();
  f.result();
  std::move(f).result();
  EXPECT_EQ(f.exception(), nullptr);
}

TEST(FutureResultTest, MoveOnlyValueIsReadByReferenceAndTakenOnce) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.get_future();
  Future<std::unique_ptr<int>> copy = f;
  p.set_result(std::make_unique<int>(7));
  EXPECT_EQ(*f.result(), 7);  // const reference, no move
  std::unique_ptr<int> taken = std::move(f).result();
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(*taken, 7);
  EXPECT_TRUE(f.valid());
  EXPECT_THROW(copy.result(), InvalidStateError);
  EXPECT_THROW(std::move(copy).result(), InvalidStateError);
}

TEST(FutureResultTest, TemporaryFutureMovesItsValueOut) {
  Promise<std::vector<int>> p;
  p.set_result(std::vector<int>{1, 2, 3});
  std::vector<int> v = p.get_future().result();  // a copy: lvalue-free
  EXPECT_EQ(v.size(), 3u);
}

// ---------------------------------------------------------------------------
// Callbacks.

TEST(CallbackTest, RunsOnceInTheCompletingThreadInOrder) {
  Promise<int> p;
  Future<int> f = p.get_future();
  std::vector<int> order;
  std::thread::id ran_in;
  f.add_done_callback([&](const Future<int>& done) {
    order.push_back(1);
    ran_in = std::this_thread::get_id();
    EXPECT_EQ(done.result(), 9);
  });
  f.add_done_callback([&](const Future<int>&) { order.push_back(2); });
  f.add_done_callback([&](const Future<int>&) { order.push_back(3); });
  EXPECT_TRUE(order.empty());
  std::thread completer([&] { p.set_result(9); });
  const std::thread::id completer_id = completer.get_id();
  completer.join();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(ran_in, completer_id);
}

TEST(CallbackTest, AddedToDoneFutureRunsAtOnceInCaller) {
  Promise<int> p;
  p.set_result(1);
  bool ran = false;
  p.get_future().add_done_callback([&](const Future<int>& f) {
    ran = true;
    EXPECT_TRUE(f.done());
  });
  EXPECT_TRUE(ran);
}

TEST(CallbackTest, CallbackMayUseTheFutureAndAddAnotherCallback) {
  Promise<int> p;
  Future<int> f = p.get_future();
  std::vector<std::string> events;
  f.add_done_callback([&](const Future<int>& done) {
    events.push_back("first " + std::to_string(done.result()));
    done.add_done_callback(
        [&](const Future<int>&) { events.push_back("nested"); });
    EXPECT_FALSE(Future<int>(done).cancel());
  });
  p.set_result(3);
  EXPECT_EQ(events, (std::vector<std::string>{"first 3", "nested"}));
}

TEST(CallbackTest, MoveOnlyCallback) {
  Promise<int> p;
  auto owned = std::make_unique<int>(5);
  int seen = 0;
  p.get_future().add_done_callback(
      [owned = std::move(owned), &seen](const Future<int>& f) {
        seen = *owned + f.result();
      });
  p.set_result(1);
  EXPECT_EQ(seen, 6);
}

TEST(CallbackTest, CancelRunsCallbacksInCancellingThread) {
  Promise<int> p;
  Future<int> f = p.get_future();
  std::thread::id ran_in;
  f.add_done_callback([&](const Future<int>& done) {
    EXPECT_TRUE(done.cancelled());
    ran_in = std::this_thread::get_id();
  });
  std::thread canceller([&] { EXPECT_TRUE(f.cancel()); });
  const std::thread::id canceller_id = canceller.get_id();
  canceller.join();
  EXPECT_EQ(ran_in, canceller_id);
}

TEST(CallbackTest, ThrowingCallbacksAreReportedAndOthersStillRun) {
  HandlerRecorder recorder;
  Promise<int> p;
  Future<int> f = p.get_future();
  int ran = 0;
  f.add_done_callback([&](const Future<int>&) {
    ++ran;
    throw TaskError("first failed");
  });
  f.add_done_callback([&](const Future<int>&) {
    ++ran;
    throw 17;  // not a std::exception
  });
  f.add_done_callback([&](const Future<int>&) { ++ran; });
  p.set_result(1);
  EXPECT_EQ(ran, 3);
  std::vector<std::string> messages = HandlerRecorder::Take();
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_NE(messages[0].find("future@"), std::string::npos);
  EXPECT_NE(messages[0].find("first failed"), std::string::npos);
  EXPECT_NE(messages[1].find("int 17"), std::string::npos);
  // The future itself is unaffected.
  EXPECT_EQ(f.result(), 1);
}

TEST(CallbackTest, ThrowingCallbackOnDoneFutureIsReportedToo) {
  HandlerRecorder recorder;
  Promise<int> p;
  p.set_result(1);
  p.get_future().add_done_callback(
      [](const Future<int>&) { throw TaskError("late"); });
  std::vector<std::string> messages = HandlerRecorder::Take();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("late"), std::string::npos);
}

TEST(CallbackTest, DefaultHandlerPrintsOneLineOnStderr) {
  Promise<int> p;
  ::testing::internal::CaptureStderr();
  p.get_future().add_done_callback(
      [](const Future<int>&) { throw TaskError("visible"); });
  p.set_result(1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("exception in a done callback of future@"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("visible"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
}

TEST(CallbackTest, CallbackMayDestroyThePromiseAndLastHandle) {
  // The state must outlive its own notification even when a callback drops
  // every outside reference (ASan sees a use-after-free otherwise).
  auto* owner = new Promise<int>();
  int second_ran = 0;
  {
    Future<int> f = owner->get_future();
    f.add_done_callback([owner](const Future<int>&) { delete owner; });
    f.add_done_callback(
        [&](const Future<int>& done) { second_ran = done.result(); });
  }
  owner->set_result(8);  // the first callback deletes `owner`
  EXPECT_EQ(second_ran, 8);
}

TEST(CallbackTest, AnyFutureCallback) {
  Promise<std::string> p;
  AnyFuture any = p.get_future();
  bool ran = false;
  any.add_done_callback([&](const AnyFuture& f) {
    ran = true;
    EXPECT_TRUE(f.done());
    EXPECT_EQ(f.exception(), nullptr);
  });
  p.set_result("x");
  EXPECT_TRUE(ran);
}

TEST(CallbackTest, CallbacksOfAnUncompletedDroppedFutureAreFreed) {
  // ASan checks that the listener dies with the state.
  auto* p = new Promise<int>();
  p->get_future().add_done_callback(
      [big = std::vector<int>(100)](const Future<int>&) {});
  p->get_future().cancel();
  delete p;
}

// ---------------------------------------------------------------------------
// The first-listener slot: the first done callback (or then() continuation) is
// stored in the state itself, a small callable without an allocation; the
// others go on a list. The callback's handle borrows the completer's
// reference.

// A callable as small as a lambda capturing two pointers, but whose move may
// throw: it cannot go into the slot (it is moved there while a completer may
// be waiting).
struct ThrowingMoveCallback {
  std::vector<int>* order;
  int id;
  ThrowingMoveCallback(std::vector<int>* o, int i) : order(o), id(i) {}
  ThrowingMoveCallback(ThrowingMoveCallback&& other) noexcept(false)
      : order(other.order), id(other.id) {}
  void operator()(const Future<int>&) const { order->push_back(id); }
};

// Over-aligned: not in the slot either.
struct alignas(32) OverAlignedCallback {
  std::vector<int>* order;
  int id;
  void operator()(const Future<int>&) const { order->push_back(id); }
};

TEST(FirstListenerTest, CallbacksOfEveryKindRunOnceInOrder) {
  for (int first = 0; first < 4; ++first) {
    Promise<int> p;
    Future<int> f = p.get_future();
    std::vector<int> order;
    const std::vector<int> big(8, 1);  // too large for the slot
    auto add = [&](int kind, int id) {
      switch (kind) {
        case 0:
          f.add_done_callback(
              [&order, id](const Future<int>&) { order.push_back(id); });
          break;
        case 1:
          f.add_done_callback([&order, id, big](const Future<int>&) {
            order.push_back(id + static_cast<int>(big.size()) - 8);
          });
          break;
        case 2:
          f.add_done_callback(ThrowingMoveCallback(&order, id));
          break;
        default:
          f.add_done_callback(OverAlignedCallback{&order, id});
          break;
      }
    };
    // Whichever kind comes first takes the slot (in place or as a pointer).
    add(first, 0);
    for (int kind = 0; kind < 4; ++kind) add(kind, kind + 1);
    p.set_result(5);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4})) << "first " << first;
  }
}

TEST(FirstListenerTest, ThenContinuationInTheSlotPrecedesLaterCallbacks) {
  Promise<int> p;
  Future<int> f = p.get_future();
  std::vector<int> order;
  Future<int> g = f.then([&order](int v) {
    order.push_back(1);
    return v + 1;
  });
  f.add_done_callback([&order](const Future<int>&) { order.push_back(2); });
  p.set_result(1);
  EXPECT_EQ(g.result(), 2);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(FirstListenerTest, CallbacksOfAStateThatDiesPendingAreDestroyedUnrun) {
  // A state dies pending only if no Promise owns it (executors build their
  // task states directly): build one so.
  auto token = std::make_shared<int>(0);
  bool ran = false;
  {
    Future<int> f =
        internal::FutureAccess::adopt(new internal::SharedState<int>());
    // In the slot, in place (a shared_ptr: 16 bytes, moved without
    // throwing).
    f.add_done_callback([token](const Future<int>&) { ++*token; });
    // On the list (24 bytes).
    f.add_done_callback([token, &ran](const Future<int>&) { ran = true; });
    EXPECT_EQ(token.use_count(), 3);
  }
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(*token, 0);
  EXPECT_FALSE(ran);
}

TEST(FirstListenerTest, CallbackMayKeepACopyOfItsHandle) {
  // The handle a callback receives borrows the completer's reference; a copy
  // takes its own, which keeps the state alive after every other handle and
  // the Promise are gone (ASan sees a use-after-free otherwise).
  Future<std::string> kept;
  AnyFuture kept_any;
  {
    Promise<std::string> p;
    p.get_future().add_done_callback(
        [&kept](const Future<std::string>& done) { kept = done; });
    AnyFuture(p.get_future())
        .add_done_callback(
            [&kept_any](const AnyFuture& done) { kept_any = done; });
    p.set_result("kept");
  }
  EXPECT_EQ(kept.result(), "kept");
  EXPECT_TRUE(kept_any.done());
  // Added to a done future: runs at once with the caller's handle.
  Future<std::string> again;
  kept.add_done_callback(
      [&again](const Future<std::string>& done) { again = done; });
  kept = Future<std::string>();
  EXPECT_EQ(again.result(), "kept");
}

TEST(FirstListenerTest, SlotCallbackMovesTheValueOut) {
  testing::FinishesWithin(absl::Seconds(30), "move out in a slot callback", [] {
    Promise<std::unique_ptr<int>> p;
    Future<std::unique_ptr<int>> f = p.get_future();
    int got = 0;
    f.add_done_callback([&got](const Future<std::unique_ptr<int>>& done) {
      got = *std::move(Future<std::unique_ptr<int>>(done)).result();
    });
    bool second_saw_taken = false;
    f.add_done_callback([&](const Future<std::unique_ptr<int>>& done) {
      try {
        (void)done.result();
      } catch (const InvalidStateError&) {
        second_saw_taken = true;
      }
    });
    p.set_result(std::make_unique<int>(4));
    EXPECT_EQ(got, 4);
    EXPECT_TRUE(second_saw_taken);
    EXPECT_THROW(f.result(), InvalidStateError);
  });
}

// ---------------------------------------------------------------------------
// The blocking observer hook (executors use it).

// Records what it is told; completes the promise when told a thread blocks.
class CompletingObserver final : public internal::BlockingObserver {
 public:
  explicit CompletingObserver(Promise<int>* p) : p_(p) {}
  void before_blocking(const internal::BlockingWait& wait) override {
    log.push_back(std::string("before ") +
                  (wait.timed() ? "timed" : "untimed") +
                  (wait.awaited() != nullptr ? " one" : " several") +
                  (wait.satisfied() ? " satisfied" : " pending"));
    if (p_ != nullptr) p_->set_result(11);
  }
  void after_blocking(const internal::BlockingWait& wait) noexcept override {
    log.push_back(std::string("after") +
                  (wait.satisfied() ? " satisfied" : " pending"));
  }
  std::vector<std::string> log;

 private:
  Promise<int>* p_;
};

TEST(BlockingObserverTest, RunsBeforeParkingAndMayCompleteTheFuture) {
  Promise<int> p;
  CompletingObserver observer(&p);
  {
    internal::ScopedBlockingObserver scope(&observer);
    EXPECT_EQ(p.get_future().result(), 11);
  }
  EXPECT_EQ(observer.log,
            (std::vector<std::string>{"before untimed one pending",
                                      "after satisfied"}));
  EXPECT_EQ(internal::CurrentBlockingObserver(), nullptr);
}

TEST(BlockingObserverTest, IsToldAfterATimedWaitTimesOut) {
  Promise<int> p;
  CompletingObserver observer(nullptr);
  internal::ScopedBlockingObserver scope(&observer);
  EXPECT_THROW(p.get_future().result(absl::Milliseconds(1)), TimeoutError);
  EXPECT_EQ(observer.log, (std::vector<std::string>{"before timed one pending",
                                                    "after pending"}));
}

TEST(BlockingObserverTest, IsNotToldWhenNothingBlocks) {
  Promise<int> p;
  p.set_result(1);
  CompletingObserver observer(nullptr);
  internal::ScopedBlockingObserver scope(&observer);
  EXPECT_EQ(p.get_future().result(), 1);
  EXPECT_THROW(Promise<int>().get_future().result(absl::ZeroDuration()),
               TimeoutError);
  EXPECT_TRUE(observer.log.empty());
}

class ThrowingObserver final : public internal::BlockingObserver {
 public:
  void before_blocking(const internal::BlockingWait&) override {
    throw InvalidStateError("would deadlock");
  }
  void after_blocking(const internal::BlockingWait&) noexcept override {
    ADD_FAILURE() << "after_blocking() without a before_blocking()";
  }
};

TEST(BlockingObserverTest, ObserverMayRefuseToBlock) {
  Promise<int> p;
  ThrowingObserver observer;
  internal::ScopedBlockingObserver scope(&observer);
  EXPECT_THROW(p.get_future().result(), InvalidStateError);
  p.set_result(1);
  EXPECT_EQ(p.get_future().result(), 1);  // done: the observer is not asked
}

// A task waiting (without a timeout) for its own result would never end.
TEST(BlockingObserverTest, WaitingOnTheStateThisThreadRunsIsADeadlock) {
  Promise<int> p;
  Future<int> f = p.get_future();
  {
    internal::RunningScope running(*internal::FutureAccess::state(f));
    EXPECT_THROW(f.result(), DeadlockError);
    EXPECT_THROW(f.result(absl::Milliseconds(1)), TimeoutError);
  }
  p.set_result(1);
  EXPECT_EQ(f.result(), 1);
}

TEST(BlockingObserverTest, TrySetRunningClaimsOnce) {
  Promise<int> p;
  Future<int> f = p.get_future();
  auto* state = internal::FutureAccess::state(f);
  EXPECT_TRUE(state->try_set_running());
  EXPECT_FALSE(state->try_set_running());
  EXPECT_TRUE(f.running());
  Promise<int> q;
  q.get_future().cancel();
  EXPECT_FALSE(
      internal::FutureAccess::state(q.get_future())->try_set_running());
}

// ---------------------------------------------------------------------------
// Moving the value out after listeners ran (issue 9, defect 1: the move waited
// for a "listeners have run" flag that nobody would ever set).

TEST(MoveOutTest, ThenTakingTheValueOfADoneFutureReturns) {
  testing::FinishesWithin(
      absl::Seconds(30), "then(fn(T&&)) on a done future", [] {
        Promise<std::unique_ptr<int>> p;
        Future<std::unique_ptr<int>> f = p.get_future();
        p.set_result(std::make_unique<int>(5));
        Future<int> g = f.then([](std::unique_ptr<int> v) { return *v + 1; });
        EXPECT_EQ(g.result(), 6);
      });
}

TEST(MoveOutTest, MoveInACallbackChainFiredByTheSameFutureReturns) {
  testing::FinishesWithin(
      absl::Seconds(30), "std::move(f).result() in a chain fired by f", [] {
        Promise<std::unique_ptr<int>> pa;
        Future<std::unique_ptr<int>> a = pa.get_future();
        Promise<int> pb;
        Future<int> b = pb.get_future();
        int got = 0;
        // a's callback completes b; b's callback moves a's value out, while
        // this thread is still running a's callbacks.
        a.add_done_callback(
            [&pb](const Future<std::unique_ptr<int>>&) { pb.set_result(1); });
        b.add_done_callback([&got, a](const Future<int>&) {
          got = *a.result();  // reads
        });
        b.add_done_callback([&got, a](const Future<int>&) {
          got += *std::move(Future<std::unique_ptr<int>>(a)).result();
        });
        pa.set_result(std::make_unique<int>(7));
        EXPECT_EQ(got, 14);
      });
}

TEST(MoveOutTest, MoveAfterAListenerWasAddedToADoneFutureReturns) {
  // A done future whose listener list was touched after completion (a wait
  // that lost the race with completion does this): the move must not wait.
  testing::FinishesWithin(absl::Seconds(30), "move after a late listener", [] {
    Promise<std::unique_ptr<int>> p;
    Future<std::unique_ptr<int>> f = p.get_future();
    p.set_result(std::make_unique<int>(3));
    Future<int> g =
        f.then([](const Future<std::unique_ptr<int>>&) { return 0; });
    EXPECT_EQ(g.result(), 0);
    EXPECT_EQ(*std::move(f).result(), 3);
  });
}

}  // namespace
}  // namespace concurrent
