// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// Processes. Workers are forked by the fork server (fork_server.h), so the
// pool's process may have any number of threads. Each worker has a slot
// here and a WorkerBlock in the control segment: a request ring (this
// process produces, under mu_) and a response ring (the manager thread
// consumes). A slot is vacant, live, draining (it got max_tasks_per_child
// requests: no more) or stopping.
//
// Dispatch (dispatch_locked, from submit() and from the manager): pending
// tasks go, in order, to an idle live worker (the most recently used, whose
// poll loop is likeliest still to be spinning), else to a newly spawned one
// if a slot is vacant, else to the worker with the least expected work that
// has room for it (has_room_locked). Expected work comes from estimates_, a
// moving average of run times per function, which the worker reports in
// each response: a worker takes a task behind others only if the task's own
// function is known to be short (while under 100 us is queued there), or
// known to be long and the worker has just one task in flight and at least
// as many tasks are pending as there are workers (then it starts the next
// task without waiting for the manager thread, which on busy CPUs waits
// about a scheduler slice for one). Capped by max_tasks_per_child (the
// worker drains). A task is claimed
// (try_set_running, Python's set_running_or_notify_cancel) when it is
// written to a ring: until then cancel() works; afterwards the future is
// running. Frames are published with a seq_cst store of the ring's tail;
// the worker is woken only if it set `sleeping` (a Dekker pair of seq_cst
// operations, not fences, which ThreadSanitizer does not model: publish,
// read the flag; the worker sets the flag, re-reads the ring).
//
// submit() of a call when nothing is pending and a worker is idle encodes
// the arguments straight into that worker's ring (FrameBuffer: the slot,
// then the spill area) under mu_: a large argument is written to shared
// memory once, by its encoder. The idle worker's ring and spill area are
// empty, so the encoder never waits for room (a wait under mu_ could wait
// for a worker that waits for the manager, which waits for mu_). Otherwise
// (and always with replace_dead_workers, whose tasks keep their arguments
// to be sent again) the arguments are encoded into the task and copied into
// a ring when dispatched.
//
// The manager thread completes futures from responses (in ring order, so a
// response matches the oldest request in flight to that worker; its seq is
// checked), re-dispatches, and watches the workers: each worker's pidfd is in
// the manager's poll() set beside the pool's eventfd (the response doorbell a
// worker writes when it publishes and sees `manager_sleeping`), so a death
// wakes the manager at once, without the worker's help. While it is busy the
// manager also polls the pidfds every millisecond. Before it parks it polls
// the response rings for up to 50 us (only while tasks are in flight or
// right after a burst of responses, and only if it may use several CPUs).
// Its poll() is bounded (1 s); nothing here waits without a bound on another
// process.
//
// Waiters (await_response): a thread about to park in result() on the only
// task in flight, a short one, polls that worker's response ring itself for
// up to 50 us and completes its own future when its response is at the
// front (with the slot's `consume` mutex, which the manager's drain() takes
// too; anything else at the front is left to the manager). While it polls,
// it counts itself in the block's waiters_polling, so that the worker does
// not ring the manager (a Dekker pair with the ring's tail; a poller that
// stops rings the manager itself if a response is left), and the manager
// does not spin (helpers_). A round trip then involves two threads, not
// three. Waiters find the pool through LivePools(): the destructor leaves it
// first and waits for the waiters inside to leave.
//
// A worker's exit: the manager first completes what the worker published,
// then reads its wait status from the fork server (which reaped it: no
// zombie), then decides. Retiring (max_tasks_per_child reached, every answer
// read) and stopped (shutdown) exits free the slot; a replacement is spawned
// when there is pending work (gh-115634: the decision uses this pool's own
// counts, never a semaphore; gh-152967: it does not depend on the user's
// object either, and shutdown(wait = false) leaves the manager running until
// the work is done). An initializer failure breaks the pool with its
// message. Any other exit is a death: the pool is broken, every pending and
// in-flight future fails with BrokenProcessPool naming the worker's pid, how
// it ended and the function it was running, and the other workers are
// killed, as CPython does. With replace_dead_workers, only the task the
// worker had started fails; requests it never started (seq > started_seq)
// are sent again to a new worker; three workers in a row that die before
// running a task break the pool.
//
// Shutdown: the manager ends when the pool is shut down and nothing is
// pending or in flight: it sets every worker's `stop`, wakes them, waits for
// their exit (bounded; then SIGKILL) and for the server's status (they are
// reaped), and signals manager_done_.
//
// Locks: mu_ guards the slots, pending_ and the flags. Futures are completed
// outside it (their callbacks run user code): Completions collects them.
// Shared memory needs no lock: each ring has one producer and one consumer.

#include "ipc/internal/pool_core.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <system_error>

#include "absl/base/attributes.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "futures/errors.h"
#include "futures/internal/cpu.h"
#include "ipc/internal/fork_server.h"
#include "ipc/internal/futex.h"
#include "ipc/internal/worker.h"

