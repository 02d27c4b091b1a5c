// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
// ------------------------------
// wait() and as_completed() register one listener on each pending future (as
// CPython adds a waiter to each future). The listeners share a hub, owned
// through a shared_ptr by the waiting call and by every listener, because a
// listener detached by a completing thread may run after the waiting call
// returned. Before returning, the waiting call takes back the listeners that
// did not fire (StateBase::remove_listener), so long-lived futures do not
// accumulate them. Each completion costs O(1): an atomic add (wait) or a
// queue push (as_completed), and a futex wake only if the waiter sleeps.
//
// The waiting thread sleeps on a futex word of the hub, with a deadline on
// the monotonic clock (a jump of the wall clock does not stretch a timeout).
// It sets a "sleeping" bit before it sleeps, and a listener wakes it only if
// it saw the bit: the listener's update and the waiter's bit are on the same
// word, so either the listener sees the bit, or the waiter sees the update.
//
// Neither runs a pending task inline (the thread pool's observer only does
// that for an untimed result() on one future, see
// executors/thread_pool_executor.h): a thread's observer is told once, before
// the thread sleeps, and once after (hold_gil() releases the GIL there).
//
// A wait without a timeout whose remaining futures are all tasks that the
// waiting thread is itself running (RunningHere) would never end: it throws
// DeadlockError. Those tasks cannot complete while the thread waits, so the
// check is exact: it is made before the first sleep and after each wake-up.

#include "futures/wait.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/internal/blocking_observer.h"
#include "futures/internal/futex.h"
#include "futures/internal/shared_state.h"

namespace concurrent {
namespace internal {
namespace {

bool FailedWithException(const StateBase& s) {
  return (s.word() & kStatusMask) == kFinished &&
         s.stored_exception() != nullptr;
}

// The hub's word: the count of completions, a "one failed" bit and the
// waiter's "sleeping" bit.
constexpr std::uint32_t kFailedBit = 1u << 31;
constexpr std::uint32_t kSleepingBit = 1u << 30;
constexpr std::uint32_t kCountMask = kSleepingBit - 1;

struct WaitHub {
  std::atomic<std::uint32_t> word{0};
};

class WaitListener final : public Listener {
 public:
  explicit WaitListener(std::shared_ptr<WaitHub> hub) : hub_(std::move(hub)) {}
  void on_done(StateBase& state) noexcept override {
    std::uint32_t w = hub_->word.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (FailedWithException(state)) {
      w = hub_->word.fetch_or(kFailedBit, std::memory_order_acq_rel);
    }
    if (w & kSleepingBit) FutexWakeAll(hub_->word);
  }

 private:
  std::shared_ptr<WaitHub> hub_;
};

bool Satisfied(ReturnWhen when, std::size_t done, bool failed,
               std::size_t total) {
  switch (when) {
    case ReturnWhen::kFirstCompleted:
      return done > 0 || total == 0;
    case ReturnWhen::kFirstException:
      return failed || done == total;
    case ReturnWhen::kAllCompleted:
      return done == total;
  }
  return true;
}

// What WaitStates' observer and its loop need to know.
struct WaitContext {
  const WaitHub* hub;
  ReturnWhen when;
  std::size_t total;
  std::size_t own;  // pending futures that this thread itself is running

