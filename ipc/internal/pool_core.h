// Copyright 2026 The concurrent Authors.
//
// The machinery of a ProcessPoolExecutor, independent of how arguments and
// results are encoded: the shared segments, the workers (started through the
// fork server), the dispatch of RemoteTasks to the workers' rings, the
// manager thread that completes futures from the responses and watches the
// workers die, and shutdown. Private to ipc/; see the "Notes about the
// implementation" in pool_core.cc.

#ifndef CONCURRENT_IPC_INTERNAL_POOL_CORE_H_
#define CONCURRENT_IPC_INTERNAL_POOL_CORE_H_

#include <poll.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gil/gil.h"
#include "ipc/codec.h"
#include "ipc/internal/channel.h"
#include "ipc/internal/remote_task.h"
#include "ipc/internal/shared_segment.h"

namespace concurrent {
namespace internal {

struct PoolConfig {
  int max_workers = 1;
  int max_tasks_per_child = 0;  // 0: unlimited
  bool replace_dead_workers = false;
  std::optional<GilOptions> worker_gil;
  std::uint64_t max_payload_bytes = std::uint64_t{1} << 30;
  // The initializer: a registered function's name and encoded arguments.
  std::string initializer_name;
  Buffer initializer_args;
  bool has_initializer = false;
};

class PoolCore {
 public:
  // Creates the segments; starts no process and no thread. Throws
  // std::system_error if the segments cannot be created.
  explicit PoolCore(PoolConfig config);
  PoolCore(const PoolCore&) = delete;
  PoolCore& operator=(const PoolCore&) = delete;
  // shutdown(wait = true), then frees everything.
  ~PoolCore();

  // Accepts `task`, whose arguments are encoded (the pool owns one reference
  // from now on): sends it to a worker, or queues it. Throws
  // ExecutorShutdownError after shutdown, BrokenProcessPool once broken; the
  // task is then not accepted.
  void submit(RemoteTaskNode* task);

  // Accepts `task` for the registered function `name`, whose arguments
  // `encode_args` appends to a Buffer: straight into an idle worker's ring
  // when there is one (a large argument is then written to shared memory
  // once, by its encoder, under the pool's lock), else into the task. Throws
  // what submit(task) throws, and what `encode_args` throws (the task is
  // then not accepted), except that arguments larger than max_payload_bytes
  // fail the task's future with CodecError.
  void submit(RemoteTaskNode* task, std::string_view name,
              absl::FunctionRef<void(Buffer&)> encode_args);

  void shutdown(bool wait, bool cancel_futures);
  // Python 3.14's terminate_workers() (SIGTERM) and kill_workers() (SIGKILL).
  void signal_workers(int sig);

  int max_workers() const { return config_.max_workers; }
  // Called (through the task's future) by a thread about to park on the
  // future of `task`, which `pool` (the task's owner) may be running: if
  // the task is short, is the only one the pool has in flight or pending,
  // and its worker may be answering on another CPU, polls the worker's
  // response ring for up to about 50 us (never past `deadline`) and
  // completes the future itself, saving the hop through the manager thread
  // (a caller that waits for each result). Returns false at once if it does
  // not (or `pool` is gone: destroyed or being destroyed).
  static bool AwaitResponse(const void* pool, RemoteTaskNode& task,
                            const Deadline& deadline) noexcept;

  // Pids of the live workers (a snapshot).
  std::vector<pid_t> worker_pids() const;
  // Whether the pool is broken, and why.
  std::optional<std::string> broken_reason() const;

 private:
  struct InFlight {
    RemoteTaskNode* task;
    std::uint64_t seq;
    std::uint64_t queued_ns;  // what it added to Slot::queued_ns
  };
  enum class Phase { kVacant, kLive, kDraining, kStopping };
  struct Slot {
    Phase phase = Phase::kVacant;
    pid_t pid = 0;
    UniqueFd pidfd;
    UniqueFd status_fd;
    WorkerBlock* block = nullptr;
    FrameWriter requests;
    // Bumped at each spawn: the manager resets its reader when it changes.
    std::uint64_t generation = 0;
    // Set when the manager found the worker's responses corrupt and killed
    // it: why.
    std::string corrupt;
    std::deque<InFlight> in_flight;
    // The expected run time of what is in flight (a task of unknown
    // duration counts as kQueueTargetNs: nothing queues behind it).
    std::uint64_t queued_ns = 0;
    std::uint64_t next_seq = 1;
    std::uint64_t sent = 0;      // to this process (max_tasks_per_child)
    std::uint64_t last_use = 0;  // dispatch tick (prefer warm workers)
    bool woken = false;          // got requests in this dispatch round
    // The response to the initializer (frame 0), if it failed.
    std::string init_failure;
  };
  // The consumer side of a slot's response ring: the manager thread's, and
  // a waiting thread's while it holds `consume` (await_response). A
  // std::mutex: the manager's poll loop takes it often (Debian's
  // absl::Mutex runs its deadlock detector on every lock).
  struct ManagerSlot {
    std::mutex consume;
    std::uint64_t generation = 0;
    FrameReader responses;
  };
  // A live slot as the manager last saw it.
  struct LiveSlot {
    int index;
    int pidfd;
    std::uint64_t generation;
  };
  // Futures to complete once mu_ is released (they run callbacks).
  struct Completions {
    std::vector<std::pair<RemoteTaskNode*, std::exception_ptr>> fail_claimed;
    std::vector<std::pair<RemoteTaskNode*, std::exception_ptr>> fail_unclaimed;
    std::vector<RemoteTaskNode*> cancel;
    void run() noexcept;
  };

