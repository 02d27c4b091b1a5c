// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// Registrations run during static initialisation, in any order across
// files, so the registry is a function-local static that is never destroyed
// (a worker may still invoke tasks while static destructors run). Lookups
// take no lock (internal/registry.h): a worker forked while another thread
// of the parent was submitting finds no lock held. The index keeps two maps:
// name -> (invoker, address) for the executing side, and address -> name for
// the submitting side, which only has a function pointer. Names are views of
// the compiler's __PRETTY_FUNCTION__ strings (static storage), or of strings
// composed at registration and kept for the life of the process: g++'s
// "{anonymous}" is respelled "(anonymous namespace)" (clang's and the
// demangler's spelling, which error messages show), and under clang, whose
// spelling of a specialisation has no template arguments, the arguments are
// copied from the macro's argument text. Two different
// addresses under one name mark the name ambiguous; both sides then refuse it
// rather than run the wrong function.
//
// Naming an unregistered function: absl::Symbolize reads the ELF symbol
// table of the object that holds the address (the executable's own .symtab
// included, which dladdr cannot see without -rdynamic); dladdr is the
// fallback, then the bare address.

#include "ipc/task_registry.h"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/debugging/symbolize.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "ipc/internal/registry.h"

namespace concurrent {

UnregisteredTaskError::~UnregisteredTaskError() = default;
UnknownTaskError::~UnknownTaskError() = default;

namespace {

struct TaskRegistration {
  std::string_view name;
  const void* address;
  internal::TaskInvoker invoker;
};

struct TaskEntry {
  internal::TaskInvoker invoker;
  const void* address;
  bool ambiguous;
};

// What readers see: name -> entry for the executing side, address -> name
// for the submitting side.
struct TaskIndex {
  void add(const TaskRegistration& r) {
    by_address.try_emplace(r.address, r.name);
    auto [it, inserted] =
        by_name.try_emplace(r.name, TaskEntry{r.invoker, r.address, false});
    if (!inserted && it->second.address != r.address) {
      it->second.ambiguous = true;
    }
  }
  absl::flat_hash_map<std::string_view, TaskEntry> by_name;
  absl::flat_hash_map<const void*, std::string_view> by_address;
};

using TaskRegistry = internal::Registry<TaskRegistration, TaskIndex>;

TaskRegistry& registry() {
  static auto* r = new TaskRegistry;
  return *r;
}

// The demangled symbol of the function at `address`, or a description of
// where it is.
std::string symbol_of(const void* address) {
  char buf[1024];
  if (absl::Symbolize(address, buf, sizeof buf)) return buf;
  Dl_info info;
  if (dladdr(address, &info) != 0) {
    if (info.dli_sname != nullptr) {
      int status = 0;
      std::unique_ptr<char, decltype(&std::free)> name(
          abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status),
          &std::free);
      return status == 0 ? std::string(name.get())
                         : std::string(info.dli_sname);
    }
    if (info.dli_fname != nullptr) {
      return absl::StrFormat("the function at %p in %s", address,
                             info.dli_fname);
    }
  }
  return absl::StrFormat("the function at %p", address);
}

absl::string_view to_absl(std::string_view s) { return {s.data(), s.size()}; }

// The position of the "::" that starts the last component of a qualified
// name (outside template arguments), or npos.
size_t last_scope(std::string_view name) {
  int angle = 0;
  for (size_t i = name.size(); i-- > 1;) {
    if (name[i] == '>') ++angle;
    if (name[i] == '<') --angle;
    if (angle == 0 && name[i] == ':' && name[i - 1] == ':') return i - 1;
  }
  return std::string_view::npos;
}

// Names composed at registration, kept as long as the registry (for ever).
ABSL_CONST_INIT absl::Mutex g_names_mu(absl::kConstInit);
std::deque<std::string>* g_names ABSL_PT_GUARDED_BY(g_names_mu) = nullptr;

std::string_view keep(std::string name) {
  absl::MutexLock lock(&g_names_mu);
  if (g_names == nullptr) g_names = new std::deque<std::string>;
  return g_names->emplace_back(std::move(name));
}

// The template arguments of the last component of `written`, with their
// angle brackets ("<int, 3>" for "ns::pick<int, 3>"), or "".
std::string_view template_arguments(std::string_view written) {
  const size_t scope = last_scope(written);
  const size_t open =
      written.find('<', scope == std::string_view::npos ? 0 : scope);
  return open == std::string_view::npos ? std::string_view()
                                        : written.substr(open);
}

// The task name of a function that the compiler spells `spelled` and the
// registration writes `written` (see ipc/task_registry.h, "Names").
std::string_view task_name_from(std::string_view spelled,
                                std::string_view written) {
  constexpr std::string_view kGccAnonymous = "{anonymous}";
  std::string_view arguments = template_arguments(written);
  const size_t scope = last_scope(spelled);
  if (spelled.find('<', scope == std::string_view::npos ? 0 : scope) !=
      std::string_view::npos) {
    arguments = {};  // the compiler spelled them
  }
  if (arguments.empty() &&
      spelled.find(kGccAnonymous) == std::string_view::npos) {
    return spelled;
  }
  std::string name = absl::StrReplaceAll(
      to_absl(spelled), {{to_absl(kGccAnonymous), "(anonymous namespace)"}});
  absl::StrAppend(&name, to_absl(arguments));
  return keep(std::move(name));
}

// The name to write in CONCURRENT_REGISTER_TASK() for a symbol such as
// "(anonymous namespace)::ns::twice<int>(int) const": the last component,
// without the parameter list.
std::string_view unqualified(std::string_view symbol) {
  // Drop the parameter list: the parenthesis that closes last, matched.
  if (!symbol.empty() && symbol.find(')') != std::string_view::npos) {
    int depth = 0;
    for (size_t i = symbol.rfind(')') + 1; i-- > 0;) {
      if (symbol[i] == ')') ++depth;
      if (symbol[i] == '(' && --depth == 0) {
        symbol = symbol.substr(0, i);
        break;
      }
    }
  }
  // Keep what follows the last "::" outside template arguments.
  const size_t scope = last_scope(symbol);
  return scope == std::string_view::npos ? symbol : symbol.substr(scope + 2);
}

// A name from a frame, printable: escaped and cut to a sane length.
std::string printable(std::string_view name) {
  constexpr size_t kMax = 200;
  std::string s = absl::CHexEscape(to_absl(name.substr(0, kMax)));
  if (name.size() > kMax) absl::StrAppend(&s, "...");
  return s;
}

}  // namespace

