// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/errors.h
// -----------------------------------------------------------------------------
//
// The exception family of this library. Errors are exceptions, as in Python;
// every error the library itself raises derives from `concurrent::Error`, so
// one `catch (const concurrent::Error&)` catches them all, while an exception
// thrown by a task travels through its future untouched (`result()` rethrows
// the very object the task threw).
//
//   concurrent::Error : std::runtime_error
//   ├── CancelledError        the future was cancelled (asyncio.CancelledError)
//   ├── TimeoutError          a wait ran out of time (TimeoutError)
//   ├── InvalidStateError     an operation the future's state forbids
//   ├── DeadlockError         a wait that could never end (a thread waiting
//   │                         for itself)
//   ├── BrokenPromise         a Promise died without completing its future
//   ├── ExecutorShutdownError submit() after shutdown()
//   └── BrokenExecutor        the executor can no longer run tasks
//       ├── BrokenThreadPool  (concurrent.futures.thread.BrokenThreadPool)
//       └── BrokenProcessPool (concurrent.futures.process.BrokenProcessPool)
//
// Example:
//
//   try {
//     int v = future.result(absl::Seconds(1));
//   } catch (const concurrent::TimeoutError& e) {
//     // not done within a second; the task goes on
//   } catch (const concurrent::CancelledError& e) {
//     // somebody called future.cancel()
//   }
//
// Thread-safety: the exception types are immutable once constructed.

#ifndef CONCURRENT_FUTURES_ERRORS_H_
#define CONCURRENT_FUTURES_ERRORS_H_

#include <stdexcept>
#include <string>

namespace concurrent {

// The base of every error this library raises. `what()` says what happened
// and to which future or executor.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  ~Error() override;
};

// The future was cancelled before it ran (Python's `CancelledError`). Thrown
// by `result()` and `exception()` of a cancelled future.
class CancelledError : public Error {
 public:
  using Error::Error;
  ~CancelledError() override;
};

// A wait ran out of time before the awaited futures were done (Python's
// `TimeoutError`). The awaited work is not affected: it may still finish.
class TimeoutError : public Error {
 public:
  using Error::Error;
  ~TimeoutError() override;
};

// An operation that the future's current state forbids (Python's
// `InvalidStateError`): completing a future twice, completing a cancelled one,
// reading a result that was already moved out.
class InvalidStateError : public Error {
 public:
  using Error::Error;
  ~InvalidStateError() override;
};

// A wait that could never end, refused instead of hanging: a task waiting,
// without a timeout, for its own result (alone, or in a set where only it is
// left), or `shutdown(wait = true)` called from one of the executor's own
// workers (it would join itself; Python raises RuntimeError there).
class DeadlockError : public Error {
 public:
  using Error::Error;
  ~DeadlockError() override;
};

// A `Promise` was destroyed without completing its future. Stored in that
// future, so its waiters get this error instead of waiting forever.
class BrokenPromise : public Error {
 public:
  using Error::Error;
  ~BrokenPromise() override;
};

// `submit()` on an executor that was shut down (Python's "cannot schedule new
// futures after shutdown").
class ExecutorShutdownError : public Error {
 public:
  using Error::Error;
  ~ExecutorShutdownError() override;
};

// The executor can no longer run tasks (Python's `BrokenExecutor`): pending
// futures fail with it, and so does every later `submit()`.
class BrokenExecutor : public Error {
 public:
  using Error::Error;
  ~BrokenExecutor() override;
};

// A thread pool whose worker initializer failed (Python's `BrokenThreadPool`).
class BrokenThreadPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
  ~BrokenThreadPool() override;
};

// A process pool one of whose workers died abruptly (Python's
// `BrokenProcessPool`).
class BrokenProcessPool : public BrokenExecutor {
 public:
  using BrokenExecutor::BrokenExecutor;
  ~BrokenProcessPool() override;
};

}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_ERRORS_H_
