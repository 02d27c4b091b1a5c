// ThreadSanitizer shim for Debian's prebuilt Abseil.
//
// Debian's libabsl_synchronization.so is compiled without -fsanitize=thread,
// so TSan cannot see that absl::Mutex::Lock() acquires and Unlock() releases:
// every access guarded by an absl::Mutex looks like a data race to it. Upstream
// Abseil built from source under TSan annotates itself; this file does the same
// from the outside. In TSan builds it defines the entry points below in the
// executable, which takes precedence over the shared library's definitions;
// each forwards to the library's own function (found with dlsym(RTLD_NEXT)) and
// tells TSan about the happens-before edge with __tsan_acquire /
// __tsan_release.
//
// Covered: Mutex Lock/Unlock/TryLock and their Reader forms, CondVar Wait*,
// Notification Notify/WaitForNotification*/HasBeenNotified, BlockingCounter.
// Not covered: absl::Condition (LockWhen, Await): Abseil evaluates conditions
// in the unlocking thread, which these edges cannot describe. This project's
// code does not use them.
//
// Debian's build also runs Abseil's mutex deadlock detector, whose graph is
// guarded by an internal spin lock TSan cannot see either: two threads locking
// any absl::Mutex at once look like a race inside GraphCycles. Under TSan the
// shim turns the detector off (TSan's own lock-order checks remain).
//
// Outside TSan builds this file compiles to nothing.

#if defined(__SANITIZE_THREAD__)
#define CONCURRENT_TSAN_SHIM 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CONCURRENT_TSAN_SHIM 1
#endif
#endif

#ifdef CONCURRENT_TSAN_SHIM

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

#define CONCURRENT_STR2(x) #x
#define CONCURRENT_STR(x) CONCURRENT_STR2(x)

// Resolves the shared library's definition of the member function whose
// Itanium-mangled name is `prefix` + "4absl" + <inline namespace> + `tail`.
template <typename Fn>
Fn Real(const char* prefix, const char* tail) {
  const std::string ns = CONCURRENT_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  const std::string name =
      std::string(prefix) + "4absl" + std::to_string(ns.size()) + ns + tail;
  void* fn = dlsym(RTLD_NEXT, name.c_str());
  if (fn == nullptr) {
    std::fprintf(stderr, "absl tsan shim: cannot resolve %s\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(fn);
}

// absl::Notification::HasBeenNotified() is inline: it loads `notified_yet_`,
// the member after the mutex, with acquire order. Releasing on that address
// lets TSan pair it with Notify().
void* NotifiedFlag(const absl::Notification* n) {
  static_assert(sizeof(absl::Notification) >=
                sizeof(absl::Mutex) + sizeof(std::atomic<bool>));
  return const_cast<char*>(reinterpret_cast<const char*>(n)) +
         sizeof(absl::Mutex);
}

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  static auto real = Real<void (*)(Mutex*)>("_ZN", "5Mutex4LockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::Unlock() {
  static auto real = Real<void (*)(Mutex*)>("_ZN", "5Mutex6UnlockEv");
  __tsan_release(this);
  real(this);
}

bool Mutex::TryLock() {
  static auto real = Real<bool (*)(Mutex*)>("_ZN", "5Mutex7TryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void Mutex::ReaderLock() {
  static auto real = Real<void (*)(Mutex*)>("_ZN", "5Mutex10ReaderLockEv");
  real(this);
  __tsan_acquire(this);
}

void Mutex::ReaderUnlock() {
  static auto real = Real<void (*)(Mutex*)>("_ZN", "5Mutex12ReaderUnlockEv");
  __tsan_release(this);
  real(this);
}

bool Mutex::ReaderTryLock() {
  static auto real = Real<bool (*)(Mutex*)>("_ZN", "5Mutex13ReaderTryLockEv");
  const bool locked = real(this);
  if (locked) __tsan_acquire(this);
  return locked;
}

void CondVar::Wait(Mutex* mu) {
  static auto real =
      Real<void (*)(CondVar*, Mutex*)>("_ZN", "7CondVar4WaitEPNS0_5MutexE");
  __tsan_release(mu);
  real(this, mu);
  __tsan_acquire(mu);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "_ZN", "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, timeout);
  __tsan_acquire(mu);
  return timed_out;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "_ZN", "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  __tsan_release(mu);
  const bool timed_out = real(this, mu, deadline);
  __tsan_acquire(mu);
  return timed_out;
}

void Notification::Notify() {
  static auto real =
      Real<void (*)(Notification*)>("_ZN", "12Notification6NotifyEv");
  __tsan_release(this);
  __tsan_release(NotifiedFlag(this));
  real(this);
}

void Notification::WaitForNotification() const {
  static auto real = Real<void (*)(const Notification*)>(
      "_ZNK", "12Notification19WaitForNotificationEv");
  real(this);
  __tsan_acquire(const_cast<Notification*>(this));
}

bool Notification::WaitForNotificationWithTimeout(
    absl::Duration timeout) const {
  static auto real = Real<bool (*)(const Notification*, absl::Duration)>(
      "_ZNK", "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  const bool notified = real(this, timeout);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static auto real = Real<bool (*)(const Notification*, absl::Time)>(
      "_ZNK", "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  const bool notified = real(this, deadline);
  if (notified) __tsan_acquire(const_cast<Notification*>(this));
  return notified;
}

bool BlockingCounter::DecrementCount() {
  static auto real = Real<bool (*)(BlockingCounter*)>(
      "_ZN", "15BlockingCounter14DecrementCountEv");
  __tsan_release(this);
  const bool zero = real(this);
  if (zero) __tsan_acquire(this);
  return zero;
}

void BlockingCounter::Wait() {
  static auto real =
      Real<void (*)(BlockingCounter*)>("_ZN", "15BlockingCounter4WaitEv");
  real(this);
  __tsan_acquire(this);
}

ABSL_NAMESPACE_END
}  // namespace absl

namespace {

const bool kDeadlockDetectorOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();

}  // namespace

#endif  // CONCURRENT_TSAN_SHIM
