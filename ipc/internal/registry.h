// Copyright 2026 The concurrent Authors.
//
// A registry that is written during static initialisation (and dlopen) and
// read on every call: the task registry and the exception registry of ipc/.
//
// Readers see an immutable index through one atomic pointer: no lock on the
// read path, so a process forked while another thread was reading finds no
// lock held (a child of a multithreaded fork may use the registry at once).
// Registrations append to a list under a mutex; the next read after a
// registration rebuilds the index from the list (under the mutex) and
// publishes it. Replaced indexes are never freed (a reader may still hold
// one) but stay linked from the current one: there is one per burst of
// registrations, in practice one.
//
// Thread-safe.

#ifndef CONCURRENT_IPC_INTERNAL_REGISTRY_H_
#define CONCURRENT_IPC_INTERNAL_REGISTRY_H_

#include <atomic>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace concurrent::internal {

// `Index` is default-constructible and has `void add(const Registration&)`.
template <class Registration, class Index>
class Registry {
 public:
  void add(Registration registration) {
    absl::MutexLock lock(&mu_);
    all_.push_back(std::move(registration));
    count_.store(all_.size(), std::memory_order_release);
  }

  // The index of every registration so far.
  const Index& index() {
    const Published* p = published_.load(std::memory_order_acquire);
    if (p != nullptr &&
        p->registrations == count_.load(std::memory_order_acquire)) {
      return p->index;
    }
    absl::MutexLock lock(&mu_);
    p = published_.load(std::memory_order_relaxed);
    if (p == nullptr || p->registrations != all_.size()) {
      auto* fresh = new Published;
      for (const Registration& r : all_) fresh->index.add(r);
      fresh->registrations = all_.size();
      fresh->replaced = p;  // kept: a reader may still use it
      published_.store(fresh, std::memory_order_release);
      p = fresh;
    }
    return p->index;
  }

 private:
  struct Published {
    Index index;
    size_t registrations = 0;
    const Published* replaced = nullptr;
  };

  absl::Mutex mu_;
  std::vector<Registration> all_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> count_{0};
  std::atomic<const Published*> published_{nullptr};
};

}  // namespace concurrent::internal

#endif  // CONCURRENT_IPC_INTERNAL_REGISTRY_H_