  // Sends pending tasks to workers with room, spawning workers as needed.
  void dispatch_locked(Completions& done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The worker a task whose function runs for about `estimate_ns` (0:
  // unknown) should go to, spawning one if that is best; -1: none.
  int pick_worker_locked(std::uint64_t estimate_ns, Completions& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // An idle worker (nothing in flight), or a new one; -1: none.
  int pick_idle_locked(Completions& done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes `task` straight into idle worker `w`'s ring; false if it could
  // not (the caller queues it instead).
  bool send_direct_locked(int w, RemoteTaskNode* task,
                          absl::FunctionRef<void(Buffer&)> encode_args,
                          Completions& done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The checks of submit(): throws if the pool takes no more tasks.
  void check_owner() const;
  void check_open_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a task was sent to `slot`: bookkeeping.
  void sent_locked(Slot& slot, RemoteTaskNode* task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The estimate of `task`'s function (looked up once per task, created
  // empty on first use).
  RunEstimate& estimate_locked(RemoteTaskNode& task)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether `slot` may take one more request, of a task whose function runs
  // for about `estimate_ns` (0: unknown).
  bool has_room_locked(const Slot& slot, std::uint64_t estimate_ns) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::size_t live_workers_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool spawn_locked(int index, Completions& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void wake_worker(Slot& slot);
  void break_locked(const std::string& reason, Completions& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void reset_block(int index) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void start_manager_locked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Fails every task of slot `index` (in flight, in that worker) with
  // `error`, or puts those that never started back in front of pending_
  // when `requeue_unstarted`.
  void fail_in_flight_locked(Slot& slot, std::exception_ptr error,
                             bool requeue_unstarted, Completions& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void vacate_locked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void cancel_pending_locked(Completions& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void wake_manager();

  // The manager thread.
  void manager_main();
  std::vector<LiveSlot> live_slots();
  void live_slots(std::vector<LiveSlot>& live);
  // Requires manager_slots_[live.index].consume held.
  ManagerSlot& manager_slot(const LiveSlot& live);
  // AwaitResponse() once `this` is known to be alive.
  bool await_response(RemoteTaskNode& task, const Deadline& deadline);
  // Completes the responses waiting in worker `live`'s ring. Returns how
  // many (after a corrupt ring: the worker is killed, its exit handled
  // later).
  int drain(const LiveSlot& live);
  // A response answers the oldest request in flight to `slot`: takes it off
  // (bookkeeping; `run_ns`: the task's run time, 0 if unknown) and returns
  // its task.
  RemoteTaskNode* answered_locked(Slot& slot, std::uint64_t run_ns)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A response a waiter took out of the ring (an inline one: a copy).
  struct OwnResponse {
    FrameKind kind{};
    std::size_t size = 0;
    pid_t pid = 0;
    std::array<std::byte, kInlineCapacity> payload;
  };
  // If the response at the front of `live`'s ring is `task`'s and inline,
  // copies it to `out`, takes it off the ring and returns true; false
  // (changing nothing) otherwise, or if the ring is busy.
  bool take_response(const LiveSlot& live, RemoteTaskNode* task,
                     OwnResponse* out);
  // Handles the exit of the worker of `live` (its pidfd is readable).
  void handle_exit(const LiveSlot& live);
  // Polls the live workers' pidfds (and the eventfd), waiting up to
  // `timeout_ms`, and handles the exits it sees.
  void poll_events(const std::vector<LiveSlot>& live, int timeout_ms);
  // Spins (when busy) and parks until a response or an event.
  void park(const std::vector<LiveSlot>& live, bool busy);
  bool responses_waiting(const std::vector<LiveSlot>& live);
  // Whether the pool is shut down and has nothing left to do.
  bool finished_locked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void stop_workers_and_wait();

  const PoolConfig config_;
  const pid_t owner_pid_;
  SegmentGeometry geometry_{};
  UniqueFd control_fd_;
  UniqueFd spill_fd_;
  UniqueFd event_fd_;
  MappedWindow control_;
  SegmentHeader* header_ = nullptr;

  mutable absl::Mutex mu_;
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);
  std::deque<RemoteTaskNode*> pending_ ABSL_GUARDED_BY(mu_);
  std::uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
  // Per function name: [0] calls, [1] map chunks.
  std::array<absl::flat_hash_map<std::string, std::unique_ptr<RunEstimate>>, 2>
      estimates_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::string> broken_ ABSL_GUARDED_BY(mu_);
  std::exception_ptr broken_error_ ABSL_GUARDED_BY(mu_);
  int signalled_ ABSL_GUARDED_BY(mu_) = 0;  // terminate/kill_workers()
  int start_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Threads inside await_response() (the destructor waits for none).
  std::atomic<int> helpers_{0};
  bool manager_started_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<WorkerBlock*> blocks_;  // fixed at construction
  std::unique_ptr<ManagerSlot[]> manager_slots_;
  std::vector<pollfd> poll_fds_;  // the manager thread's
  std::unique_ptr<std::thread> manager_;
  std::atomic<std::thread::id> manager_id_{};
  absl::Notification manager_done_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_POOL_CORE_H_
