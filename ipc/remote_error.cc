// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// The registry (internal/registry.h: lookups take no lock) maps a type_info
// (the exception's dynamic type, which the C++ runtime reports for the
// exception being handled: abi::__cxa_current_exception_type) to a name and a
// factory, and the name back to the factory. The executing side encodes the
// exact dynamic type's registered name; the caller looks that name up and calls
// the factory with the message. Matching the exact type (instead of trying
// `catch (const T&)` clauses one registered type after another) is what makes
// "derived-most first" hold without ordering the registered types by
// inheritance.
//
// Exception frame (codec wire format): uint8 version (1), uint8 kind
// (0: unregistered -> RemoteError, 1: registered type, 2: a RemoteError
// passed on), string type name, string message, int64 pid, string task name.

#include "ipc/remote_error.h"

#include <cxxabi.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <ios>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <typeindex>
#include <typeinfo>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "ipc/internal/registry.h"

namespace concurrent {
namespace {

constexpr uint8_t kFormatVersion = 1;

enum class Kind : uint8_t { kUnregistered = 0, kRegistered = 1, kRemote = 2 };

std::string describe(const std::string& type_name, const std::string& message,
                     int64_t pid, const std::string& function_name) {
  std::string s = type_name;
  if (!message.empty()) absl::StrAppend(&s, ": ", message);
  if (function_name.empty()) {
    absl::StrAppend(&s, " (raised in process ", pid, ")");
  } else {
    absl::StrAppend(&s, " (raised by task ", function_name, " in process ", pid,
                    ")");
  }
  return s;
}

struct ExceptionRegistration {
  const std::type_info* type;
  internal::ExceptionFactory factory;
};

// What readers see: the registered name of each type, and the factory of
// each name.
struct ExceptionIndex {
  void add(const ExceptionRegistration& r) {
    std::string name = internal::demangled_name(*r.type);
    by_name.try_emplace(name, r.factory);
    by_type.try_emplace(std::type_index(*r.type), std::move(name));
  }
  absl::flat_hash_map<std::type_index, std::string> by_type;
  absl::flat_hash_map<std::string, internal::ExceptionFactory> by_name;
};

using ExceptionRegistry =
    internal::Registry<ExceptionRegistration, ExceptionIndex>;

ExceptionRegistry& registry() {
  // Never destroyed: workers may encode exceptions during exit.
  static auto* r = new ExceptionRegistry;
  return *r;
}

// The fields of an exception frame.
struct Frame {
  Kind kind = Kind::kUnregistered;
  std::string type_name;
  std::string message;
  int64_t pid = 0;
  std::string function_name;
};

void append_frame(const Frame& f, Buffer& out) {
  encode(out, kFormatVersion, static_cast<uint8_t>(f.kind), f.type_name,
         f.message, f.pid, f.function_name);
}

// The frame of the exception being handled (call inside a catch block).
Frame current_frame(std::string_view function_name) {
  Frame f;
  f.pid = getpid();
  f.function_name = std::string(function_name);
  try {
    throw;
  } catch (const RemoteError& e) {
    f.kind = Kind::kRemote;
    f.type_name = e.type_name();
    f.message = e.message();
    f.pid = e.pid();
    f.function_name = e.function_name();
    return f;
  } catch (const std::exception& e) {
    f.message = e.what();
  } catch (...) {
  }
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) {
    f.type_name = "unknown exception";
    return f;
  }
  const ExceptionIndex& index = registry().index();
  if (auto it = index.by_type.find(std::type_index(*type));
      it != index.by_type.end()) {
    f.kind = Kind::kRegistered;
    f.type_name = it->second;
  } else {
    f.type_name = internal::demangled_name(*type);
  }
  return f;
}

}  // namespace

RemoteError::RemoteError(std::string type_name, std::string message,
                         int64_t pid, std::string function_name)
    : Error(describe(type_name, message, pid, function_name)),
      type_name_(std::move(type_name)),
      message_(std::move(message)),
      pid_(pid),
      function_name_(std::move(function_name)) {}

RemoteError::~RemoteError() = default;

