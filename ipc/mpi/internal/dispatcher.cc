// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// One communication thread per master process, shared by its executors,
// makes every MPI call while an executor is attached (started by the first
// attach(), joined by the last detach()). User threads only queue tasks
// under mu_ and wake it; futures are completed on it, outside mu_.
//
// A round of the loop:
//   1. plan() (under mu_): moves pending tasks, one executor after the other
//      (round robin), to workers, and claims each (try_claim: until then
//      cancel() works, afterwards the future is running; a cancelled task is
//      dropped). The worker is an idle one (nothing in flight; the one idle
//      most recently, likeliest still polling), else, if tasks are known to
//      be short (mean run time under kQueueTarget), the least loaded worker
//      with room: enough tasks to cover about kQueueTarget of work (2..64)
//      so that it goes from task to task without waiting for the master.
//      Long tasks are never queued behind one another: a rank gets a second
//      task only when no rank is idle, and only for short tasks.
//   2. MPI_Isend of each planned task: the node's message buffer is the
//      send buffer (no copy), kept until the send completes (MPI_Test each
//      round; a reply for a task whose send is not seen complete yet first
//      MPI_Waits it, which returns at once since the worker has the message).
//   3. MPI_Iprobe(ANY_SOURCE, kTagReply) and MPI_Recv of each reply, up to
//      kRepliesPerRound: it matches the oldest task in flight to that worker
//      (MPI keeps the order of messages between two ranks on one
//      communicator and tag; the seq is checked), whose future is completed
//      at once (results complete futures as they arrive).
//   4. Executors shut down with nothing outstanding: kEnd to every worker
//      rank (small blocking sends), then `ended`, which shutdown(wait) and
//      the destructor wait for.
// With nothing to do (and no send in progress: a large send over a transport
// without single-copy needs this side to keep calling MPI), the thread waits
// on wake_ (a submit or a shutdown
// signals it): with tasks in flight, after spinning PollBackoff::kSpin, in
// naps of at most 1 ms, and at most a sixteenth of the tasks' mean run time
// (reply_poll_cap: it must poll MPI for replies, and a reply seen late keeps
// a worker idle); with nothing in flight, until woken.
//
// Errors: our communicator has MPI_ERRORS_RETURN. A failed call breaks the
// dispatcher (break_all): every pending and in-flight future fails with
// BrokenMpiExecutor naming the call, later submits throw it, and no more MPI
// calls are made; the buffers of sends that may still be in MPI's hands are
// kept (leaked) rather than freed under it.

#include "ipc/mpi/internal/dispatcher.h"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "ipc/mpi/internal/protocol.h"
#include "ipc/mpi/internal/runtime.h"
#include "ipc/mpi/mpi_comm_executor.h"