namespace internal {

bool register_task_entry(std::string_view spelled, std::string_view written,
                         const void* address, TaskInvoker invoker) {
  registry().add(
      TaskRegistration{task_name_from(spelled, written), address, invoker});
  return true;
}

std::string_view task_name_of(const void* address) {
  const TaskIndex& index = registry().index();
  auto it = index.by_address.find(address);
  if (it == index.by_address.end()) {
    std::string symbol = symbol_of(address);
    std::string_view bare = unqualified(symbol);
    throw UnregisteredTaskError(absl::StrCat(
        "function ", symbol,
        " is not registered as a task, so it cannot run in another process: "
        "add CONCURRENT_REGISTER_TASK(",
        to_absl(bare), ") at namespace scope in the file that defines it"));
  }
  const std::string_view name = it->second;
  if (index.by_name.at(name).ambiguous) {
    throw UnregisteredTaskError(absl::StrCat(
        "task name ", to_absl(name),
        " is registered by two different functions (static or "
        "anonymous-namespace functions of the same name in two files?): "
        "rename one of them"));
  }
  return name;
}

void throw_void_result_not_empty(size_t size) {
  throw CodecError(absl::StrCat("cannot decode: a void task's result holds ",
                                size, " bytes instead of none"));
}

bool invoke_registered(std::string_view name, std::span<const std::byte> args,
                       Buffer& out) noexcept {
  const size_t start = out.size();
  try {
    const TaskIndex& index = registry().index();
    auto it = index.by_name.find(name);
    if (it == index.by_name.end()) {
      throw UnknownTaskError(absl::StrCat(
          "no task named \"", printable(name),
          "\" is registered in this binary (a task of another build of the "
          "program, or a corrupt frame)"));
    }
    if (it->second.ambiguous) {
      throw UnknownTaskError(absl::StrCat(
          "task name \"", printable(name),
          "\" is registered by two different functions: rename one"));
    }
    it->second.invoker(args, out);
    return true;
  } catch (...) {
    out.truncate(start);
    encode_exception(std::current_exception(), name, out);
    return false;
  }
}

}  // namespace internal

CONCURRENT_REGISTER_EXCEPTION(UnregisteredTaskError);
CONCURRENT_REGISTER_EXCEPTION(UnknownTaskError);

}  // namespace concurrent
