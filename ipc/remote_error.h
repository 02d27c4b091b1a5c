// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: ipc/remote_error.h
// -----------------------------------------------------------------------------
//
// How an exception thrown by a task in another process reaches the caller,
// as pickle carries a Python exception back from a worker:
//
//   * an exception whose exact (dynamic) type is registered is rethrown as a
//     new object of that type with the same `what()`, as pickle restores
//     `ValueError`. The standard exceptions are registered (below), and so is
//     every error of this library; `CONCURRENT_REGISTER_EXCEPTION(T)`
//     registers a user type.
//   * any other exception becomes a `RemoteError`, which carries the
//     original type's name (demangled), its `what()`, the worker's pid and
//     the task's name. `RemoteError` is a `concurrent::Error`, hence a
//     `std::runtime_error`.
//
// The rule is exact-type-first: a `std::invalid_argument` comes back as
// `std::invalid_argument`, never as its base `std::logic_error`; a user's
// `ParseError : std::invalid_argument` that is not registered comes back as
// `RemoteError` (whose `type_name()` is "ParseError"), not as a
// `std::invalid_argument` that would hide its type. A task that throws a
// `RemoteError` (say, from a nested pool) passes it on unchanged.
//
// Only the type and `what()` travel: members a user exception adds are not
// encoded, and its registered factory rebuilds it from `what()`.
//
// Example:
//
//   struct QuotaExceeded : std::runtime_error {
//     using std::runtime_error::runtime_error;
//   };
//   CONCURRENT_REGISTER_EXCEPTION(QuotaExceeded);  // namespace scope
//
//   // In the parent, the process pool (or any transport) does:
//   std::exception_ptr e = concurrent::decode_exception(bytes);
//   std::rethrow_exception(e);  // QuotaExceeded, or RemoteError if the
//                               // worker threw an unregistered type
//
// Registered standard types: std::exception, std::bad_alloc,
// std::bad_array_new_length, std::bad_cast, std::bad_typeid,
// std::bad_exception, std::bad_function_call, std::bad_optional_access,
// std::bad_variant_access, std::logic_error, std::invalid_argument,
// std::domain_error, std::length_error, std::out_of_range,
// std::runtime_error, std::range_error, std::overflow_error,
// std::underflow_error, std::ios_base::failure; and concurrent::Error with all
// its subclasses declared in futures/errors.h, ipc/codec.h and
// ipc/task_registry.h. (std::system_error and its children need an
// error_code, so they come back as RemoteError.)
//
// Thread-safety: registration runs during static initialisation (or dlopen);
// `decode_exception` and `internal::encode_exception` are thread-safe.
//
// Errors: `decode_exception` never throws; a frame that does not decode
// yields a `CodecError`.

#ifndef CONCURRENT_IPC_REMOTE_ERROR_H_
#define CONCURRENT_IPC_REMOTE_ERROR_H_

#include <cstdint>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "futures/errors.h"
#include "ipc/codec.h"

namespace concurrent {

// An exception of an unregistered type, thrown by a task in another process.
class RemoteError : public Error {
 public:
  // `what()` is "<type_name>: <message> (raised by task <function_name> in
  // process <pid>)".
  RemoteError(std::string type_name, std::string message, int64_t pid,
              std::string function_name);
  ~RemoteError() override;

  // The demangled name of the exception's dynamic type ("ns::ParseError";
  // "int" for `throw 42`).
  const std::string& type_name() const noexcept { return type_name_; }
  // The original `what()` ("" if the type is not a std::exception).
  const std::string& message() const noexcept { return message_; }
  // The pid of the process that ran the task.
  int64_t pid() const noexcept { return pid_; }
  // The registered name of the task ("" if the exception was not raised by
  // a task).
  const std::string& function_name() const noexcept { return function_name_; }

 private:
  std::string type_name_;
  std::string message_;
  int64_t pid_;
  std::string function_name_;
};

// Registers exception type `T`, at namespace scope (any namespace), so that
// a task's `T` is rethrown as a `T` in the caller. `T` must be constructible
// from a `std::string` (its `what()`), or else default-constructible (then
// its default `what()` is kept).
#define CONCURRENT_REGISTER_EXCEPTION(T)                               \
  [[maybe_unused]] static const bool CONCURRENT_INTERNAL_EXCEPTION_ID( \
      __COUNTER__) = ::concurrent::internal::register_exception<T>()

// Rebuilds the exception encoded in `bytes` (by `internal::encode_exception`
// or `internal::invoke_registered`): a registered type as itself, anything
// else as RemoteError. Never throws: bytes that do not decode give a
// CodecError (and memory exhaustion a std::bad_alloc).
std::exception_ptr decode_exception(std::span<const std::byte> bytes) noexcept;

namespace internal {

// Appends the encoding of exception `e` to `out`, raised by task
// `function_name` in this process. Requires: e != nullptr.
// Returns false, leaving `out` as it was, only if even a minimal encoding
// does not fit in `out` (a Buffer whose grow() throws).
bool encode_exception(std::exception_ptr e, std::string_view function_name,
                      Buffer& out) noexcept;

using ExceptionFactory = std::exception_ptr (*)(const std::string& message);

// Adds `type` (rebuilt by `factory`) to the registry. Returns true.
bool register_exception_type(const std::type_info& type,
                             ExceptionFactory factory);

template <class T>
std::exception_ptr make_exception(const std::string& message) {
  if constexpr (std::is_constructible_v<T, const std::string&>) {
    return std::make_exception_ptr(T(message));
  } else {
    return std::make_exception_ptr(T());
  }
}

template <class T>
bool register_exception() {
  static_assert(std::is_class_v<T> && !std::is_const_v<T>,
                "CONCURRENT_REGISTER_EXCEPTION: T must be a class type");
  static_assert(std::is_constructible_v<T, const std::string&> ||
                    std::is_default_constructible_v<T>,
                "CONCURRENT_REGISTER_EXCEPTION: T must be constructible from "
                "a std::string (its what()) or default-constructible");
  return register_exception_type(typeid(T), &make_exception<T>);
}

// The demangled name of `type` ("std::invalid_argument").
std::string demangled_name(const std::type_info& type);

}  // namespace internal
}  // namespace concurrent

#define CONCURRENT_INTERNAL_EXCEPTION_ID(n) CONCURRENT_INTERNAL_EXCEPTION_ID2(n)
#define CONCURRENT_INTERNAL_EXCEPTION_ID2(n) \
  concurrent_internal_registered_exception_##n

#endif  // CONCURRENT_IPC_REMOTE_ERROR_H_
