// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: ipc/task_registry.h
// -----------------------------------------------------------------------------
//
// Functions cross a process boundary by name, as pickle sends a module-level
// function: `CONCURRENT_REGISTER_TASK(fn)` makes the free function `fn`
// callable by name in another process running the same binary (a process
// pool worker, an MPI rank).
//
// The submitting side:
//   * `encode_call(out, fn, args...)` encodes the arguments, converted to
//     `fn`'s parameter types, and returns `fn`'s registered name;
//   * `decode_result<task_result_t<F>>(bytes)` decodes what the task
//     returned, `decode_exception(bytes)` (ipc/remote_error.h) what it threw.
// The executing side:
//   * `internal::invoke_registered(name, args, out)` looks the name up,
//     decodes the arguments, calls the function, and encodes its result (or
//     the exception it threw) into `out`.
//
// Example:
//
//   namespace primes {
//   int64_t count_primes(int64_t below) { ... }
//   CONCURRENT_REGISTER_TASK(count_primes);  // at namespace scope
//   }
//
//   concurrent::Buffer call;
//   std::string_view name =
//       concurrent::encode_call(call, &primes::count_primes, 1000);
//   // name == "primes::count_primes"; `name` and `call.bytes()` go to the
//   // worker, which runs:
//   concurrent::Buffer reply;
//   bool ok = concurrent::internal::invoke_registered(name, call.bytes(),
//                                                     reply);
//   // and back in the caller, `ok` and `reply.bytes()`:
//   if (!ok) {
//     std::rethrow_exception(concurrent::decode_exception(reply.bytes()));
//   }
//   int64_t n = concurrent::decode_result<int64_t>(reply.bytes());
//
// What can be registered and submitted: free functions (any namespace,
// `static` and anonymous-namespace ones included; function template
// specialisations named explicitly, `CONCURRENT_REGISTER_TASK(scale<int>)`),
// whose parameters and result are codable (ipc/codec.h) or void. Parameters
// by value, by const reference and by rvalue reference are fine; a non-const
// lvalue reference is a compile-time error (the caller would not see the
// changes), and so are pointers. Lambdas (even captureless ones), function
// objects, `std::function` and member functions are compile-time errors at
// `encode_call`: register a named free function instead. An overloaded name
// cannot be registered (the macro cannot tell which): register a wrapper.
//
// Names: the function's qualified name as the compiler spells it, with the
// anonymous namespace spelled "(anonymous namespace)" under both g++ and
// clang ("primes::count_primes", "(anonymous namespace)::helper"). A
// function template specialisation's name ends with its template arguments:
// g++ spells them itself ("scale<long int>",
// "twice<std::__cxx11::basic_string<char> >"); clang's spelling has none,
// so they are taken as the macro's argument writes them ("scale<long>",
// "twice<std::string>"). A name depends only on the source and the
// compiler, so it is the same in every process of one binary. Two distinct
// functions with the same name (two `static` helpers in two files; under
// clang, two specialisations both written `twice<T>`, in scopes where `T`
// differs) make that name ambiguous: submitting either throws
// UnregisteredTaskError, invoking the name fails with UnknownTaskError.
// Registering the same function twice (the macro in a header) is harmless.
//
// Linking: the registration is a static object in the file that holds the
// macro. Put the macro in the .cc file that defines the function (or mark its
// library `alwayslink = True`), so a binary that links the function also
// runs its registration.
//
// Thread-safety: registration runs during static initialisation (or
// dlopen); everything else is thread-safe.
//
// Errors:
//   * UnregisteredTaskError (a concurrent::Error): `encode_call`/`task_name`
//     got a function that is not registered (or whose name is ambiguous);
//     the message names the function (from the symbol table, demangled).
//   * UnknownTaskError (a concurrent::Error): the executing side got a name
//     this binary does not register (a newer binary's task, a corrupt
//     frame); it comes back to the caller through the exception bytes.
//   * CodecError: arguments or result bytes that do not decode.

#ifndef CONCURRENT_IPC_TASK_REGISTRY_H_
#define CONCURRENT_IPC_TASK_REGISTRY_H_

#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "futures/errors.h"
#include "ipc/codec.h"
#include "ipc/remote_error.h"