namespace concurrent {
namespace internal {
namespace {

constexpr std::uint64_t kMinSpillArea = std::uint64_t{1} << 21;  // 2 MiB
constexpr std::uint64_t kQueueTargetNs = 100'000;  // work queued per worker
// Requests in flight to one worker, at most. Each is answered in the
// worker's response ring, which must also hold the response the manager is
// still reading: drain() takes a task off `in_flight` before it releases the
// task's response slot (it completes the future, running its callbacks, in
// between), and a submit in that gap may send another request. One slot is
// kept for that response, so a worker always finds a free response slot.
constexpr std::uint64_t kMaxDepth = kSlotCount - 1;
constexpr auto kManagerSpin = std::chrono::microseconds(50);
constexpr auto kBusyEventCheck = std::chrono::milliseconds(1);
constexpr int kParkTimeoutMs = 1000;
constexpr int kStopTimeoutMs = 10'000;
constexpr int kStatusTimeoutMs = 10'000;
constexpr int kMaxStartFailures = 3;

std::atomic<int> g_pool_counter{0};

// A waiter polls a response ring for its own reply for up to this long, and
// only for a task expected to run no longer.
constexpr auto kAwaitSpin = std::chrono::microseconds(50);
constexpr std::uint64_t kAwaitSpinNs = 50'000;

// The pools alive in this process: a waiter enters a pool only through it
// (its future may outlive the pool). g_pools_pid: the process they belong
// to (a forked child must not take g_pools_mu, which another thread may
// have held at the fork, nor read the pools' rings).
ABSL_CONST_INIT absl::Mutex g_pools_mu(absl::kConstInit);
std::atomic<pid_t> g_pools_pid{0};

// The pool whose future this thread is completing (await_response): its
// done callbacks run here, and must not destroy the pool.
thread_local const PoolCore* t_completing = nullptr;
absl::flat_hash_set<const void*>& LivePools()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(g_pools_mu) {
  static auto* pools = new absl::flat_hash_set<const void*>();
  return *pools;
}

int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// Reads the worker's wait status that the fork server writes once it has
// reaped it. Bounded.
WorkerExit ReadExit(int status_fd, int timeout_ms) {
  WorkerExit exit{-1, 0};
  pollfd p{status_fd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 1) {
    WorkerExit got;
    ssize_t n;
    do {
      n = read(status_fd, &got, sizeof(got));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(got)) exit = got;
  }
  return exit;
}

std::string Describe(pid_t pid, const WorkerExit& exit) {
  std::string text = absl::StrCat("worker pid ", pid, " ", DescribeExit(exit));
  if (exit.code == CLD_EXITED) {
    if (const char* meaning = DescribeWorkerExitStatus(exit.status)) {
      absl::StrAppend(&text, " (", meaning, ")");
    }
  }
  return text;
}

}  // namespace

void PoolCore::Completions::run() noexcept {
  for (auto& [task, error] : fail_claimed) task->fail_claimed(error);
  for (auto& [task, error] : fail_unclaimed) task->fail_and_release(error);
  for (RemoteTaskNode* task : cancel) task->cancel_and_release();
  fail_claimed.clear();
  fail_unclaimed.clear();
  cancel.clear();
}

PoolCore::PoolCore(PoolConfig config)
    : config_(std::move(config)), owner_pid_(getpid()) {
  const std::uint64_t init_size = config_.has_initializer
                                      ? sizeof(InitializerBlock) +
                                            config_.initializer_name.size() +
                                            config_.initializer_args.size()
                                      : 0;
  geometry_ = {static_cast<std::uint32_t>(config_.max_workers), init_size,
               RoundUp(std::max(config_.max_payload_bytes, kMinSpillArea),
                       kMinSpillArea)};
  const std::string name = absl::StrCat("concurrent-pool-", owner_pid_, "-",
                                        g_pool_counter.fetch_add(1));
  control_fd_ = CreateSealedMemfd(name, geometry_.segment_size());
  spill_fd_ =
      CreateSealedMemfd(name + "-spill", geometry_.spill_segment_size());
  event_fd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event_fd_.valid()) {
    throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  control_ = MappedWindow(control_fd_.get(), 0,
                          static_cast<std::size_t>(geometry_.segment_size()));
  header_ = new (control_.data()) SegmentHeader();
  SegmentHeader& h = *header_;
  h.magic = kSegmentMagic;
  h.version = kLayoutVersion;
  h.header_size = sizeof(SegmentHeader);
  h.segment_size = geometry_.segment_size();
  h.worker_count = geometry_.worker_count;
  h.worker_block_size = sizeof(WorkerBlock);
  h.worker_blocks_offset = geometry_.worker_blocks_offset();
  h.slot_size = kSlotSize;
  h.slot_count = kSlotCount;
  h.spill_area_size = geometry_.spill_area_size;
  h.spill_segment_size = geometry_.spill_segment_size();
  h.owner_pid = static_cast<std::uint32_t>(owner_pid_);
  h.max_tasks_per_child =
      static_cast<std::uint32_t>(std::max(0, config_.max_tasks_per_child));
  if (config_.worker_gil.has_value()) {
    h.gil_enabled = 1;
    h.gil_policy = static_cast<std::uint32_t>(config_.worker_gil->policy);
    h.gil_switch_interval_ns =
        absl::ToInt64Nanoseconds(config_.worker_gil->switch_interval);
    h.gil_check_interval =
        static_cast<std::uint32_t>(config_.worker_gil->check_interval);
  }
  if (config_.has_initializer) {
    h.initializer_offset = geometry_.initializer_offset();
    h.initializer_size = init_size;
    std::byte* p = control_.data() + h.initializer_offset;
    InitializerBlock block{};
    block.name_length =
        static_cast<std::uint32_t>(config_.initializer_name.size());
    block.args_length = config_.initializer_args.size();
    std::memcpy(p, &block, sizeof(block));
    p += sizeof(block);
    std::memcpy(p, config_.initializer_name.data(),
                config_.initializer_name.size());
    p += config_.initializer_name.size();
    if (config_.initializer_args.size() != 0) {
      std::memcpy(p, config_.initializer_args.data(),
                  config_.initializer_args.size());
    }
  }
  absl::MutexLock lock(&mu_);
  slots_.resize(static_cast<std::size_t>(config_.max_workers));
  manager_slots_ = std::make_unique<ManagerSlot[]>(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& slot = slots_[i];
    slot.block = new (control_.data() + geometry_.worker_blocks_offset() +
                      i * geometry_.worker_stride()) WorkerBlock();
    blocks_.push_back(slot.block);
    slot.requests = FrameWriter(
        &slot.block->request, slot.block->request_slots,
        {spill_fd_.get(), geometry_.request_area(static_cast<std::uint32_t>(i)),
         geometry_.spill_area_size});
  }
  absl::MutexLock pools_lock(&g_pools_mu);
  LivePools().insert(this);
  g_pools_pid.store(owner_pid_, std::memory_order_relaxed);
}

PoolCore::~PoolCore() {
  if (getpid() != owner_pid_) {
    // A fork of the pool's process (the program forked): the workers and
    // the manager are not ours. Leave them alone; leak the thread object.
    (void)manager_.release();
    return;
  }
  if (t_completing == this) {
    std::fprintf(stderr,
                 "concurrent: a ProcessPoolExecutor was destroyed by a done "
                 "callback of one of its futures, run by the thread that "
                 "waited for it\n");
    std::abort();
  }
  {
    absl::MutexLock lock(&g_pools_mu);
    LivePools().erase(this);
  }
  // Waiters inside await_response() leave within about kAwaitSpin.
  while (helpers_.load(std::memory_order_acquire) != 0) sched_yield();
  shutdown(/*wait=*/true, /*cancel_futures=*/false);
  if (manager_ != nullptr && manager_->joinable()) {
    if (std::this_thread::get_id() == manager_->get_id()) {
      std::fprintf(stderr,
                   "concurrent: a ProcessPoolExecutor was destroyed by a done "
                   "callback running on its own manager thread\n");
      std::abort();
    }
    manager_->join();
  }
}

// --- Waiters -----------------------------------------------------------------

bool PoolCore::AwaitResponse(const void* pool, RemoteTaskNode& task,
                             const Deadline& deadline) noexcept {
  if (pool == nullptr || !MayRunOnSeveralCpus() ||
      g_pools_pid.load(std::memory_order_relaxed) != getpid()) {
    return false;
  }
  PoolCore* core;
  {
    absl::MutexLock lock(&g_pools_mu);
    if (!LivePools().contains(pool)) return false;
    core = const_cast<PoolCore*>(static_cast<const PoolCore*>(pool));
    core->helpers_.fetch_add(1, std::memory_order_relaxed);
  }
  bool waited = false;
  try {
    waited = core->await_response(task, deadline);
  } catch (...) {
    // (Only allocation can fail here; the manager completes the future.)
  }
  core->helpers_.fetch_sub(1, std::memory_order_release);
  return waited;
}

bool PoolCore::await_response(RemoteTaskNode& task, const Deadline& deadline) {
  LiveSlot live{};
  {
    absl::MutexLock lock(&mu_);
    // Not sent, or not known to be short, or not alone (the manager thread
    // reads a stream of responses better: it spins while tasks are in
    // flight, and we would keep it from spinning).
    if (task.worker < 0 || task.estimate->average_ns == 0 ||
        task.estimate->average_ns > kAwaitSpinNs || !pending_.empty()) {
      return false;
    }
    std::size_t in_flight = 0;
    for (const Slot& slot : slots_) in_flight += slot.in_flight.size();
    const Slot& slot = slots_[task.worker];
    if (in_flight != 1 || slot.phase == Phase::kVacant ||
        slot.generation != task.generation) {
      return false;
    }
    live = {task.worker, -1, task.generation};
  }
  WorkerBlock* block = blocks_[live.index];
  const RingControl& ring = block->response;
  // While we poll, the worker does not ring the manager after a response;
  // when we stop, a response we left is the manager's (see layout.h).
  block->waiters_polling.fetch_add(1, std::memory_order_seq_cst);
  absl::Cleanup stop_polling = [&] {
    block->waiters_polling.fetch_sub(1, std::memory_order_seq_cst);
    if (Backlog(ring) != 0 && ClaimManagerWake(*header_)) wake_manager();
  };
  const auto until = std::chrono::steady_clock::now() + kAwaitSpin;
  for (int i = 0;; ++i) {
    if (task.state().done()) return true;
    if (Backlog(ring) != 0) {
      OwnResponse response;
      if (!take_response(live, &task, &response)) {
        return true;  // not ours at the front (or busy): the manager's
      }
      // Outside the ring's lock: done callbacks may run here.
      t_completing = this;
      task.complete(
          response.kind,
          std::span<const std::byte>(response.payload.data(), response.size),
          {response.pid});
      t_completing = nullptr;
      // The worker has room again; and the manager, if the pool is shut
      // down, may be waiting for this last response.
      Completions done;
      bool wake = false;
      {
        absl::MutexLock state_lock(&mu_);
        if (!pending_.empty()) dispatch_locked(done);
        wake = shutdown_;
      }
      done.run();
      if (wake) wake_manager();
      return true;
    }
    if (i < 256) {
      CpuRelax();
    } else {
      sched_yield();
    }
    if ((i & 15) == 15 &&
        (std::chrono::steady_clock::now() > until || deadline.passed())) {
      return true;
    }
  }
}

RemoteTaskNode* PoolCore::answered_locked(Slot& slot, std::uint64_t run_ns) {
  const InFlight& front = slot.in_flight.front();
  RemoteTaskNode* task = front.task;
  slot.queued_ns -= front.queued_ns;
  if (run_ns != 0) {
    // Average over about the last 8 runs.
    std::uint64_t& average = task->estimate->average_ns;
    average = average == 0
                  ? run_ns
                  : std::max<std::uint64_t>((average * 7 + run_ns) / 8, 1);
  }
  slot.in_flight.pop_front();
  return task;
}

bool PoolCore::take_response(const LiveSlot& live, RemoteTaskNode* task,
                             OwnResponse* out) {
  ManagerSlot& m = manager_slots_[live.index];
  std::unique_lock<std::mutex> consume(m.consume, std::try_to_lock);
  // (The manager must have set up its reader for this worker.)
  if (!consume.owns_lock() || m.generation != live.generation) return false;
  Frame frame;
  std::string why;
  FrameReader::Status status;
  try {
    status = m.responses.peek(&frame, &why);
  } catch (const std::exception&) {
    return false;  // (the manager reports it)
  }
  // Only an inline response (copied out, so that the future is completed
  // after the ring and its lock are released).
  if (status != FrameReader::Status::kFrame || frame.spill_end != 0 ||
      frame.payload.size() > out->payload.size()) {
    return false;
  }
  {
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[live.index];
    if (slot.generation != live.generation || slot.in_flight.empty() ||
        slot.in_flight.front().task != task ||
        slot.in_flight.front().seq != frame.seq) {
      return false;  // not ours: the manager's
    }
    answered_locked(slot, frame.run_ns);
    out->pid = slot.pid;
  }
  out->kind = frame.kind;
  out->size = frame.payload.size();
  std::memcpy(out->payload.data(), frame.payload.data(), out->size);
  m.responses.pop(frame);
  return true;
}

// --- Dispatch ----------------------------------------------------------------

RunEstimate& PoolCore::estimate_locked(RemoteTaskNode& task) {
  if (task.estimate != nullptr) return *task.estimate;
  auto& estimates = estimates_[task.kind() == FrameKind::kChunk ? 1 : 0];
  const std::string_view name = task.function_name();
  // (Debian's Abseil has its own string_view.)
  auto it = estimates.find(absl::string_view(name.data(), name.size()));
  if (it == estimates.end()) {
    it = estimates.emplace(std::string(name), std::make_unique<RunEstimate>())
             .first;
  }
  task.estimate = it->second.get();
  return *task.estimate;
}

bool PoolCore::has_room_locked(const Slot& slot,
                               std::uint64_t estimate_ns) const {
  // (A worker that got max_tasks_per_child requests is draining.)
  if (slot.phase != Phase::kLive) return false;
  if (slot.in_flight.empty()) return true;
  // Queue behind other requests (the worker then goes from task to task
  // without waiting for us) only a task whose own function's duration is
  // known: a short one while the work already queued there is short; a long
  // one only as the worker's next task, and only while enough tasks are
  // pending for every worker, so that a worker that frees up early still
  // finds work here. Otherwise the task waits in pending_, where cancel()
  // still works and whichever worker frees up first takes it.
  if (estimate_ns == 0) return false;
  if (estimate_ns < kQueueTargetNs) {
    return slot.queued_ns < kQueueTargetNs && slot.in_flight.size() < kMaxDepth;
  }
  return slot.in_flight.size() == 1 && pending_.size() >= live_workers_locked();
}

std::size_t PoolCore::live_workers_locked() const {
  std::size_t live = 0;
  for (const Slot& slot : slots_) live += slot.phase == Phase::kLive ? 1 : 0;
  return live;
}

int PoolCore::pick_idle_locked(Completions& done) {
  int idle = -1;
  int vacant = -1;
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
    Slot& slot = slots_[i];
    if (slot.phase == Phase::kVacant) {
      if (vacant < 0) vacant = i;
    } else if (slot.in_flight.empty() && has_room_locked(slot, 0) &&
               (idle < 0 || slot.last_use > slots_[idle].last_use)) {
      idle = i;
    }
  }
  if (idle >= 0) return idle;
  if (vacant >= 0 && !broken_.has_value() && signalled_ == 0) {
    return spawn_locked(vacant, done) ? vacant : -1;
  }
  return -1;
}

int PoolCore::pick_worker_locked(std::uint64_t estimate_ns, Completions& done) {
  const int idle = pick_idle_locked(done);
  if (idle >= 0 || broken_.has_value()) return idle;
  int roomy = -1;
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
    const Slot& slot = slots_[i];
    if (has_room_locked(slot, estimate_ns) &&
        (roomy < 0 || slot.queued_ns < slots_[roomy].queued_ns)) {
      roomy = i;
    }
  }
  return roomy;
}