  bool satisfied(std::uint32_t w) const {
    return Satisfied(when, w & kCountMask, (w & kFailedBit) != 0, total);
  }
  // Only futures that this thread is running are left, or (kAllCompleted)
  // one of them is needed: waiting would never end.
  bool deadlocked(std::uint32_t w) const {
    if (own == 0) return false;
    const std::size_t pending = total - (w & kCountMask);
    return when == ReturnWhen::kAllCompleted || pending == own;
  }
};

bool WaitSatisfied(const void* context) {
  const auto* c = static_cast<const WaitContext*>(context);
  return c->satisfied(c->hub->word.load(std::memory_order_acquire));
}

[[noreturn]] void ThrowWaitDeadlock(const char* what, std::size_t own) {
  throw DeadlockError(absl::StrCat(
      what, ": only ", own,
      " future(s) that this thread is itself running could still end the "
      "wait, and there is no timeout: it would never return"));
}

}  // namespace

void Deduplicate(std::vector<StateBase*>& states, std::vector<bool>& keep) {
  keep.assign(states.size(), true);
  absl::flat_hash_set<StateBase*> seen;
  seen.reserve(states.size());
  std::size_t out = 0;
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (seen.insert(states[i]).second) {
      states[out++] = states[i];
    } else {
      keep[i] = false;
    }
  }
  states.resize(out);
}

void WaitStates(const std::vector<StateBase*>& states, const Deadline& deadline,
                ReturnWhen when) {
  std::size_t done = 0;
  bool failed = false;
  std::size_t own = 0;
  std::vector<bool> counted(states.size(), false);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (states[i]->done()) {
      counted[i] = true;
      ++done;
      failed |= FailedWithException(*states[i]);
    } else if (RunningHere(*states[i])) {
      ++own;
    }
  }
  if (Satisfied(when, done, failed, states.size())) return;
  if (deadline.passed()) return;

  auto hub = std::make_shared<WaitHub>();
  hub->word.store(static_cast<std::uint32_t>(done) | (failed ? kFailedBit : 0),
                  std::memory_order_relaxed);
  const WaitContext context{hub.get(), when, states.size(), own};
  if (deadline.infinite() && context.deadlocked(hub->word.load())) {
    ThrowWaitDeadlock("wait()", own);
  }
  // Register on every future not counted yet; one that finished since the
  // scan runs its listener at once, inside add_removable_listener(), and is
  // counted.
  std::vector<std::pair<StateBase*, Listener*>> registered;
  struct Unregister {
    std::vector<std::pair<StateBase*, Listener*>>& registered;
    ~Unregister() {
      for (auto& [state, listener] : registered) {
        if (state->remove_listener(listener)) delete listener;
      }
    }
  } unregister{registered};
  registered.reserve(states.size() - done);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (counted[i]) continue;
    auto listener = std::make_unique<WaitListener>(hub);
    if (states[i]->add_removable_listener(listener.get())) {
      registered.emplace_back(states[i], listener.release());
    } else {
      listener.release();  // ran and disposed at once
    }
  }
  std::uint32_t w = hub->word.load(std::memory_order_acquire);
  if (context.satisfied(w)) return;
  const BlockingWait blocking(!deadline.infinite(), &WaitSatisfied, &context);
  BlockingScope scope(blocking);  // may release a GIL meanwhile
  for (;;) {
    w = hub->word.load(std::memory_order_acquire);
    if (context.satisfied(w) || deadline.passed()) return;
    if (deadline.infinite() && context.deadlocked(w)) {
      ThrowWaitDeadlock("wait()", own);
    }
    if ((w & kSleepingBit) == 0) {
      w = hub->word.fetch_or(kSleepingBit, std::memory_order_acq_rel) |
          kSleepingBit;
      continue;  // look again before sleeping
    }
    FutexWait(hub->word, w, deadline);
  }
}

struct CompletionQueue::Hub {
  absl::Mutex mu;
  std::deque<std::size_t> ready ABSL_GUARDED_BY(mu);
  // Bumped after every push; kSleepingBit while the iterating thread sleeps.
  std::atomic<std::uint32_t> pushes{0};
};

namespace {

class QueueListener final : public Listener {
 public:
  QueueListener(std::shared_ptr<CompletionQueue::Hub> hub, std::size_t index)
      : hub_(std::move(hub)), index_(index) {}
  void on_done(StateBase&) noexcept override;

