// Copyright 2026 The concurrent Authors.
//
// The templates behind ipc/task_registry.h: the traits of a task's function
// type, its compile-time name, its type-erased invoker, and registration.
// Included by ipc/task_registry.h only; nothing here is public API.

#ifndef CONCURRENT_IPC_INTERNAL_TASK_REGISTRY_IMPL_H_
#define CONCURRENT_IPC_INTERNAL_TASK_REGISTRY_IMPL_H_

#include <cstddef>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ipc/codec.h"

#ifndef CONCURRENT_IPC_TASK_REGISTRY_H_
#error "include ipc/task_registry.h, not ipc/internal/task_registry_impl.h"
#endif

#define CONCURRENT_INTERNAL_TASK_ID(n) CONCURRENT_INTERNAL_TASK_ID2(n)
#define CONCURRENT_INTERNAL_TASK_ID2(n) concurrent_internal_registered_task_##n

namespace concurrent::internal {

// A parameter type that can cross: codable once cv/ref are dropped, and not
// a non-const lvalue reference (the caller would not see the changes).
template <class P>
constexpr bool is_remote_param() {
  using D = std::remove_cvref_t<P>;
  const bool mutable_ref = std::is_lvalue_reference_v<P> &&
                           !std::is_const_v<std::remove_reference_t<P>>;
  return !mutable_ref && codable<D>() && std::is_default_constructible_v<D>;
}

template <class R>
constexpr bool is_remote_result() {
  if constexpr (std::is_void_v<R>) {
    return true;
  } else {
    using D = std::remove_cvref_t<R>;
    return codable<D>() && std::is_default_constructible_v<D>;
  }
}

template <class F>
struct TaskTraits {
  static constexpr bool is_function = false;
  static constexpr bool is_remote_task = false;
  using result = void;
};

template <class R, class... A>
struct FunctionTraits {
  static constexpr bool is_function = true;
  static constexpr bool is_remote_task =
      is_remote_result<R>() && (is_remote_param<A>() && ...);
  static constexpr size_t arity = sizeof...(A);
  using result =
      std::conditional_t<std::is_void_v<R>, void, std::remove_cvref_t<R>>;
  template <size_t I>
  using param = std::tuple_element_t<I, std::tuple<A...>>;
  // The decoded arguments, as the executing side stores them.
  using stored_args = std::tuple<std::remove_cvref_t<A>...>;
};

template <class R, class... A>
struct TaskTraits<R (*)(A...)> : FunctionTraits<R, A...> {};
template <class R, class... A>
struct TaskTraits<R (*)(A...) noexcept> : FunctionTraits<R, A...> {};

template <class F>
inline constexpr bool kNotATask = false;

// Compile-time errors, with a message, for what cannot cross.
template <class F>
constexpr void check_task() {
  if constexpr (std::is_member_function_pointer_v<F>) {
    static_assert(kNotATask<F>,
                  "a member function cannot cross a process boundary: "
                  "register a free function that takes the object as an "
                  "argument (CONCURRENT_REGISTER_TASK)");
  } else if constexpr (std::is_class_v<F>) {
    static_assert(kNotATask<F>,
                  "a lambda, std::function or other function object cannot "
                  "cross a process boundary: register a named free function "
                  "with CONCURRENT_REGISTER_TASK and pass that");
  } else if constexpr (!TaskTraits<F>::is_function) {
    static_assert(kNotATask<F>,
                  "a task must be a free function (a function pointer)");
  } else if constexpr (!TaskTraits<F>::is_remote_task) {
    static_assert(kNotATask<F>,
                  "a task's parameters and result must be codable "
                  "(ipc/codec.h), and its parameters not non-const "
                  "references: the caller would not see their changes");
  }
}

// Encodes argument `arg` as parameter type `P` of the task.
template <size_t I, class P, class Arg>
void encode_argument(Encoder& out, Arg&& arg) {
  using D = std::remove_cvref_t<P>;
  if constexpr (std::is_same_v<std::remove_cvref_t<Arg>, D>) {
    out(arg);
  } else {
    static_assert(std::is_convertible_v<Arg&&, D>,
                  "encode_call: an argument does not convert to the task's "
                  "parameter type");
    const D converted = std::forward<Arg>(arg);
    out(converted);
  }
}

// The compiler's spelling of function `F`'s qualified name, at compile time,
// from its spelling of the template argument in __PRETTY_FUNCTION__. g++
// spells a function template specialisation with its template arguments
// ("twice<int>"); clang 19 without them ("twice", for every specialisation),
// so under clang register_task() adds them as CONCURRENT_REGISTER_TASK's
// argument writes them (task_name_from() in task_registry.cc).
template <auto F>
constexpr std::string_view function_name() {
  std::string_view s = __PRETTY_FUNCTION__;
#if defined(__clang__)
  constexpr std::string_view kStart = "[F = ";
  constexpr std::string_view kEnds = "]";
#else
  constexpr std::string_view kStart = "[with auto F = ";
  constexpr std::string_view kEnds = ";]";
#endif
  s.remove_prefix(s.find(kStart) + kStart.size());
  s = s.substr(0, s.find_first_of(kEnds));
  if (!s.empty() && s.front() == '&') s.remove_prefix(1);
  return s;
}

#if defined(__clang__)
inline constexpr bool kSpellsTemplateArguments = false;
#else
inline constexpr bool kSpellsTemplateArguments = true;
#endif

// Decodes the arguments, calls the task, appends its encoded result.
using TaskInvoker = void (*)(std::span<const std::byte> args, Buffer& out);

template <auto F>
void invoke_task(std::span<const std::byte> args, Buffer& out) {
  using Traits = TaskTraits<decltype(F)>;
  typename Traits::stored_args stored;
  Decoder in(args);
  std::apply([&](auto&... a) { in(a...); }, stored);
  in.finish();
  if constexpr (std::is_void_v<typename Traits::result>) {
    std::apply(F, std::move(stored));
  } else {
    // A task returning a reference is encoded from the referred object.
    decltype(auto) result = std::apply(F, std::move(stored));
    encode(out, result);
  }
}

// Adds a task to the registry under the name composed from the compiler's
// spelling and, if not empty, the source spelling `written` (whose template
// arguments are added when the compiler's spelling has none). Returns true.
bool register_task_entry(std::string_view spelled, std::string_view written,
                         const void* address, TaskInvoker invoker);

// Registers `F`; `written` is how the registration writes it ("twice<int>",
// "math::add"), which supplies the template arguments that clang leaves out.
template <auto F>
bool register_task(std::string_view written) {
  using Fn = decltype(F);
  static_assert(
      std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>,
      "CONCURRENT_REGISTER_TASK: not a free function (lambdas, "
      "function objects and member functions cannot be "
      "registered)");
  check_task<Fn>();
  return register_task_entry(
      function_name<F>(),
      kSpellsTemplateArguments ? std::string_view() : written,
      reinterpret_cast<const void*>(F), &invoke_task<F>);
}

// The registered name of the function at `address`.
// Throws: UnregisteredTaskError naming it.
std::string_view task_name_of(const void* address);

[[noreturn]] void throw_void_result_not_empty(size_t size);

}  // namespace concurrent::internal

#endif  // CONCURRENT_IPC_INTERNAL_TASK_REGISTRY_IMPL_H_
