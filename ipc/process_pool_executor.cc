// Copyright 2026 The concurrent Authors.
//
// ProcessPoolExecutor is a thin typed layer: submit() and map() encode the
// call with the codec (ipc/task_registry.h) into a task node
// (internal/process_pool_tasks.h) and hand it to the PoolCore
// (internal/pool_core.cc, where the notes about the implementation are),
// which moves it through shared memory to a worker and completes its future
// from the response.

#include "ipc/process_pool_executor.h"

#include <sched.h>
#include <signal.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ipc/internal/fork_server.h"
#include "ipc/internal/pool_core.h"

namespace concurrent {
namespace internal {

std::exception_ptr WorkerFailure(std::string_view function,
                                 const ResponseContext& context,
                                 std::span<const std::byte> message) {
  return MakeFrameError(absl::StrCat("ProcessPoolExecutor: worker pid ",
                                     context.worker_pid, " could not run '",
                                     std::string(function),
                                     "': ", std::string(AsString(message))));
}

std::exception_ptr UnexpectedResponse(std::string_view function,
                                      FrameKind kind) {
  return MakeFrameError(absl::StrCat(
      "ProcessPoolExecutor: the response to '", std::string(function),
      "' has an unexpected kind (", static_cast<std::uint32_t>(kind), ")"));
}

}  // namespace internal

namespace {

int DefaultMaxWorkers() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    return std::max(1, CPU_COUNT(&set));
  }
  return 1;
}

internal::PoolConfig MakeConfig(ProcessPoolExecutor::Options& options) {
  internal::PoolConfig config;
  if (options.max_workers.has_value() && *options.max_workers < 1) {
    throw std::invalid_argument(absl::StrCat(
        "ProcessPoolExecutor: max_workers must be at least 1 (got ",
        *options.max_workers, ")"));
  }
  if (options.max_tasks_per_child.has_value() &&
      *options.max_tasks_per_child < 1) {
    throw std::invalid_argument(absl::StrCat(
        "ProcessPoolExecutor: max_tasks_per_child must be at least 1 (got ",
        *options.max_tasks_per_child, ")"));
  }
  if (options.max_payload_bytes == 0) {
    throw std::invalid_argument(
        "ProcessPoolExecutor: max_payload_bytes must not be 0");
  }
  config.max_workers = options.max_workers.value_or(DefaultMaxWorkers());
  config.max_tasks_per_child = options.max_tasks_per_child.value_or(0);
  config.replace_dead_workers =
      options.on_worker_death ==
      ProcessPoolExecutor::WorkerDeathPolicy::kReplaceWorker;
  config.worker_gil = options.worker_gil;
  if (config.worker_gil.has_value()) {
    Gil check(*config.worker_gil);  // throws std::invalid_argument if bad
  }
  config.max_payload_bytes = options.max_payload_bytes;
  return config;
}

}  // namespace

ProcessPoolExecutor::ProcessPoolExecutor(Options options) {
  internal::PoolConfig config = MakeConfig(options);
  if (!options.initializer.empty()) {
    config.has_initializer = true;
    config.initializer_name = std::move(options.initializer.name_);
    config.initializer_args = std::move(options.initializer.args_);
  }
  core_ = std::make_unique<internal::PoolCore>(std::move(config));
}

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(Options{}) {}

ProcessPoolExecutor::ProcessPoolExecutor(int max_workers)
    : ProcessPoolExecutor(Options{.max_workers = max_workers}) {}

ProcessPoolExecutor::~ProcessPoolExecutor() = default;  // PoolCore shuts down

void ProcessPoolExecutor::start_fork_server() {
  try {
    internal::StartForkServer();
  } catch (const internal::ForkServerThreadsError& e) {
    throw std::logic_error(e.what());
  }
}

void ProcessPoolExecutor::shutdown(bool wait, bool cancel_futures) {
  core_->shutdown(wait, cancel_futures);
}

void ProcessPoolExecutor::terminate_workers() {
  core_->signal_workers(SIGTERM);
}

void ProcessPoolExecutor::kill_workers() { core_->signal_workers(SIGKILL); }

int ProcessPoolExecutor::max_workers() const noexcept {
  return core_->max_workers();
}

std::vector<pid_t> ProcessPoolExecutor::worker_pids() const {
  return core_->worker_pids();
}

void ProcessPoolExecutor::execute(TaskNode*) {
  throw std::invalid_argument(
      "ProcessPoolExecutor runs registered functions only: a closure cannot "
      "cross to another process. Register a free function with "
      "CONCURRENT_REGISTER_TASK and call ProcessPoolExecutor::submit(fn, "
      "args...) or map(fn, inputs) on the pool itself");
}

void ProcessPoolExecutor::submit_node(
    internal::RemoteTaskNode* task, std::string_view name,
    absl::FunctionRef<void(Buffer&)> encode_args) {
  internal::StateBase& state = task->state();
  state.ref();  // the pool's reference
  try {
    core_->submit(task, name, encode_args);
  } catch (...) {
    state.unref();
    throw;
  }
}

void ProcessPoolExecutor::submit_node(internal::RemoteTaskNode* task) {
  internal::StateBase& state = task->state();
  state.ref();  // the pool's reference
  try {
    core_->submit(task);
  } catch (...) {
    state.unref();
    throw;
  }
}

}  // namespace concurrent