namespace concurrent {
namespace internal {
namespace {

constexpr std::uint64_t kQueueTargetNs = 100'000;
constexpr std::size_t kMaxDepth = 64;
constexpr int kRepliesPerRound = 64;
constexpr std::size_t kKeepBufferBytes = std::size_t{4} << 20;

// Buffers of sends that MPI may still read after the dispatcher broke.
std::vector<Buffer>* Graveyard() {
  static auto* graveyard = new std::vector<Buffer>();
  return graveyard;
}

}  // namespace

MpiDispatcher& MpiDispatcher::instance() {
  static auto* dispatcher = new MpiDispatcher();  // never destroyed
  return *dispatcher;
}

void MpiDispatcher::attach(MpiExecutorCore* core, MPI_Comm comm,
                           int world_size) {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  {
    absl::MutexLock lock(&mu_);
    core->dispatcher = this;
    if (broken_ != nullptr) std::rethrow_exception(broken_);
    executors_.push_back(core);
  }
  if (!thread_.joinable()) {
    comm_ = comm;
    if (workers_.empty()) {
      workers_.resize(static_cast<std::size_t>(world_size - 1));
      for (int r = 1; r < world_size; ++r) workers_[r - 1].rank = r;
    }
    {
      absl::MutexLock lock(&mu_);
      stop_ = false;
    }
    thread_ = std::thread([this] { loop(); });
  }
}

void MpiDispatcher::detach(MpiExecutorCore* core) {
  absl::MutexLock lifecycle(&lifecycle_mu_);
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    executors_.erase(std::find(executors_.begin(), executors_.end(), core));
    if (executors_.empty()) {
      stop_ = true;
      wake_.Signal();
      thread = std::move(thread_);
    }
  }
  if (thread.joinable()) thread.join();
}

std::size_t MpiDispatcher::attached() const {
  absl::MutexLock lock(&mu_);
  return executors_.size();
}

void MpiDispatcher::submit(MpiExecutorCore* core, MpiTaskNode* task) {
  {
    absl::MutexLock lock(&mu_);
    if (broken_ != nullptr) std::rethrow_exception(broken_);
    if (core->shutdown) {
      throw ExecutorShutdownError(
          "MpiCommExecutor: cannot schedule new futures after shutdown");
    }
    task->state().ref();  // the executor's reference
    task->core = core;
    if (task->args_size() <= core->max_payload) {
      core->pending.push_back(task);
      ++core->outstanding;
      ++work_epoch_;
      if (sleeping_) wake_.Signal();
      return;
    }
  }
  task->fail_and_release(std::make_exception_ptr(CodecError(absl::StrCat(
      "MpiCommExecutor: the arguments of task ",
      std::string(task->function_name()), " are ", task->args_size(),
      " bytes encoded, more than max_payload_bytes (", core->max_payload,
      ")"))));
}

void MpiDispatcher::shutdown(MpiExecutorCore* core, bool wait,
                             bool cancel_futures) {
  std::deque<MpiTaskNode*> dropped;
  {
    absl::MutexLock lock(&mu_);
    core->shutdown = true;
    if (cancel_futures) {
      dropped.swap(core->pending);
      core->outstanding -= dropped.size();
    }
    ++work_epoch_;
    if (sleeping_) wake_.Signal();
  }
  for (MpiTaskNode* node : dropped) node->cancel_and_release();
  if (wait && !on_comm_thread()) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&core->ended));
  }
}

MpiDispatcher::Worker* MpiDispatcher::choose(const MpiExecutorCore& core) {
  const std::size_t n =
      std::min(workers_.size(), static_cast<std::size_t>(core.max_workers));
  Worker* idle = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    Worker& w = workers_[i];
    if (w.in_flight.empty() &&
        (idle == nullptr || w.idle_since > idle->idle_since)) {
      idle = &w;
    }
  }
  if (idle != nullptr) return idle;
  const std::size_t limit = room(core);
  Worker* least = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    Worker& w = workers_[i];
    if (least == nullptr || w.in_flight.size() < least->in_flight.size()) {
      least = &w;
    }
  }
  return least != nullptr && least->in_flight.size() < limit ? least : nullptr;
}

std::size_t MpiDispatcher::room(const MpiExecutorCore& core) {
  if (core.mean_run_ns == 0 || core.mean_run_ns >= kQueueTargetNs) return 1;
  return std::clamp<std::size_t>(kQueueTargetNs / core.mean_run_ns + 1, 2,
                                 kMaxDepth);
}

void MpiDispatcher::plan(std::vector<Send>& sends,
                         std::vector<MpiTaskNode*>& cancelled,
                         std::vector<MpiExecutorCore*>& ends) {
  const std::size_t n = executors_.size();
  for (bool any = true; any;) {
    any = false;
    for (std::size_t i = 0; i < n; ++i) {
      MpiExecutorCore* core = executors_[(next_executor_ + i) % n];
      while (!core->pending.empty()) {
        Worker* worker = choose(*core);
        if (worker == nullptr) break;
        MpiTaskNode* node = core->pending.front();
        core->pending.pop_front();
        if (!node->try_claim()) {  // cancelled
          --core->outstanding;
          cancelled.push_back(node);
          continue;
        }
        node->seq = worker->next_seq++;
        worker->in_flight.push_back({node, MPI_REQUEST_NULL});
        sends.push_back({node, worker});
        any = true;
        break;  // one task per executor per pass
      }
    }
  }
  if (n != 0) next_executor_ = (next_executor_ + 1) % n;
  for (MpiExecutorCore* core : executors_) {
    if (core->shutdown && core->outstanding == 0 && !core->ended) {
      ends.push_back(core);
    }
  }
}