void PoolCore::sent_locked(Slot& slot, RemoteTaskNode* task) {
  task->worker = static_cast<int>(&slot - slots_.data());
  task->generation = slot.generation;
  const std::uint64_t average = estimate_locked(*task).average_ns;
  const std::uint64_t queued_ns = average != 0 ? average : kQueueTargetNs;
  slot.in_flight.push_back({task, task->seq, queued_ns});
  slot.queued_ns += queued_ns;
  ++slot.sent;
  slot.last_use = ++tick_;
  slot.woken = true;
  if (config_.max_tasks_per_child > 0 &&
      slot.sent >= static_cast<std::uint64_t>(config_.max_tasks_per_child)) {
    slot.phase = Phase::kDraining;
  }
}

bool PoolCore::send_direct_locked(int w, RemoteTaskNode* task,
                                  absl::FunctionRef<void(Buffer&)> encode_args,
                                  Completions& done) {
  Slot& slot = slots_[w];
  // The worker has nothing in flight: its ring and spill area are free, so
  // the encoder never has to wait for room (which, under mu_, could wait for
  // a manager that waits for mu_).
  FrameBuffer frame;
  if (!frame.start(
          slot.requests,
          [](void*) {
            throw std::logic_error(
                "ProcessPoolExecutor: no spill room in an "
                "idle worker's ring");
          },
          nullptr)) {
    return false;
  }
  const std::string_view name = task->function_name();
  const auto length = static_cast<std::uint16_t>(name.size());
  frame.append(&length, sizeof(length));
  frame.append(name.data(), name.size());
  try {
    encode_args(frame);
  } catch (const CodecError&) {
    if (!frame.too_large()) throw;
    // Too large for the spill area: that future fails, as when a queued
    // task turns out too large.
    if (!task->state().try_set_running()) {
      done.cancel.push_back(task);  // (nobody could cancel it yet)
      return true;
    }
    task->claimed = true;
    done.fail_claimed.emplace_back(task, std::current_exception());
    return true;
  }
  if (!task->state().try_set_running()) {
    done.cancel.push_back(task);  // (nobody could cancel it yet)
    return true;
  }
  task->claimed = true;
  task->seq = slot.next_seq++;
  frame.commit(task->seq, task->kind());
  sent_locked(slot, task);
  return true;
}

