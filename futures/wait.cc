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
// accumulate them. Each completion costs O(1): a counter update (wait) or a
// queue push (as_completed), and one signal.

#include "futures/wait.h"

#include <cstddef>
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
#include "futures/internal/shared_state.h"

namespace concurrent {
namespace internal {
namespace {

bool FailedWithException(const StateBase& s) {
  return (s.word() & kStatusMask) == kFinished &&
         s.stored_exception() != nullptr;
}

struct WaitHub {
  absl::Mutex mu;
  absl::CondVar cv;
  std::size_t done ABSL_GUARDED_BY(mu) = 0;
  bool failed ABSL_GUARDED_BY(mu) = false;
};

class WaitListener final : public Listener {
 public:
  explicit WaitListener(std::shared_ptr<WaitHub> hub) : hub_(std::move(hub)) {}
  void on_done(StateBase& state) noexcept override {
    const bool failed = FailedWithException(state);
    absl::MutexLock lock(&hub_->mu);
    ++hub_->done;
    hub_->failed |= failed;
    hub_->cv.Signal();
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

absl::Time DeadlineFromTimeout(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return absl::Now() + timeout;
}

void WaitStates(const std::vector<StateBase*>& states, absl::Time deadline,
                ReturnWhen when) {
  std::size_t done = 0;
  bool failed = false;
  std::vector<bool> counted(states.size(), false);
  for (std::size_t i = 0; i < states.size(); ++i) {
    if (states[i]->done()) {
      counted[i] = true;
      ++done;
      failed |= FailedWithException(*states[i]);
    }
  }
  if (Satisfied(when, done, failed, states.size())) return;
  if (deadline <= absl::Now()) return;
  // A thread with a BlockingObserver (an executor's worker) lets it act on
  // each pending future first: it may run a queued task of its own inline.
  if (BlockingObserver* observer = CurrentBlockingObserver()) {
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (counted[i]) continue;
      observer->before_blocking(*states[i]);
      if (states[i]->done()) {
        counted[i] = true;
        ++done;
        failed |= FailedWithException(*states[i]);
        if (Satisfied(when, done, failed, states.size())) return;
      }
    }
  }

  auto hub = std::make_shared<WaitHub>();
  {
    absl::MutexLock lock(&hub->mu);
    hub->done = done;
    hub->failed = failed;
  }
  // Register on every future not counted yet; one that finished since the
  // scan runs its listener at once, inside add_listener(), and is counted.
  std::vector<std::pair<StateBase*, Listener*>> registered;
  auto unregister = [&registered] {
    for (auto& [state, listener] : registered) {
      if (state->remove_listener(listener)) delete listener;
    }
  };
  try {
    registered.reserve(states.size() - done);
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (counted[i]) continue;
      auto listener = std::make_unique<WaitListener>(hub);
      if (states[i]->add_listener(listener.get())) {
        registered.emplace_back(states[i], listener.release());
      } else {
        listener.release();  // ran and disposed at once
      }
    }
  } catch (...) {
    unregister();  // allocation failed midway: take back what was added
    throw;
  }
  {
    absl::MutexLock lock(&hub->mu);
    while (!Satisfied(when, hub->done, hub->failed, states.size())) {
      if (hub->cv.WaitWithDeadline(&hub->mu, deadline)) break;
    }
  }
  unregister();
}

struct CompletionQueue::Hub {
  absl::Mutex mu;
  absl::CondVar cv;
  std::deque<std::size_t> ready ABSL_GUARDED_BY(mu);
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

}  // namespace

CompletionQueue::CompletionQueue(std::vector<StateBase*> states,
                                 absl::Time deadline)
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
      if (states_[i]->add_listener(listener.get())) {
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
  if (BlockingObserver* observer = CurrentBlockingObserver()) {
    // As in WaitStates: let the observer act on a pending future (run it
    // inline) before this thread sleeps; its listener then queues it.
    bool empty;
    {
      absl::MutexLock lock(&hub_->mu);
      empty = hub_->ready.empty();
    }
    for (std::size_t i = 0; empty && i < states_.size(); ++i) {
      if (registered_[i] == nullptr || states_[i]->done()) continue;
      observer->before_blocking(*states_[i]);
      absl::MutexLock lock(&hub_->mu);
      empty = hub_->ready.empty();
    }
  }
  absl::MutexLock lock(&hub_->mu);
  while (hub_->ready.empty()) {
    if (hub_->cv.WaitWithDeadline(&hub_->mu, deadline_) &&
        hub_->ready.empty()) {
      throw TimeoutError(
          absl::StrCat("as_completed(): ", states_.size() - yielded_, " of ",
                       states_.size(), " futures unfinished at the deadline"));
    }
  }
  const std::size_t index = hub_->ready.front();
  hub_->ready.pop_front();
  ++yielded_;
  return static_cast<std::ptrdiff_t>(index);
}

void QueueListener::on_done(StateBase&) noexcept {
  absl::MutexLock lock(&hub_->mu);
  hub_->ready.push_back(index_);
  hub_->cv.Signal();
}

}  // namespace internal
}  // namespace concurrent