 private:
  std::shared_ptr<CompletionQueue::Hub> hub_;
  std::size_t index_;
};

bool QueueReady(const void* context) {
  auto* hub = static_cast<CompletionQueue::Hub*>(const_cast<void*>(context));
  absl::MutexLock lock(&hub->mu);
  return !hub->ready.empty();
}

}  // namespace

CompletionQueue::CompletionQueue(std::vector<StateBase*> states,
                                 const Deadline& deadline)
    : hub_(std::make_shared<Hub>()),
      states_(std::move(states)),
      registered_(states_.size(), nullptr),
      deadline_(deadline) {
  // Futures already done come first, in input order.
  std::vector<bool> queued(states_.size(), false);
  {
    absl::MutexLock lock(&hub_->mu);
    for (std::size_t i = 0; i < states_.size(); ++i) {
      if (states_[i]->done()) {
        hub_->ready.push_back(i);
        queued[i] = true;
      }
    }
  }
  try {
    for (std::size_t i = 0; i < states_.size(); ++i) {
      if (queued[i]) continue;
      auto listener = std::make_unique<QueueListener>(hub_, i);
      if (states_[i]->add_removable_listener(listener.get())) {
        registered_[i] = listener.release();
      } else {
        listener.release();  // ran and disposed at once
      }
    }
  } catch (...) {
    unregister_all();  // allocation failed midway: take back what was added
    throw;
  }
}

CompletionQueue::~CompletionQueue() { unregister_all(); }

void CompletionQueue::unregister_all() noexcept {
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (registered_[i] != nullptr &&
        states_[i]->remove_listener(registered_[i])) {
      delete registered_[i];
    }
    registered_[i] = nullptr;
  }
}

std::ptrdiff_t CompletionQueue::next() {
  if (yielded_ == states_.size()) return -1;
  auto pop = [this](std::size_t& index) {
    absl::MutexLock lock(&hub_->mu);
    if (hub_->ready.empty()) return false;
    index = hub_->ready.front();
    hub_->ready.pop_front();
    return true;
  };
  std::size_t index;
  if (!pop(index)) {
    // Futures that this thread is itself running cannot complete meanwhile.
    std::size_t own = 0;
    for (std::size_t i = 0; i < states_.size(); ++i) {
      if (!states_[i]->done() && RunningHere(*states_[i])) ++own;
    }
    const std::size_t left = states_.size() - yielded_;
    const BlockingWait blocking(!deadline_.infinite(), &QueueReady, hub_.get());
    std::optional<BlockingScope> scope;
    for (;;) {
      std::uint32_t seen = hub_->pushes.load(std::memory_order_acquire);
      if (pop(index)) break;
      if (deadline_.infinite() && own > 0 && own == left) {
        ThrowWaitDeadlock("as_completed()", own);
      }
      if (deadline_.passed()) {
        // CPython's message: "2 (of 4) futures unfinished".
        throw TimeoutError(absl::StrCat(left, " (of ", states_.size(),
                                        ") futures unfinished"));
      }
      if (!scope.has_value()) {
        scope.emplace(blocking);  // may release a GIL meanwhile
        continue;                 // the observer may have completed some
      }
      if ((seen & kSleepingBit) == 0) {
        if (!hub_->pushes.compare_exchange_strong(seen, seen | kSleepingBit,
                                                  std::memory_order_acq_rel)) {
          continue;  // a push happened: look again
        }
        seen |= kSleepingBit;
      }
      FutexWait(hub_->pushes, seen, deadline_);
    }
  }
  ++yielded_;
  return static_cast<std::ptrdiff_t>(index);
}

void QueueListener::on_done(StateBase&) noexcept {
  {
    absl::MutexLock lock(&hub_->mu);
    hub_->ready.push_back(index_);
  }
  if (hub_->pushes.fetch_add(1, std::memory_order_acq_rel) & kSleepingBit) {
    FutexWakeAll(hub_->pushes);
  }
}

}  // namespace internal
}  // namespace concurrent