void PoolCore::reset_block(int index) {
  WorkerBlock* block = slots_[index].block;
  // Everything before the slots; the slots are rewritten before use, and
  // waiters_polling, after them, counts this process's threads, whichever
  // worker the slot has. (The block's objects live on: zero bytes.)
  std::memset(static_cast<void*>(block), 0,
              offsetof(WorkerBlock, request_slots));
}

bool PoolCore::spawn_locked(int index, Completions& done) {
  Slot& slot = slots_[index];
  reset_block(index);
  slot.requests.reset();
  slot.corrupt.clear();
  slot.in_flight.clear();
  slot.queued_ns = 0;
  slot.sent = 0;
  ++slot.generation;
  SpawnedWorker worker;
  try {
    worker = SpawnWorker(control_fd_.get(), spill_fd_.get(), event_fd_.get(),
                         static_cast<std::uint32_t>(index));
  } catch (const std::exception& e) {
    break_locked(e.what(), done);
    return false;
  }
  slot.phase = Phase::kLive;
  slot.pid = worker.pid;
  slot.pidfd = std::move(worker.pidfd);
  slot.status_fd = std::move(worker.status_fd);
  slot.block->state.store(static_cast<std::uint32_t>(WorkerState::kStarting),
                          std::memory_order_relaxed);
  // The manager must add the new pidfd to its poll() set.
  wake_manager();
  return true;
}

