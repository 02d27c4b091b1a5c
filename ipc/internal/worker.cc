// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// A worker trusts nothing it reads from shared memory: it maps the control
// segment only if it is sealed against shrinking and at least as large as
// the geometry its header describes, and it re-derives that geometry from the
// header's own fields. Frames are parsed with ByteReader (every read bounds
// checked). A request ring whose indices are impossible ends the worker with
// kExitCorruptRing rather than a guess.
//
// Order of a task: started_seq := seq (so the parent can tell, after a
// death, which frames of the ring never started), run, pop the request
// (frees its slot and spill range), publish the response, notify the
// manager if it sleeps. Responses are published in request order.
//
// Waiting: a short poll of the ring (only when the process may use several
// CPUs), then a park on the block's doorbell futex after setting `sleeping`
// (Dekker with the parent's "publish, fence, read sleeping"). Parks are
// bounded (1 s): on waking the worker checks that its parent (the fork
// server) and the pool's process are alive, and exits if not.

#include "ipc/internal/worker.h"

#include <malloc.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futures/internal/cpu.h"
#include "gil/gil.h"
#include "ipc/internal/channel.h"
#include "ipc/internal/futex.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/shared_segment.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent {
namespace internal {
namespace {

std::atomic<WorkerInvoker> g_invoker{nullptr};
WorkerBlock* g_block = nullptr;

constexpr auto kSpinTime = std::chrono::microseconds(50);
constexpr int kPausePolls = 256;  // then sched_yield() (as the thread pool)
constexpr absl::Duration kParkTimeout = absl::Seconds(1);
constexpr int kKeepFreedBytes = 256 << 20;

void SetText(Buffer& out, std::string_view text) {
  out.clear();
  out.append(text.data(), text.size());
}

class Worker {
 public:
  explicit Worker(const WorkerStartup& s) : startup_(s) {}
  [[noreturn]] void run();

 private:
  bool map_segment();
  void check_alive();
  // Waits until a request is available or stop is set.
  void wait_for_request();
  void notify_manager();
  // Runs the initializer; on failure publishes its exception as frame 0
  // and exits.
  void initialize();
  FrameKind run_frame(const Frame& frame, Buffer& out);
  bool invoke(std::string_view name, std::span<const std::byte> args,
              Buffer& out);
  // Publishes the response in out_ as frame `seq`.
  void publish(std::uint64_t seq, FrameKind kind, std::uint64_t run_ns = 0);

 public:
  // Called by out_ (FrameBuffer) when the spill area has no room yet: waits
  // (bounded) for the parent to release earlier responses.
  void wait_for_spill();
  [[noreturn]] void no_slot();