std::exception_ptr decode_exception(std::span<const std::byte> bytes) noexcept {
  try {
    Decoder in(bytes);
    uint8_t version = 0;
    uint8_t kind = 0;
    Frame f;
    in(version);
    if (version != kFormatVersion) {
      in.fail(absl::StrCat("exception frame of version ", version,
                           " (this binary reads version ", kFormatVersion,
                           ")"));
    }
    in(kind, f.type_name, f.message, f.pid, f.function_name);
    in.finish();
    if (kind > static_cast<uint8_t>(Kind::kRemote)) {
      in.fail(absl::StrCat("exception frame of unknown kind ", kind));
    }
    if (kind == static_cast<uint8_t>(Kind::kRegistered)) {
      const ExceptionIndex& index = registry().index();
      if (auto it = index.by_name.find(f.type_name);
          it != index.by_name.end()) {
        return it->second(f.message);
      }
      // Registered in the worker's binary but not here (a newer binary).
    }
    return std::make_exception_ptr(RemoteError(std::move(f.type_name),
                                               std::move(f.message), f.pid,
                                               std::move(f.function_name)));
  } catch (...) {
    return std::current_exception();
  }
}

namespace internal {

bool encode_exception(std::exception_ptr e, std::string_view function_name,
                      Buffer& out) noexcept {
  const size_t start = out.size();
  try {
    try {
      std::rethrow_exception(e);
    } catch (...) {
      append_frame(current_frame(function_name), out);
    }
    return true;
  } catch (...) {
    // Out of memory, or `out` cannot grow: try the smallest frame.
    out.truncate(start);
  }
  try {
    Frame f;
    f.type_name = "std::bad_alloc";
    f.pid = getpid();
    append_frame(f, out);
    return true;
  } catch (...) {
    out.truncate(start);
    return false;
  }
}

bool register_exception_type(const std::type_info& type,
                             ExceptionFactory factory) {
  registry().add(ExceptionRegistration{&type, factory});
  return true;
}

std::string demangled_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> name(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  return status == 0 && name != nullptr ? std::string(name.get())
                                        : std::string(type.name());
}

}  // namespace internal

// The standard exceptions that carry a message or need none.
CONCURRENT_REGISTER_EXCEPTION(std::exception);
CONCURRENT_REGISTER_EXCEPTION(std::bad_alloc);
CONCURRENT_REGISTER_EXCEPTION(std::bad_array_new_length);
CONCURRENT_REGISTER_EXCEPTION(std::bad_cast);
CONCURRENT_REGISTER_EXCEPTION(std::bad_typeid);
CONCURRENT_REGISTER_EXCEPTION(std::bad_exception);
CONCURRENT_REGISTER_EXCEPTION(std::bad_function_call);
CONCURRENT_REGISTER_EXCEPTION(std::bad_optional_access);
CONCURRENT_REGISTER_EXCEPTION(std::bad_variant_access);
CONCURRENT_REGISTER_EXCEPTION(std::logic_error);
CONCURRENT_REGISTER_EXCEPTION(std::invalid_argument);
CONCURRENT_REGISTER_EXCEPTION(std::domain_error);
CONCURRENT_REGISTER_EXCEPTION(std::length_error);
CONCURRENT_REGISTER_EXCEPTION(std::out_of_range);
CONCURRENT_REGISTER_EXCEPTION(std::runtime_error);
CONCURRENT_REGISTER_EXCEPTION(std::range_error);
CONCURRENT_REGISTER_EXCEPTION(std::overflow_error);
CONCURRENT_REGISTER_EXCEPTION(std::underflow_error);
CONCURRENT_REGISTER_EXCEPTION(std::ios_base::failure);
// This library's errors (RemoteError travels as kind 2).
CONCURRENT_REGISTER_EXCEPTION(Error);
CONCURRENT_REGISTER_EXCEPTION(CancelledError);
CONCURRENT_REGISTER_EXCEPTION(TimeoutError);
CONCURRENT_REGISTER_EXCEPTION(InvalidStateError);
CONCURRENT_REGISTER_EXCEPTION(DeadlockError);
CONCURRENT_REGISTER_EXCEPTION(BrokenPromise);
CONCURRENT_REGISTER_EXCEPTION(ExecutorShutdownError);
CONCURRENT_REGISTER_EXCEPTION(BrokenExecutor);
CONCURRENT_REGISTER_EXCEPTION(BrokenThreadPool);
CONCURRENT_REGISTER_EXCEPTION(BrokenProcessPool);
CONCURRENT_REGISTER_EXCEPTION(CodecError);

}  // namespace concurrent