void PoolCore::dispatch_locked(Completions& done) {
  std::uint64_t excluded = 0;  // workers whose spill area is full this round
  while (!pending_.empty()) {
    RemoteTaskNode* task = pending_.front();
    if (!task->claimed && task->state().done()) {  // cancelled while queued
      pending_.pop_front();
      done.cancel.push_back(task);
      continue;
    }
    const int w = pick_worker_locked(estimate_locked(*task).average_ns, done);
    if (w < 0 || pending_.empty()) break;  // (a failed spawn broke the pool)
    if (w < 64 && (excluded & (std::uint64_t{1} << w)) != 0) break;
    Slot& slot = slots_[w];
    std::byte* dst = nullptr;
    FrameWriter::Status status;
    std::exception_ptr map_error;
    try {
      status = slot.requests.begin(task->payload_size(), &dst);
    } catch (const std::exception& e) {
      // Mapping more of the spill area failed (address space, memory).
      status = FrameWriter::Status::kTooLarge;
      map_error = MakeFrameError(
          absl::StrCat("ProcessPoolExecutor: cannot map shared memory for '",
                       std::string(task->function_name()), "': ", e.what()));
    }
    if (status == FrameWriter::Status::kFull) {
      if (w < 64) excluded |= std::uint64_t{1} << w;
      break;
    }
    pending_.pop_front();
    if (!task->claimed) {
      if (!task->state().try_set_running()) {
        done.cancel.push_back(task);
        continue;
      }
      task->claimed = true;
    }
    if (map_error != nullptr) {
      done.fail_claimed.emplace_back(task, map_error);
      continue;
    }
    if (status == FrameWriter::Status::kTooLarge) {
      done.fail_claimed.emplace_back(
          task, MakeFrameError(absl::StrCat(
                    "ProcessPoolExecutor: the arguments of '",
                    std::string(task->function_name()), "' take ",
                    task->payload_size(),
                    " bytes, more than the pool's max_payload_bytes (",
                    geometry_.spill_area_size, ")")));
      continue;
    }
    task->write_payload(dst);
    task->seq = slot.next_seq++;
    slot.requests.commit(task->seq, task->kind());
    if (!config_.replace_dead_workers) task->release_payload();
    sent_locked(slot, task);
  }
  for (Slot& slot : slots_) {
    if (slot.woken) {
      slot.woken = false;
      wake_worker(slot);
    }
  }
}

void PoolCore::wake_worker(Slot& slot) {
  // After the seq_cst store of the request ring's tail (see channel.cc).
  if (slot.block->sleeping.load(std::memory_order_seq_cst) != 0) {
    slot.block->doorbell.fetch_add(1, std::memory_order_release);
    SharedFutexWake(&slot.block->doorbell, 1);
  }
}

void PoolCore::wake_manager() {
  const std::uint64_t one = 1;
  ssize_t ignored = write(event_fd_.get(), &one, sizeof(one));
  (void)ignored;
}

void PoolCore::start_manager_locked() {
  if (manager_started_) return;
  manager_ = std::make_unique<std::thread>([this] { manager_main(); });
  manager_started_ = true;
}

void PoolCore::check_owner() const {
  // Before mu_: a fork may have copied it locked by a thread it lacks.
  if (getpid() != owner_pid_) {
    throw BrokenProcessPool(
        absl::StrCat("ProcessPoolExecutor: this pool belongs to process ",
                     owner_pid_, "; a forked child cannot use it"));
  }
}

void PoolCore::check_open_locked() const {
  if (broken_.has_value()) throw BrokenProcessPool(*broken_);
  if (shutdown_) {
    throw ExecutorShutdownError(
        "ProcessPoolExecutor: cannot schedule new futures after shutdown");
  }
}