bool MpiDispatcher::send_tasks(std::vector<Send>& sends, bool& progress) {
  for (Send& s : sends) {
    auto* core = static_cast<MpiExecutorCore*>(s.node->core);
    s.node->stamp(core->id, core->max_payload);
    Buffer& message = s.node->message();
    // The node's entry is the newest in flight to this worker that has no
    // request yet (plan() appended them in this order).
    InFlight* entry = nullptr;
    for (auto it = s.worker->in_flight.rbegin();
         it != s.worker->in_flight.rend(); ++it) {
      if (it->node == s.node) {
        entry = &*it;
        break;
      }
    }
    const int rc =
        MPI_Isend(message.data(), static_cast<int>(message.size()), MPI_BYTE,
                  s.worker->rank, mpi::kTagTask, comm_, &entry->send);
    if (rc != MPI_SUCCESS) {
      sends.clear();
      break_all("MPI_Isend", rc);
      return false;
    }
    progress = true;
  }
  sends.clear();
  return true;
}

bool MpiDispatcher::test_sends(bool& progress, bool& unfinished) {
  unfinished = false;
  for (Worker& w : workers_) {
    for (InFlight& entry : w.in_flight) {
      if (entry.send == MPI_REQUEST_NULL) continue;
      int done = 0;
      const int rc = MPI_Test(&entry.send, &done, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        break_all("MPI_Test", rc);
        return false;
      }
      if (!done) {
        unfinished = true;
        break;  // later sends to this worker wait behind it
      }
      entry.node->release_message();
      progress = true;
    }
  }
  return true;
}

bool MpiDispatcher::receive_replies(bool& progress) {
  for (int i = 0; i < kRepliesPerRound; ++i) {
    int flag = 0;
    MPI_Status status;
    int rc = MPI_Iprobe(MPI_ANY_SOURCE, mpi::kTagReply, comm_, &flag, &status);
    if (rc != MPI_SUCCESS) {
      break_all("MPI_Iprobe", rc);
      return false;
    }
    if (!flag) return true;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    if (recv_.capacity() > kKeepBufferBytes &&
        static_cast<std::size_t>(count) <= kKeepBufferBytes) {
      recv_ = Buffer();
    }
    recv_.clear();
    recv_.append(static_cast<std::size_t>(count));
    const int source = status.MPI_SOURCE;
    rc = MPI_Recv(recv_.data(), count, MPI_BYTE, source, mpi::kTagReply, comm_,
                  MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
      break_all("MPI_Recv", rc);
      return false;
    }
    progress = true;
    ++round_;
    Worker& worker = workers_[static_cast<std::size_t>(source - 1)];
    if (worker.in_flight.empty()) {
      std::fprintf(stderr,
                   "MpiCommExecutor: dropped a reply from rank %d, which has "
                   "no task in flight\n",
                   source);
      continue;
    }
    InFlight entry = worker.in_flight.front();
    worker.in_flight.pop_front();
    if (worker.in_flight.empty()) worker.idle_since = round_;
    if (entry.send != MPI_REQUEST_NULL) {
      rc = MPI_Wait(&entry.send, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) {
        worker.in_flight.push_front(entry);
        break_all("MPI_Wait", rc);
        return false;
      }
    }
    MpiTaskNode* node = entry.node;
    node->release_message();
    auto* core = static_cast<MpiExecutorCore*>(node->core);
    mpi::ReplyHeader header;
    const std::span<const std::byte> bytes = recv_.bytes();
    const MpiReplyContext context{source};
    if (bytes.size() < mpi::kHeaderSize ||
        (std::memcpy(&header, bytes.data(), sizeof(header)),
         header.magic != mpi::kReplyMagic || header.seq != node->seq)) {
      node->fail_claimed(std::make_exception_ptr(CodecError(absl::StrCat(
          "MpiCommExecutor: the reply of rank ", source, " to task ",
          std::string(node->function_name()), " is corrupt (", bytes.size(),
          " bytes; header or sequence number wrong)"))));
    } else {
      // Kept >= 1 once known; a new executor starts unknown (no queueing).
      core->mean_run_ns = core->mean_run_ns == 0
                              ? header.run_ns + 1
                              : (core->mean_run_ns * 7 + header.run_ns) / 8 + 1;
      node->complete(header.kind, bytes.subspan(mpi::kHeaderSize), context);
    }
    completed(core, 1);
  }
  return true;
}

bool MpiDispatcher::announce_ends(std::vector<MpiExecutorCore*>& ends) {
  for (MpiExecutorCore* core : ends) {
    mpi::ControlMessage message;
    message.op = mpi::ControlOp::kEnd;
    message.executor = core->id;
    for (const Worker& w : workers_) {
      const int rc = MPI_Send(&message, sizeof(message), MPI_BYTE, w.rank,
                              mpi::kTagControl, comm_);
      if (rc != MPI_SUCCESS) {
        ends.clear();
        break_all("MPI_Send", rc);
        return false;
      }
    }
    absl::MutexLock lock(&mu_);
    core->ended = true;
  }
  ends.clear();
  return true;
}