namespace concurrent {

// A function that is not registered (or whose name is ambiguous) was
// submitted. `what()` names the function.
class UnregisteredTaskError : public Error {
 public:
  using Error::Error;
  ~UnregisteredTaskError() override;
};

// A task name that this binary does not register (or that two functions
// share) was invoked. `what()` names it.
class UnknownTaskError : public Error {
 public:
  using Error::Error;
  ~UnknownTaskError() override;
};

// Registers the free function `fn` as a task, at namespace scope (any
// namespace). `fn` is its name as it would be written at that point
// (`count_primes`, `primes::count_primes`, `scale<int>`, `pick<int, 3>`).
#define CONCURRENT_REGISTER_TASK(...)                             \
  [[maybe_unused]] static const bool CONCURRENT_INTERNAL_TASK_ID( \
      __COUNTER__) =                                              \
      ::concurrent::internal::register_task<&__VA_ARGS__>(#__VA_ARGS__)

}  // namespace concurrent

#include "ipc/internal/task_registry_impl.h"  // IWYU pragma: keep

namespace concurrent {

// What `F` returns, without references and cv-qualifiers (or void): the type
// to decode with decode_result<>.
template <class F>
using task_result_t = typename internal::TaskTraits<std::decay_t<F>>::result;

// True for the function pointers that can be submitted: a free function
// whose parameters and result are codable.
template <class F>
concept RemoteTask = internal::TaskTraits<std::decay_t<F>>::is_remote_task;

// The name under which `fn` is registered.
// Throws: UnregisteredTaskError naming `fn` if it is not registered, or if
// its name is ambiguous.
template <class F>
requires RemoteTask<F> std::string_view task_name(F fn) {
  return internal::task_name_of(reinterpret_cast<const void*>(fn));
}

// Appends to `out` the arguments of the call `fn(args...)`, each converted to
// `fn`'s parameter type (an argument of exactly that type is encoded in
// place, without a copy), and returns `fn`'s registered name (a view of
// static storage).
// Compile-time errors: `fn` is not a free function (a lambda, a function
// object, std::function, a member function), the arguments do not match its
// parameters, or a parameter or the result is not codable.
// Throws: UnregisteredTaskError (and `out` is unchanged); CodecError if `out`
// cannot grow (`out` then holds a partial encoding: truncate it).
template <class F, class... Args>
std::string_view encode_call(Buffer& out, F fn, Args&&... args) {
  using Traits = internal::TaskTraits<std::decay_t<F>>;
  internal::check_task<std::decay_t<F>>();
  static_assert(Traits::arity == sizeof...(Args),
                "encode_call: the number of arguments differs from the "
                "number of the task's parameters");
  const std::string_view name = task_name(fn);
  Encoder encoder(out);
  [&]<size_t... I>(std::index_sequence<I...>) {
    (internal::encode_argument<I, typename Traits::template param<I>>(
         encoder, std::forward<Args>(args)),
     ...);
  }
  (std::index_sequence_for<Args...>{});
  return name;
}

// Decodes the result of a task returning `R` (use task_result_t<F>); for
// void, checks that `bytes` is empty.
// Throws: CodecError if `bytes` does not hold exactly one R.
template <class R>
R decode_result(std::span<const std::byte> bytes) {
  if constexpr (std::is_void_v<R>) {
    if (!bytes.empty()) internal::throw_void_result_not_empty(bytes.size());
  } else {
    return decode<R>(bytes);
  }
}

namespace internal {

// The executing side's one entry point. Looks up task `name`, decodes its
// arguments from `args`, calls it, and appends to `out`:
//   * true: the encoded result (nothing for void);
//   * false: the encoded exception (for decode_exception), which is an
//     UnknownTaskError for an unknown name, a CodecError for arguments that
//     do not decode (or a result that does not fit in `out`), or what the
//     task threw, with this process's pid and the task's name.
// If even the exception does not fit in `out`, returns false with nothing
// appended (decode_exception of no bytes gives a CodecError).
// Never throws. Thread-safe (each call with its own `out`).
bool invoke_registered(std::string_view name, std::span<const std::byte> args,
                       Buffer& out) noexcept;

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_TASK_REGISTRY_H_