void PoolCore::submit(RemoteTaskNode* task, std::string_view name,
                      absl::FunctionRef<void(Buffer&)> encode_args) {
  check_owner();
  Completions done;
  {
    absl::MutexLock lock(&mu_);
    check_open_locked();
    task->owner = this;
    task->set_function(name);
    // Straight into an idle worker's ring when nothing waits before it (and
    // when the task never has to be sent again: a replaced worker's tasks
    // are resent from their own copy of the arguments).
    const int w = pending_.empty() && !config_.replace_dead_workers
                      ? pick_idle_locked(done)
                      : -1;
    if (w < 0 || !send_direct_locked(w, task, encode_args, done)) {
      encode_args(task->args());
      if (broken_.has_value()) {
        // Starting a worker just failed and broke the pool.
        done.fail_unclaimed.emplace_back(task, broken_error_);
      } else {
        pending_.push_back(task);
        dispatch_locked(done);
      }
    } else {
      for (Slot& slot : slots_) {
        if (slot.woken) {
          slot.woken = false;
          wake_worker(slot);
        }
      }
    }
    try {
      start_manager_locked();
    } catch (const std::system_error& e) {
      break_locked(absl::StrCat("ProcessPoolExecutor: cannot start its "
                                "manager thread: ",
                                e.what()),
                   done);
    }
  }
  done.run();
}

void PoolCore::submit(RemoteTaskNode* task) {
  check_owner();
  Completions done;
  {
    absl::MutexLock lock(&mu_);
    check_open_locked();
    task->owner = this;
    pending_.push_back(task);
    // Spawning first: a lazily started fork server needs this process to
    // be single-threaded, which the manager thread would end.
    dispatch_locked(done);
    try {
      start_manager_locked();
    } catch (const std::system_error& e) {
      break_locked(absl::StrCat("ProcessPoolExecutor: cannot start its "
                                "manager thread: ",
                                e.what()),
                   done);
    }
  }
  done.run();
}

void PoolCore::cancel_pending_locked(Completions& done) {
  std::deque<RemoteTaskNode*> keep;
  for (RemoteTaskNode* task : pending_) {
    if (task->claimed) {
      keep.push_back(task);  // started once (its worker died): not cancellable
    } else {
      done.cancel.push_back(task);
    }
  }
  pending_.swap(keep);
}

void PoolCore::shutdown(bool wait, bool cancel_futures) {
  if (getpid() != owner_pid_) return;
  Completions done;
  bool started;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) cancel_pending_locked(done);
    started = manager_started_;
  }
  done.run();
  if (!started) return;
  wake_manager();
  if (wait && std::this_thread::get_id() != manager_id_.load()) {
    manager_done_.WaitForNotification();
  }
}

void PoolCore::signal_workers(int sig) {
  if (getpid() != owner_pid_) return;
  Completions done;
  bool started;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    cancel_pending_locked(done);
    signalled_ = sig;
    if (!broken_.has_value()) {
      broken_ = absl::StrCat(
          "ProcessPoolExecutor: the workers were stopped by ",
          sig == SIGKILL ? "kill_workers()" : "terminate_workers()");
      broken_error_ = std::make_exception_ptr(BrokenProcessPool(*broken_));
    }
    for (Slot& slot : slots_) {
      if (slot.phase != Phase::kVacant) PidfdSendSignal(slot.pidfd.get(), sig);
    }
    started = manager_started_;
  }
  done.run();
  if (started) wake_manager();
}

void PoolCore::break_locked(const std::string& reason, Completions& done) {
  if (broken_.has_value()) return;
  broken_ = reason;
  shutdown_ = true;
  broken_error_ = std::make_exception_ptr(BrokenProcessPool(reason));
  for (Slot& slot : slots_) {
    fail_in_flight_locked(slot, broken_error_, /*requeue_unstarted=*/false,
                          done);
    if (slot.phase != Phase::kVacant) {
      PidfdSendSignal(slot.pidfd.get(), SIGKILL);
    }
  }
  for (RemoteTaskNode* task : pending_) {
    if (task->claimed) {
      done.fail_claimed.emplace_back(task, broken_error_);
    } else {
      done.fail_unclaimed.emplace_back(task, broken_error_);
    }
  }
  pending_.clear();
}

void PoolCore::fail_in_flight_locked(Slot& slot, std::exception_ptr error,
                                     bool requeue_unstarted,
                                     Completions& done) {
  const std::uint64_t started =
      slot.block->started_seq.load(std::memory_order_acquire);
  std::deque<RemoteTaskNode*> requeue;
  for (const InFlight& f : slot.in_flight) {
    if (requeue_unstarted && f.seq > started) {
      requeue.push_back(f.task);
    } else {
      done.fail_claimed.emplace_back(f.task, error);
    }
  }
  slot.in_flight.clear();
  slot.queued_ns = 0;
  pending_.insert(pending_.begin(), requeue.begin(), requeue.end());
}

void PoolCore::vacate_locked(Slot& slot) {
  slot.phase = Phase::kVacant;
  slot.pid = 0;
  slot.pidfd.reset();
  slot.status_fd.reset();
}

bool PoolCore::finished_locked() const {
  if (!shutdown_ || !pending_.empty()) return false;
  for (const Slot& slot : slots_) {
    if (!slot.in_flight.empty()) return false;
  }
  return true;
}

std::vector<pid_t> PoolCore::worker_pids() const {
  absl::MutexLock lock(&mu_);
  std::vector<pid_t> pids;
  for (const Slot& slot : slots_) {
    if (slot.phase != Phase::kVacant) pids.push_back(slot.pid);
  }
  return pids;
}

std::optional<std::string> PoolCore::broken_reason() const {
  absl::MutexLock lock(&mu_);
  return broken_;
}

// --- The manager thread --------------------------------------------------

std::vector<PoolCore::LiveSlot> PoolCore::live_slots() {
  std::vector<LiveSlot> live;
  live_slots(live);
  return live;
}