 private:
  WorkerStartup startup_;
  MappedWindow control_;
  SegmentHeader* header_ = nullptr;
  WorkerBlock* block_ = nullptr;
  SegmentGeometry geometry_{};
  FrameReader requests_;
  FrameWriter responses_;
  std::unique_ptr<Gil> gil_;
  WorkerInvoker invoker_ = nullptr;
  // While a response waits for spill room: whether the flag is set, and the
  // doorbell's value before it was.
  bool spill_waiting_ = false;
  std::uint32_t spill_bell_ = 0;
  // The response being built, straight in the response ring.
  FrameBuffer out_;
  void start_response();
};

void Worker::start_response() {
  // The parent keeps fewer requests in flight than a ring holds (one slot
  // stays for the response it is reading), so a response always finds a
  // free slot; a parent that breaks that rule is not one we can talk to.
  if (!out_.start(
          responses_,
          [](void* worker) { static_cast<Worker*>(worker)->wait_for_spill(); },
          this)) {
    no_slot();
  }
}

bool Worker::map_segment() {
  const std::int64_t size = FileSize(startup_.control_fd);
  if (size < static_cast<std::int64_t>(sizeof(SegmentHeader)) ||
      !IsShrinkSealed(startup_.control_fd) ||
      !IsShrinkSealed(startup_.spill_fd)) {
    return false;
  }
  try {
    control_ =
        MappedWindow(startup_.control_fd, 0, static_cast<std::size_t>(size));
  } catch (...) {
    return false;
  }
  header_ = reinterpret_cast<SegmentHeader*>(control_.data());
  const SegmentHeader& h = *header_;
  geometry_ = {h.worker_count, h.initializer_size, h.spill_area_size};
  if (h.magic != kSegmentMagic || h.version != kLayoutVersion ||
      h.header_size != sizeof(SegmentHeader) ||
      h.worker_block_size != sizeof(WorkerBlock) || h.slot_size != kSlotSize ||
      h.slot_count != kSlotCount || startup_.worker_index >= h.worker_count ||
      h.owner_pid != static_cast<std::uint32_t>(startup_.owner_pid) ||
      h.worker_blocks_offset != geometry_.worker_blocks_offset() ||
      h.segment_size != geometry_.segment_size() ||
      h.segment_size > static_cast<std::uint64_t>(size) ||
      (h.initializer_size != 0 &&
       h.initializer_offset != geometry_.initializer_offset()) ||
      FileSize(startup_.spill_fd) <
          static_cast<std::int64_t>(geometry_.spill_segment_size())) {
    return false;
  }
  block_ = reinterpret_cast<WorkerBlock*>(
      control_.data() + h.worker_blocks_offset +
      startup_.worker_index * geometry_.worker_stride());
  const std::uint64_t area = h.spill_area_size;
  requests_ = FrameReader(
      &block_->request, block_->request_slots,
      {startup_.spill_fd, geometry_.request_area(startup_.worker_index), area});
  responses_ =
      FrameWriter(&block_->response, block_->response_slots,
                  {startup_.spill_fd,
                   geometry_.response_area(startup_.worker_index), area});
  return true;
}

void Worker::check_alive() {
  if (getppid() != startup_.server_pid ||
      (kill(startup_.owner_pid, 0) != 0 && errno == ESRCH)) {
    _exit(kExitOrphaned);
  }
}

void Worker::wait_for_request() {
  auto ready = [&] {
    return requests_.available() != 0 ||
           block_->stop.load(std::memory_order_acquire) != 0;
  };
  if (ready()) return;
  if (MayRunOnSeveralCpus()) {
    const auto until = std::chrono::steady_clock::now() + kSpinTime;
    for (int i = 0;; ++i) {
      if (i < kPausePolls) {
        CpuRelax();
      } else {
        sched_yield();
      }
      if (ready()) return;
      if ((i & 15) == 15 && std::chrono::steady_clock::now() > until) break;
    }
  }
  for (;;) {
    const std::uint32_t bell = block_->doorbell.load(std::memory_order_acquire);
    block_->sleeping.store(1, std::memory_order_seq_cst);
    if (ready()) {
      block_->sleeping.store(0, std::memory_order_relaxed);
      return;
    }
    SharedFutexWait(&block_->doorbell, bell, kParkTimeout);
    block_->sleeping.store(0, std::memory_order_relaxed);
    if (ready()) return;
    check_alive();
  }
}

void Worker::notify_manager() {
  // After the seq_cst store of the response ring's tail (see channel.cc).
  if (ClaimManagerWake(*header_)) {
    const std::uint64_t one = 1;
    ssize_t ignored = write(startup_.event_fd, &one, sizeof(one));
    (void)ignored;
  }
}

bool Worker::invoke(std::string_view name, std::span<const std::byte> args,
                    Buffer& out) {
  const std::size_t start = out.size();
  try {
    if (gil_ != nullptr) {
      std::scoped_lock hold(*gil_);
      return invoker_(name, args, out);
    }
    return invoker_(name, args, out);
  } catch (...) {
    // invoke_registered never throws; a replacement invoker might.
    out.truncate(start);
    encode_exception(std::current_exception(), name, out);
    return false;
  }
}

void Worker::initialize() {
  if (header_->initializer_size == 0) return;
  const std::uint64_t offset = header_->initializer_offset;
  const std::uint64_t size = header_->initializer_size;
  ByteReader reader({control_.data() + offset, static_cast<std::size_t>(size)});
  InitializerBlock init;
  std::span<const std::byte> name, args;
  start_response();
  if (reader.read(init) && reader.read_bytes(init.name_length, name) &&
      reader.read_bytes(init.args_length, args)) {
    if (invoke(AsString(name), args, out_)) return;
    if (out_.size() == 0) {
      SetText(out_, "the initializer failed");
      publish(0, FrameKind::kFailure);
    } else {
      publish(0, FrameKind::kException);
    }
  } else {
    SetText(out_, "the initializer block is corrupt");
    publish(0, FrameKind::kFailure);
  }
  block_->state.store(static_cast<std::uint32_t>(WorkerState::kInitFailed),
                      std::memory_order_release);
  notify_manager();
  _exit(kExitInitFailed);
}

FrameKind Worker::run_frame(const Frame& frame, Buffer& out) {
  auto fail = [&](const std::string& message) {
    SetText(out, message);
    return FrameKind::kFailure;
  };
  ByteReader reader(frame.payload);
  std::uint16_t name_length = 0;
  std::span<const std::byte> name;
  if (!reader.read(name_length) || !reader.read_bytes(name_length, name)) {
    return fail(absl::StrCat("request frame ", frame.seq,
                             " is truncated: no function name"));
  }
  if (frame.kind == FrameKind::kCall) {
    return invoke(AsString(name), reader.rest(), out) ? FrameKind::kValue
                                                      : FrameKind::kException;
  }
  if (frame.kind != FrameKind::kChunk) {
    return fail(absl::StrCat("request frame ", frame.seq, " has kind ",
                             static_cast<std::uint32_t>(frame.kind),
                             ", which is not a request"));
  }
  std::uint32_t count = 0;
  if (!reader.read(count)) {
    return fail(absl::StrCat("chunk frame ", frame.seq, " is truncated"));
  }
  auto put_u32 = [&](std::size_t at, std::uint32_t v) {
    std::memcpy(out.data() + at, &v, sizeof(v));
  };
  out.append(sizeof(std::uint32_t));
  std::uint32_t done = 0;
  for (; done < count; ++done) {
    std::uint32_t length = 0;
    std::span<const std::byte> args;
    if (!reader.read(length) || !reader.read_bytes(length, args)) {
      return fail(absl::StrCat("chunk frame ", frame.seq,
                               " is truncated at item ", done, " of ", count));
    }
    const std::size_t item = out.size();
    out.append(1 + sizeof(std::uint32_t));
    const bool ok = invoke(AsString(name), args, out);
    out.data()[item] = std::byte{ok ? std::uint8_t{1} : std::uint8_t{0}};
    put_u32(item + 1, static_cast<std::uint32_t>(out.size() - item - 5));
    if (!ok) {
      ++done;
      break;
    }
  }
  put_u32(0, done);
  return FrameKind::kChunkResult;
}

void Worker::publish(std::uint64_t seq, FrameKind kind, std::uint64_t run_ns) {
  if (spill_waiting_) {
    spill_waiting_ = false;
    block_->spill_waiting.store(0, std::memory_order_relaxed);
  }
  out_.commit(seq, kind, run_ns);
}

void Worker::wait_for_spill() {
  // The parent rings the doorbell when it sees spill_waiting after a
  // release; the first call sets the flag and lets the caller retry
  // (Dekker-style), the next one parks (bounded).
  if (!spill_waiting_) {
    spill_waiting_ = true;
    spill_bell_ = block_->doorbell.load(std::memory_order_acquire);
    block_->spill_waiting.store(1, std::memory_order_seq_cst);
    notify_manager();
    return;
  }
  SharedFutexWait(&block_->doorbell, spill_bell_, absl::Milliseconds(100));
  spill_waiting_ = false;
  block_->spill_waiting.store(0, std::memory_order_relaxed);
  check_alive();
}

void Worker::no_slot() { _exit(kExitNoResponseSlot); }

void Worker::run() {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  check_alive();
  const std::string name = absl::StrCat("ccpool-w", startup_.worker_index);
  prctl(PR_SET_NAME, name.c_str());
  // Large arguments are decoded into fresh heap blocks. glibc maps blocks
  // over 32 MiB with mmap and unmaps them on free, so every such argument
  // would fault in its pages anew (16,384 faults for 64 MiB; on a VM that
  // is most of a large call's cost). A worker takes large blocks from its
  // heap instead and keeps up to kKeepFreedBytes of freed memory for the
  // next task. (No effect under the sanitizers' allocators.)
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, kKeepFreedBytes);
  signal(SIGINT, SIG_IGN);  // Ctrl-C is the pool's process's to handle
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  if (!map_segment()) _exit(kExitBadSegment);
  block_->pid.store(static_cast<std::uint32_t>(getpid()),
                    std::memory_order_release);
  g_block = block_;
  invoker_ = g_invoker.load(std::memory_order_acquire);
  if (invoker_ == nullptr) invoker_ = &invoke_registered;
  if (header_->gil_enabled != 0) {
    GilOptions options;
    options.policy = static_cast<GilPolicy>(header_->gil_policy);
    options.switch_interval =
        absl::Nanoseconds(header_->gil_switch_interval_ns);
    options.check_interval = static_cast<int>(header_->gil_check_interval);
    try {
      gil_ = std::make_unique<Gil>(options);
    } catch (...) {
      gil_ = std::make_unique<Gil>();
    }
  }
  initialize();
  block_->state.store(static_cast<std::uint32_t>(WorkerState::kReady),
                      std::memory_order_release);
  const std::uint64_t max_tasks = header_->max_tasks_per_child;
  std::uint64_t done = 0;
  std::string why;
  for (;;) {
    Frame frame;
    switch (requests_.peek(&frame, &why)) {
      case FrameReader::Status::kEmpty:
        if (block_->stop.load(std::memory_order_acquire) != 0) {
          block_->state.store(static_cast<std::uint32_t>(WorkerState::kStopped),
                              std::memory_order_release);
          notify_manager();
          _exit(0);
        }
        wait_for_request();
        continue;
      case FrameReader::Status::kCorrupt:
        _exit(kExitCorruptRing);
      case FrameReader::Status::kBadFrame: {
        // Answer it as a failure of that task and go on.
        block_->started_seq.store(frame.seq, std::memory_order_release);
        start_response();
        SetText(out_, "the worker could not read the request: " + why);
        requests_.pop(frame);
        publish(frame.seq, FrameKind::kFailure);
        notify_manager();
        continue;
      }
      case FrameReader::Status::kFrame:
        break;
    }
    block_->started_seq.store(frame.seq, std::memory_order_release);
    start_response();
    const auto start = std::chrono::steady_clock::now();
    const FrameKind kind = run_frame(frame, out_);
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - start)
            .count());
    const std::uint64_t seq = frame.seq;
    requests_.pop(frame);
    publish(seq, kind, std::max<std::uint64_t>(ns, 1));
    block_->tasks_done.store(++done, std::memory_order_relaxed);
    if (max_tasks != 0 && done >= max_tasks) {
      block_->state.store(static_cast<std::uint32_t>(WorkerState::kRetiring),
                          std::memory_order_release);
      notify_manager();
      _exit(0);
    }
    // A parent thread polling for this response reads it; otherwise the
    // manager must.
    if (block_->waiters_polling.load(std::memory_order_seq_cst) == 0) {
      notify_manager();
    }
  }
}

}  // namespace

const char* DescribeWorkerExitStatus(int status) {
  switch (status) {
    case kExitBadSegment:
      return "the pool's shared memory failed its checks in the worker";
    case kExitCorruptRing:
      return "the worker found its request ring corrupt";
    case kExitInitFailed:
      return "the initializer failed";
    case kExitOrphaned:
      return "the worker lost its parent";
    case kExitUncaught:
      return "an exception escaped the worker's loop";
    case kExitNoResponseSlot:
      return "the worker found no free slot for a response (the pool sent "
             "more requests than its response ring holds)";
    default:
      return nullptr;
  }
}

WorkerBlock* CurrentWorkerBlock() { return g_block; }

void SetWorkerInvoker(WorkerInvoker invoker) {
  g_invoker.store(invoker, std::memory_order_release);
}

void WorkerMain(const WorkerStartup& startup) {
  // Nothing may unwind past this frame: above it is the stack of whatever
  // the program was doing when it forked the server (a test body, main()).
  try {
    Worker worker(startup);
    worker.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "concurrent: process pool worker %d: %s\n",
                 static_cast<int>(getpid()), e.what());
  } catch (...) {
  }
  _exit(kExitUncaught);
}

}  // namespace internal
}  // namespace concurrent