void MpiDispatcher::completed(MpiExecutorCore* core, std::size_t n) {
  absl::MutexLock lock(&mu_);
  core->outstanding -= n;
}

std::chrono::microseconds MpiDispatcher::reply_poll_cap() const {
  std::uint64_t shortest = 0;
  for (const MpiExecutorCore* core : executors_) {
    if (core->mean_run_ns != 0 &&
        (shortest == 0 || core->mean_run_ns < shortest)) {
      shortest = core->mean_run_ns;
    }
  }
  if (shortest == 0) return PollBackoff::kMaxNap;
  return std::chrono::microseconds(shortest / 16 / 1000);
}

bool MpiDispatcher::anything_in_flight() const {
  for (const Worker& w : workers_) {
    if (!w.in_flight.empty()) return true;
  }
  return false;
}

void MpiDispatcher::break_all(const char* call, int code) {
  const std::exception_ptr error = std::make_exception_ptr(
      BrokenMpiExecutor(absl::StrCat("MpiCommExecutor is broken: ", call,
                                     " failed: ", MpiErrorString(code))));
  std::vector<MpiTaskNode*> pending;
  {
    absl::MutexLock lock(&mu_);
    broken_ = error;
    for (MpiExecutorCore* core : executors_) {
      pending.insert(pending.end(), core->pending.begin(), core->pending.end());
      core->outstanding -= core->pending.size();
      core->pending.clear();
    }
  }
  for (MpiTaskNode* node : pending) node->fail_and_release(error);
  for (Worker& w : workers_) {
    for (InFlight& entry : w.in_flight) {
      if (entry.send != MPI_REQUEST_NULL) {
        Graveyard()->push_back(std::move(entry.node->message()));
      }
      auto* core = static_cast<MpiExecutorCore*>(entry.node->core);
      entry.node->fail_claimed(error);
      completed(core, 1);
    }
    w.in_flight.clear();
  }
  std::fprintf(stderr, "MpiCommExecutor: %s failed: %s\n", call,
               MpiErrorString(code).c_str());
}

void MpiDispatcher::loop() {
  comm_thread_id_.store(std::this_thread::get_id());
  PollBackoff backoff;
  std::vector<Send> sends;
  std::vector<MpiTaskNode*> cancelled;
  std::vector<MpiExecutorCore*> ends;
  for (;;) {
    bool progress = false;
    bool broken = false;
    bool sending = false;
    std::uint64_t epoch = 0;
    {
      absl::MutexLock lock(&mu_);
      if (stop_ && executors_.empty()) break;
      broken = broken_ != nullptr;
      if (!broken) {
        plan(sends, cancelled, ends);
      } else {
        for (MpiExecutorCore* core : executors_) {
          if (core->shutdown && core->outstanding == 0) core->ended = true;
        }
      }
      epoch = work_epoch_;
    }
    for (MpiTaskNode* node : cancelled) node->cancel_and_release();
    if (!cancelled.empty()) progress = true;
    cancelled.clear();
    if (!broken) {
      if (!send_tasks(sends, progress) || !test_sends(progress, sending) ||
          !receive_replies(progress) || !announce_ends(ends)) {
        continue;  // broken: the next round only answers shutdowns
      }
      if (!ends.empty()) progress = true;
    }
    if (progress) {
      backoff.reset();
      continue;
    }
    if (sending) {
      // A large send over a transport without single-copy moves in
      // fragments, each needing a call into MPI here: keep polling.
      sched_yield();
      continue;
    }
    const bool waiting_for_replies = !broken && anything_in_flight();
    absl::MutexLock lock(&mu_);
    if (work_epoch_ != epoch || (stop_ && executors_.empty())) continue;
    absl::Duration nap = absl::Milliseconds(100);
    if (waiting_for_replies) {
      const std::chrono::microseconds us = backoff.idle(reply_poll_cap());
      if (us.count() == 0) continue;
      nap = absl::Microseconds(us.count());
    } else {
      backoff.reset();
    }
    sleeping_ = true;
    wake_.WaitWithTimeout(&mu_, nap);
    sleeping_ = false;
  }
  comm_thread_id_.store(std::thread::id());
}

}  // namespace internal
}  // namespace concurrent