void PoolCore::live_slots(std::vector<LiveSlot>& live) {
  live.clear();
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
    const Slot& slot = slots_[i];
    if (slot.phase != Phase::kVacant) {
      live.push_back({i, slot.pidfd.get(), slot.generation});
    }
  }
}

PoolCore::ManagerSlot& PoolCore::manager_slot(const LiveSlot& live) {
  ManagerSlot& m = manager_slots_[live.index];
  if (m.generation != live.generation) {
    // A new worker in this slot: read its ring from the start.
    WorkerBlock* block = blocks_[live.index];
    m.generation = live.generation;
    m.responses = FrameReader(
        &block->response, block->response_slots,
        {spill_fd_.get(),
         geometry_.response_area(static_cast<std::uint32_t>(live.index)),
         geometry_.spill_area_size});
  }
  return m;
}

int PoolCore::drain(const LiveSlot& live) {
  std::lock_guard<std::mutex> lock(manager_slots_[live.index].consume);
  ManagerSlot& m = manager_slot(live);
  int completed = 0;
  bool released_spill = false;
  for (;;) {
    Frame frame;
    std::string why;
    FrameReader::Status status;
    try {
      status = m.responses.peek(&frame, &why);
    } catch (const std::exception& e) {
      // Mapping the spill range failed: we cannot read this worker's
      // responses, so it is as good as corrupt.
      why = absl::StrCat("cannot map its response: ", e.what());
      status = FrameReader::Status::kCorrupt;
    }
    if (status == FrameReader::Status::kEmpty) break;
    RemoteTaskNode* task = nullptr;
    pid_t pid = 0;
    {
      absl::MutexLock lock(&mu_);
      Slot& slot = slots_[live.index];
      pid = slot.pid;
      if (status == FrameReader::Status::kFrame && frame.seq == 0 &&
          frame.kind != FrameKind::kChunkResult) {
        // The initializer's failure (frame 0).
        slot.init_failure = DescribeFailure(frame.kind, frame.payload);
        m.responses.pop(frame);
        continue;
      }
      if (status == FrameReader::Status::kCorrupt || slot.in_flight.empty() ||
          slot.in_flight.front().seq != frame.seq) {
        if (status != FrameReader::Status::kCorrupt) {
          why = slot.in_flight.empty()
                    ? absl::StrCat("response ", frame.seq,
                                   " arrived with no request in flight")
                    : absl::StrCat("response ", frame.seq,
                                   " arrived where response ",
                                   slot.in_flight.front().seq, " was expected");
        }
        if (slot.corrupt.empty()) {
          slot.corrupt = why;
          PidfdSendSignal(slot.pidfd.get(), SIGKILL);
        }
        break;
      }
      task = answered_locked(
          slot, status == FrameReader::Status::kFrame ? frame.run_ns : 0);
    }
    if (status == FrameReader::Status::kBadFrame) {
      task->fail_claimed(MakeFrameError(
          absl::StrCat("ProcessPoolExecutor: the response of '",
                       std::string(task->function_name()), "' from worker pid ",
                       pid, " is corrupt: ", why)));
    } else {
      task->complete(frame.kind, frame.payload, {pid});
      released_spill |= frame.spill_end != 0;
    }
    m.responses.pop(frame);
    ++completed;
  }
  if (released_spill) {
    WorkerBlock* block = blocks_[live.index];
    // After the seq_cst store of spill_free in pop().
    if (block->spill_waiting.load(std::memory_order_seq_cst) != 0) {
      block->doorbell.fetch_add(1, std::memory_order_release);
      SharedFutexWake(&block->doorbell, 1);
    }
  }
  return completed;
}

void PoolCore::handle_exit(const LiveSlot& live) {
  drain(live);  // what it published before it ended is valid
  int status_fd;
  {
    absl::MutexLock lock(&mu_);
    status_fd = slots_[live.index].status_fd.get();
  }
  const WorkerExit exit = ReadExit(status_fd, kStatusTimeoutMs);
  Completions done;
  {
    absl::MutexLock lock(&mu_);
    Slot& slot = slots_[live.index];
    const auto state = static_cast<WorkerState>(
        slot.block->state.load(std::memory_order_acquire));
    const bool clean = exit.code == CLD_EXITED && exit.status == 0;
    const std::string what = Describe(slot.pid, exit);
    if (clean && slot.in_flight.empty() &&
        (state == WorkerState::kRetiring || state == WorkerState::kStopped)) {
      start_failures_ = 0;
      vacate_locked(slot);
    } else if (!slot.init_failure.empty() ||
               state == WorkerState::kInitFailed) {
      break_locked(
          absl::StrCat(
              "ProcessPoolExecutor: the initializer failed in ", what, ": ",
              slot.init_failure.empty() ? "(no message)" : slot.init_failure),
          done);
      vacate_locked(slot);
    } else if (signalled_ != 0) {
      fail_in_flight_locked(
          slot,
          std::make_exception_ptr(BrokenProcessPool(absl::StrCat(
              "A process in the process pool was terminated abruptly while "
              "the future was running or pending: ",
              what, ", stopped by ",
              signalled_ == SIGKILL ? "kill_workers()"
                                    : "terminate_workers()"))),
          /*requeue_unstarted=*/false, done);
      vacate_locked(slot);
    } else {
      const std::uint64_t started =
          slot.block->started_seq.load(std::memory_order_acquire);
      std::string running;
      for (const InFlight& f : slot.in_flight) {
        if (f.seq <= started) {
          running = absl::StrCat(" while running '",
                                 std::string(f.task->function_name()), "'");
          break;
        }
      }
      std::string reason = absl::StrCat(
          "A process in the process pool was terminated abruptly while the "
          "future was running or pending: ",
          what, running);
      if (!slot.corrupt.empty()) {
        absl::StrAppend(&reason, " (killed by the pool: ", slot.corrupt, ")");
      }
      if (state == WorkerState::kStarting && started == 0) {
        ++start_failures_;
      } else {
        start_failures_ = 0;
      }
      if (config_.replace_dead_workers && !broken_.has_value() &&
          start_failures_ < kMaxStartFailures) {
        fail_in_flight_locked(
            slot,
            std::make_exception_ptr(BrokenProcessPool(
                absl::StrCat(reason, "; the pool replaced the worker"))),
            /*requeue_unstarted=*/true, done);
        vacate_locked(slot);
      } else {
        if (start_failures_ >= kMaxStartFailures) {
          absl::StrAppend(&reason, " (", kMaxStartFailures,
                          " workers in a row died before running a task)");
        }
        break_locked(reason, done);
        vacate_locked(slot);
      }
    }
    dispatch_locked(done);
  }
  done.run();
}

