// Copyright 2026 The concurrent Authors.
//
// The shared state of a task that runs elsewhere (in a worker process of a
// ProcessPoolExecutor, on a worker rank of an MpiCommExecutor), fused with
// the executor's node for it. `Node` is the executor's node class
// (RemoteTaskNode, MpiTaskNode), which provides:
//   using ReplyKind = ...;     // the kinds of reply (value, exception, ...)
//   using ReplyContext = ...;  // what the executor knows of the reply
//   static constexpr std::string_view kRunsElsewhere;  // for run_claimed()
//   virtual complete(ReplyKind, payload, const ReplyContext&) noexcept,
//   fail_claimed(std::exception_ptr) noexcept, discard() noexcept.
// Subclasses implement decode(). Private to ipc/ and ipc/mpi/.
//
// Reference counting is the executors' (executors/task_node.h): the future
// owns one reference, the executor one, which complete(), fail_claimed(),
// fail_and_release() and cancel_and_release() each drop exactly once.

#ifndef CONCURRENT_IPC_INTERNAL_REMOTE_STATE_H_
#define CONCURRENT_IPC_INTERNAL_REMOTE_STATE_H_

#include <cstddef>
#include <exception>
#include <span>
#include <string>
#include <utility>

#include "futures/errors.h"
#include "futures/internal/shared_state.h"

namespace concurrent {
namespace internal {

template <typename T, typename Node>
class RemoteState : public SharedState<T>, public Node {
 public:
  using ReplyKind = typename Node::ReplyKind;
  using ReplyContext = typename Node::ReplyContext;

  // The task never runs in this process (nobody but its executor, which
  // never calls these, sees the node): fail rather than misbehave.
  void run() noexcept override {
    if (this->try_set_running()) run_claimed();
    this->unref();
  }
  void run_claimed() noexcept override {
    set_exception_quietly(std::make_exception_ptr(
        InvalidStateError(std::string(Node::kRunsElsewhere))));
  }
  void fail_and_release(std::exception_ptr error) noexcept override {
    if (this->try_set_running()) set_exception_quietly(std::move(error));
    this->unref();
  }
  void cancel_and_release() noexcept override {
    try {
      StateBase::cancel();
    } catch (...) {
      // cancel() only throws from a done callback, which reports its own.
    }
    this->unref();
  }
  StateBase& state() noexcept override { return *this; }

  // A waiter about to park may wait for the reply where it arrives.
  bool awaits_elsewhere() const override { return Node::kAwaitsReply; }
  bool await_elsewhere(const Deadline& deadline) const override {
    return const_cast<RemoteState*>(this)->Node::await_reply(deadline);
  }

  void fail_claimed(std::exception_ptr error) noexcept override {
    set_exception_quietly(std::move(error));
    this->unref();
  }
  void discard() noexcept override { this->unref(); }
  void complete(ReplyKind kind, std::span<const std::byte> payload,
                const ReplyContext& context) noexcept override {
    try {
      decode(kind, payload, context);
    } catch (...) {
      set_exception_quietly(std::current_exception());
    }
    this->unref();
  }

 protected:
  using Node::Node;

  // Completes the future (set_value or set_exception) from the reply. What
  // it throws fails the future.
  virtual void decode(ReplyKind kind, std::span<const std::byte> payload,
                      const ReplyContext& context) = 0;

  void set_exception_quietly(std::exception_ptr error) noexcept {
    if (this->done()) return;
    try {
      this->set_exception(std::move(error));
    } catch (...) {
      // Only the executor completes a claimed task: unreachable.
    }
  }
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_REMOTE_STATE_H_