void PoolCore::poll_events(const std::vector<LiveSlot>& live, int timeout_ms) {
  std::vector<pollfd>& fds = poll_fds_;  // the manager's: no allocation
  fds.clear();
  fds.push_back({event_fd_.get(), POLLIN, 0});
  for (const LiveSlot& l : live) fds.push_back({l.pidfd, POLLIN, 0});
  int ready;
  do {
    ready = poll(fds.data(), fds.size(), timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready <= 0) return;
  if (fds[0].revents != 0) {
    std::uint64_t count;
    ssize_t ignored = read(event_fd_.get(), &count, sizeof(count));
    (void)ignored;
  }
  for (std::size_t i = 0; i < live.size(); ++i) {
    if (fds[i + 1].revents != 0) handle_exit(live[i]);
  }
}

bool PoolCore::responses_waiting(const std::vector<LiveSlot>& live) {
  // From the shared indices (a waiter may be reading a ring: the reader's
  // own copy is under `consume`). Impossible indices count as nothing
  // waiting, as in FrameReader::available(): drain() found them and killed
  // the worker, whose exit the park then sees.
  for (const LiveSlot& l : live) {
    const std::uint64_t waiting = Backlog(blocks_[l.index]->response);
    if (waiting != 0 && waiting <= kSlotCount) return true;
  }
  return false;
}

void PoolCore::park(const std::vector<LiveSlot>& live, bool busy) {
  // Not while a waiter polls for its response (three spinning threads on
  // two CPUs slow each other down).
  if (busy && MayRunOnSeveralCpus() &&
      helpers_.load(std::memory_order_relaxed) == 0) {
    const auto until = std::chrono::steady_clock::now() + kManagerSpin;
    for (int i = 0;; ++i) {
      if (i < 256) {
        CpuRelax();
      } else {
        sched_yield();
      }
      if (responses_waiting(live)) return;
      if ((i & 15) == 15 && (std::chrono::steady_clock::now() > until ||
                             helpers_.load(std::memory_order_relaxed) != 0)) {
        break;
      }
    }
  }
  header_->manager_sleeping.store(1, std::memory_order_seq_cst);
  if (responses_waiting(live)) {
    header_->manager_sleeping.store(0, std::memory_order_relaxed);
    return;
  }
  poll_events(live, kParkTimeoutMs);
  header_->manager_sleeping.store(0, std::memory_order_relaxed);
}

void PoolCore::stop_workers_and_wait() {
  std::vector<LiveSlot> live = live_slots();
  {
    absl::MutexLock lock(&mu_);
    for (const LiveSlot& l : live) {
      Slot& slot = slots_[l.index];
      slot.phase = Phase::kStopping;
      slot.block->stop.store(1, std::memory_order_release);
      slot.block->doorbell.fetch_add(1, std::memory_order_release);
      SharedFutexWake(&slot.block->doorbell, 1);
    }
  }
  // Wait for each to exit (bounded; then kill it), and for the server's
  // status: it has then been reaped.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(kStopTimeoutMs);
  for (const LiveSlot& l : live) {
    pollfd p{l.pidfd, POLLIN, 0};
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      int ready;
      do {
        ready = poll(&p, 1, static_cast<int>(std::max<long>(left, 0)));
      } while (ready < 0 && errno == EINTR);
      if (ready == 1) break;
      PidfdSendSignal(l.pidfd, SIGKILL);
      p.fd = l.pidfd;
      do {
        ready = poll(&p, 1, kStopTimeoutMs);
      } while (ready < 0 && errno == EINTR);
      break;
    }
    handle_exit(l);
  }
}

void PoolCore::manager_main() {
  manager_id_.store(std::this_thread::get_id());
  pthread_setname_np(pthread_self(), "ccpool-manager");
  auto last_events = std::chrono::steady_clock::now();
  bool progressed = false;
  std::vector<LiveSlot> live;
  for (;;) {
    live_slots(live);
    int progress = 0;
    for (const LiveSlot& l : live) progress += drain(l);
    progressed |= progress > 0;
    bool finished;
    bool busy = false;
    Completions done;
    {
      absl::MutexLock lock(&mu_);
      if (progress > 0) dispatch_locked(done);
      finished = finished_locked();
      for (const Slot& slot : slots_) busy |= !slot.in_flight.empty();
    }
    done.run();
    if (finished) break;
    if (progress == 0) {
      // Spin before parking while tasks are in flight, and right after a
      // burst of responses (the next request of a caller that waits for
      // each result comes back within microseconds).
      park(live, busy || progressed);
      progressed = false;
      last_events = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_events >
               kBusyEventCheck) {
      // Busy: still look for deaths now and then.
      poll_events(live, 0);
      last_events = std::chrono::steady_clock::now();
    }
  }
  stop_workers_and_wait();
  manager_done_.Notify();
}

}  // namespace internal
}  // namespace concurrent
