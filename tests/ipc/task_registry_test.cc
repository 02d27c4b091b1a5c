// Copyright 2026 The concurrent Authors.

#include "ipc/task_registry.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ipc/codec.h"
#include "ipc/remote_error.h"

// --- Tasks -----------------------------------------------------------------

namespace math {
int64_t add(int64_t a, int64_t b) { return a + b; }
CONCURRENT_REGISTER_TASK(add);

namespace inner {
std::vector<double> scale(const std::vector<double>& v, double k) {
  std::vector<double> out = v;
  for (double& x : out) x *= k;
  return out;
}
}  // namespace inner
}  // namespace math
CONCURRENT_REGISTER_TASK(math::inner::scale);

template <class T>
T twice(T x) {
  return x + x;
}
CONCURRENT_REGISTER_TASK(twice<int>);
CONCURRENT_REGISTER_TASK(twice<std::string>);

// Specialisations with the same signature, told apart by a non-type template
// argument only (a comma in the macro's argument, too).
namespace picks {
template <class T, int N>
T times(T x) {
  return x * N;
}
}  // namespace picks
CONCURRENT_REGISTER_TASK(picks::times<int64_t, 2>);
CONCURRENT_REGISTER_TASK(picks::times<int64_t, 3>);

// A static member function template: the class's template arguments are part
// of the qualifier, the function's own are the last component's.
template <class T>
struct Box {
  template <class U>
  static U negate(U x) {
    return -x;
  }
};
CONCURRENT_REGISTER_TASK(Box<char>::negate<int>);

namespace {
int in_anonymous(int x) { return -x; }
CONCURRENT_REGISTER_TASK(in_anonymous);
CONCURRENT_REGISTER_TASK(in_anonymous);  // twice: harmless

int g_side_effect = 0;
void no_result(int x) { g_side_effect = x; }
CONCURRENT_REGISTER_TASK(no_result);

std::string takes_rvalue(std::string&& s) { return s + "!"; }
CONCURRENT_REGISTER_TASK(takes_rvalue);

int noexcept_task(int x) noexcept { return x * 10; }
CONCURRENT_REGISTER_TASK(noexcept_task);

const std::string& returns_reference() {
  static const std::string kValue = "referred";
  return kValue;
}
CONCURRENT_REGISTER_TASK(returns_reference);

int not_registered(int x) { return x; }
}  // namespace

static std::string same_name_helper() { return "this file"; }
CONCURRENT_REGISTER_TASK(same_name_helper);
std::string (*other_same_name_helper())();

// A user type through the hook, as a parameter and as the result.
namespace shop {
struct Item {
  std::string name;
  std::map<std::string, int> stock;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, stock);
  }
  bool operator==(const Item&) const = default;
};

Item restock(Item item, int extra) {
  for (auto& [_, n] : item.stock) n += extra;
  return item;
}
CONCURRENT_REGISTER_TASK(restock);
}  // namespace shop

// --- Tasks that throw --------------------------------------------------------

struct RegisteredError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
CONCURRENT_REGISTER_EXCEPTION(RegisteredError);

struct UnregisteredError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

namespace throwing {
int throws_invalid_argument(int) { throw std::invalid_argument("bad x"); }
CONCURRENT_REGISTER_TASK(throws_invalid_argument);
int throws_out_of_range(int) { throw std::out_of_range("too far"); }
CONCURRENT_REGISTER_TASK(throws_out_of_range);
int throws_registered(int) { throw RegisteredError("user's own"); }
CONCURRENT_REGISTER_TASK(throws_registered);
int throws_unregistered(int) { throw UnregisteredError("not registered"); }
CONCURRENT_REGISTER_TASK(throws_unregistered);
int throws_int(int) { throw 42; }
CONCURRENT_REGISTER_TASK(throws_int);
int throws_bad_alloc(int) { throw std::bad_alloc(); }
CONCURRENT_REGISTER_TASK(throws_bad_alloc);
int throws_timeout(int) { throw concurrent::TimeoutError("slow"); }
CONCURRENT_REGISTER_TASK(throws_timeout);
int throws_remote(int) {
  throw concurrent::RemoteError("inner::Type", "deep", 4242, "inner::task");
}
CONCURRENT_REGISTER_TASK(throws_remote);
}  // namespace throwing

namespace {

using ::concurrent::Buffer;
using ::concurrent::CodecError;
using ::concurrent::decode_exception;
using ::concurrent::decode_result;
using ::concurrent::encode_call;
using ::concurrent::RemoteError;
using ::concurrent::task_name;
using ::concurrent::task_result_t;
using ::concurrent::UnknownTaskError;
using ::concurrent::UnregisteredTaskError;
using ::concurrent::internal::invoke_registered;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What a process pool does, in one process: encode the call, invoke it by
// name, decode the result or rethrow the exception.
template <class F, class... Args>
task_result_t<F> call_by_name(F fn, Args&&... args) {
  Buffer call;
  const std::string_view name =
      encode_call(call, fn, std::forward<Args>(args)...);
  Buffer reply;
  if (!invoke_registered(name, call.bytes(), reply)) {
    std::rethrow_exception(decode_exception(reply.bytes()));
  }
  return decode_result<task_result_t<F>>(reply.bytes());
}

TEST(TaskRegistryTest, NamesAreQualified) {
  EXPECT_EQ(task_name(&math::add), "math::add");
  EXPECT_EQ(task_name(&math::inner::scale), "math::inner::scale");
  EXPECT_EQ(task_name(&shop::restock), "shop::restock");
  // One spelling of the anonymous namespace under g++ and clang.
  EXPECT_EQ(task_name(&in_anonymous), "(anonymous namespace)::in_anonymous");
  // A name of its own for each specialisation. Arguments that the compilers
  // spell alike ...
  EXPECT_EQ(task_name(&twice<int>), "twice<int>");
  EXPECT_EQ(task_name(&Box<char>::negate<int>), "Box<char>::negate<int>");
  // ... and the ones they spell differently: g++ canonically
  // ("twice<std::__cxx11::basic_string<char> >", "picks::times<long int, 2>"),
  // clang as the macro's argument was written ("twice<std::string>",
  // "picks::times<int64_t, 2>").
  const std::string string_twice(task_name(&twice<std::string>));
  EXPECT_THAT(string_twice, StartsWith("twice<std::"));
  EXPECT_THAT(string_twice, HasSubstr("string"));
  EXPECT_THAT(string_twice, EndsWith(">"));
  const std::string times2(task_name(&picks::times<int64_t, 2>));
  const std::string times3(task_name(&picks::times<int64_t, 3>));
  EXPECT_THAT(times2, StartsWith("picks::times<"));
  EXPECT_THAT(times2, EndsWith(", 2>"));
  EXPECT_THAT(times3, StartsWith("picks::times<"));
  EXPECT_THAT(times3, EndsWith(", 3>"));
  EXPECT_EQ(times2.substr(0, times2.size() - 2),
            times3.substr(0, times3.size() - 2));
  // A function reference decays to its pointer.
  EXPECT_EQ(task_name(math::add), "math::add");
}

TEST(TaskRegistryTest, RoundTrip) {
  EXPECT_EQ(call_by_name(&math::add, 2, 40), 42);
  EXPECT_EQ(call_by_name(&math::inner::scale, std::vector<double>{1, 2}, 1.5),
            (std::vector<double>{1.5, 3.0}));
  EXPECT_EQ(call_by_name(&twice<int>, 21), 42);
  EXPECT_EQ(call_by_name(&twice<std::string>, std::string("ab")), "abab");
  EXPECT_EQ(call_by_name(&picks::times<int64_t, 2>, 7), 14);
  EXPECT_EQ(call_by_name(&picks::times<int64_t, 3>, 7), 21);
  EXPECT_EQ(call_by_name(&Box<char>::negate<int>, 7), -7);
  EXPECT_EQ(call_by_name(&in_anonymous, 5), -5);
  EXPECT_EQ(call_by_name(&takes_rvalue, std::string("hi")), "hi!");
  EXPECT_EQ(call_by_name(&noexcept_task, 4), 40);
  EXPECT_EQ(call_by_name(&returns_reference), "referred");
  static_assert(
      std::is_same_v<task_result_t<decltype(&returns_reference)>, std::string>);
}

TEST(TaskRegistryTest, VoidTask) {
  g_side_effect = 0;
  call_by_name(&no_result, 7);
  EXPECT_EQ(g_side_effect, 7);
  static_assert(std::is_void_v<task_result_t<decltype(&no_result)>>);
  const std::byte one[] = {std::byte{1}};
  EXPECT_THROW(decode_result<void>(one), CodecError);
}

TEST(TaskRegistryTest, UserTypeThroughTheHook) {
  shop::Item item{"apples", {{"north", 1}, {"south", 2}}};
  EXPECT_EQ(call_by_name(&shop::restock, item, 10),
            (shop::Item{"apples", {{"north", 11}, {"south", 12}}}));
}

TEST(TaskRegistryTest, ArgumentsConvertToParameterTypes) {
  // int -> int64_t, a string literal -> std::string, float -> double.
  Buffer converted;
  encode_call(converted, &math::add, 1, 2);
  Buffer exact;
  encode_call(exact, &math::add, int64_t{1}, int64_t{2});
  ASSERT_EQ(converted.size(), 2 * sizeof(int64_t));
  EXPECT_TRUE(std::equal(converted.bytes().begin(), converted.bytes().end(),
                         exact.bytes().begin(), exact.bytes().end()));
  EXPECT_EQ(call_by_name(&twice<std::string>, "literal"), "literalliteral");
  EXPECT_EQ(call_by_name(&math::inner::scale, std::vector<double>{2}, 0.5f),
            std::vector<double>{1.0});
}

TEST(TaskRegistryTest, UnregisteredFunctionIsNamed) {
  Buffer out;
  try {
    encode_call(out, &not_registered, 1);
    FAIL() << "expected UnregisteredTaskError";
  } catch (const UnregisteredTaskError& e) {
    RecordProperty("message", e.what());
    EXPECT_THAT(e.what(), HasSubstr("not_registered"));
    EXPECT_THAT(e.what(),
                HasSubstr("add CONCURRENT_REGISTER_TASK(not_registered)"));
  }
  EXPECT_EQ(out.size(), 0u);
  static_assert(std::is_base_of_v<concurrent::Error, UnregisteredTaskError>);
}

TEST(TaskRegistryTest, AmbiguousNameIsRefusedOnBothSides) {
  EXPECT_THROW(task_name(&same_name_helper), UnregisteredTaskError);
  try {
    task_name(other_same_name_helper());
    FAIL() << "expected UnregisteredTaskError";
  } catch (const UnregisteredTaskError& e) {
    EXPECT_THAT(e.what(), HasSubstr("same_name_helper"));
    EXPECT_THAT(e.what(), HasSubstr("two different functions"));
  }
  Buffer reply;
  EXPECT_FALSE(invoke_registered("same_name_helper", {}, reply));
  EXPECT_THROW(std::rethrow_exception(decode_exception(reply.bytes())),
               UnknownTaskError);
}

TEST(TaskRegistryTest, UnknownNameIsAClearError) {
  Buffer reply;
  reply.append("header", 6);  // invoke_registered appends after this
  EXPECT_FALSE(invoke_registered("newer::task", {}, reply));
  try {
    std::rethrow_exception(decode_exception(reply.bytes().subspan(6)));
  } catch (const UnknownTaskError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no task named \"newer::task\""));
  }
  // Garbage names are escaped in the message.
  reply.clear();
  EXPECT_FALSE(invoke_registered(std::string_view("\x01\xff", 2), {}, reply));
  try {
    std::rethrow_exception(decode_exception(reply.bytes()));
  } catch (const UnknownTaskError& e) {
    EXPECT_THAT(e.what(), HasSubstr("\\x01\\xff"));
  }
}

TEST(TaskRegistryTest, ArgumentsThatDoNotDecode) {
  Buffer call;
  encode_call(call, &math::add, 1, 2);
  Buffer reply;
  EXPECT_FALSE(invoke_registered("math::add", call.bytes().first(12), reply));
  EXPECT_THROW(std::rethrow_exception(decode_exception(reply.bytes())),
               CodecError);
  reply.clear();
  call.append("x", 1);
  EXPECT_FALSE(invoke_registered("math::add", call.bytes(), reply));
  try {
    std::rethrow_exception(decode_exception(reply.bytes()));
  } catch (const CodecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("trailing"));
  }
}

// A Buffer that cannot grow past its first 32 bytes.
class TinyBuffer : public Buffer {
 public:
  TinyBuffer() { set_storage(storage_, sizeof storage_); }

 protected:
  void grow(size_t) override { throw CodecError("tiny buffer is full"); }

 private:
  alignas(16) std::byte storage_[32];
};

TEST(TaskRegistryTest, ResultTooLargeForTheBuffer) {
  Buffer call;
  encode_call(call, &math::inner::scale, std::vector<double>(100, 1.0), 2.0);
  TinyBuffer reply;
  EXPECT_FALSE(invoke_registered("math::inner::scale", call.bytes(), reply));
  // Not even the exception fits: nothing appended, which decodes as a
  // CodecError.
  EXPECT_EQ(reply.size(), 0u);
  EXPECT_THROW(std::rethrow_exception(decode_exception(reply.bytes())),
               CodecError);
}

// --- Concurrency -----------------------------------------------------------

int64_t registered_late(int64_t x) { return x + 1; }

// Lookups from several threads while a task is registered at run time (as
// dlopen would); ThreadSanitizer checks the lock-free read path.
TEST(TaskRegistryTest, ConcurrentLookupsAndLateRegistration) {
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        ASSERT_EQ(call_by_name(&math::add, 1, 2), 3);
        calls.fetch_add(1);
      }
    });
  }
  while (calls.load() < 100) std::this_thread::yield();
  EXPECT_THROW(task_name(&registered_late), UnregisteredTaskError);
  concurrent::internal::register_task<&registered_late>("registered_late");
  EXPECT_EQ(call_by_name(&registered_late, 41), 42);
  const int seen = calls.load();
  while (calls.load() < seen + 100) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
}

// A child forked while other threads of the parent are looking tasks up
// can invoke tasks at once: the read path holds no lock that the fork could
// copy in a held state.
TEST(TaskRegistryTest, ForkedChildInvokesWhileParentLooksUp) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) ASSERT_EQ(call_by_name(&math::add, 2, 2), 4);
    });
  }
  for (int i = 0; i < 20; ++i) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Buffer call;
      const std::string_view name = encode_call(call, &math::add, 20, 22);
      Buffer reply;
      const bool ok = invoke_registered(name, call.bytes(), reply) &&
                      decode_result<int64_t>(reply.bytes()) == 42;
      _exit(ok ? 0 : 1);
    }
    // Bounded wait: a hung child is killed and fails the test.
    int status = 0;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (done == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "forked child " << i << " hung";
      break;
    }
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  stop = true;
  for (auto& t : readers) t.join();
}

// --- Exceptions ------------------------------------------------------------

template <class F>
std::exception_ptr exception_of(F fn) {
  Buffer call;
  const std::string_view name = encode_call(call, fn, 1);
  Buffer reply;
  EXPECT_FALSE(invoke_registered(name, call.bytes(), reply));
  return decode_exception(reply.bytes());
}

TEST(RemoteExceptionTest, StandardTypesComeBackAsThemselves) {
  try {
    std::rethrow_exception(exception_of(&throwing::throws_invalid_argument));
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad x");
  } catch (...) {
    FAIL() << "not a std::invalid_argument";
  }
  try {
    std::rethrow_exception(exception_of(&throwing::throws_out_of_range));
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "too far");
  }
  EXPECT_THROW(
      std::rethrow_exception(exception_of(&throwing::throws_bad_alloc)),
      std::bad_alloc);
  try {
    std::rethrow_exception(exception_of(&throwing::throws_timeout));
  } catch (const concurrent::TimeoutError& e) {
    EXPECT_STREQ(e.what(), "slow");
  }
}

// Derived-most first: an invalid_argument is not sliced to its registered
// base logic_error.
TEST(RemoteExceptionTest, ExactTypeNotABase) {
  std::exception_ptr e = exception_of(&throwing::throws_invalid_argument);
  try {
    std::rethrow_exception(e);
  } catch (const std::invalid_argument&) {
    SUCCEED();
  } catch (const std::logic_error&) {
    FAIL() << "came back as std::logic_error";
  }
}

TEST(RemoteExceptionTest, RegisteredUserType) {
  try {
    std::rethrow_exception(exception_of(&throwing::throws_registered));
  } catch (const RegisteredError& e) {
    EXPECT_STREQ(e.what(), "user's own");
  }
}

TEST(RemoteExceptionTest, UnregisteredTypeIsRemoteError) {
  try {
    std::rethrow_exception(exception_of(&throwing::throws_unregistered));
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.type_name(), "UnregisteredError");
    EXPECT_EQ(e.message(), "not registered");
    EXPECT_EQ(e.pid(), getpid());
    EXPECT_EQ(e.function_name(), "throwing::throws_unregistered");
    EXPECT_STREQ(e.what(), ("UnregisteredError: not registered (raised by task "
                            "throwing::throws_unregistered in process " +
                            std::to_string(getpid()) + ")")
                               .c_str());
  }
}

TEST(RemoteExceptionTest, NonStdExceptionIsRemoteError) {
  try {
    std::rethrow_exception(exception_of(&throwing::throws_int));
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.type_name(), "int");
    EXPECT_EQ(e.message(), "");
  }
}

TEST(RemoteExceptionTest, RemoteErrorPassesThrough) {
  try {
    std::rethrow_exception(exception_of(&throwing::throws_remote));
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.type_name(), "inner::Type");
    EXPECT_EQ(e.message(), "deep");
    EXPECT_EQ(e.pid(), 4242);
    EXPECT_EQ(e.function_name(), "inner::task");
  }
}

TEST(RemoteExceptionTest, CorruptFramesGiveCodecError) {
  Buffer reply;
  EXPECT_FALSE(invoke_registered(
      "throwing::throws_unregistered",
      [] {
        static Buffer b;
        b.clear();
        concurrent::encode(b, 1);
        return b.bytes();
      }(),
      reply));
  // Every truncation, and a wrong version byte, give a CodecError.
  for (size_t n = 0; n < reply.size(); ++n) {
    std::exception_ptr e = decode_exception(reply.bytes().first(n));
    EXPECT_THROW(std::rethrow_exception(e), CodecError) << n;
  }
  reply.data()[0] = std::byte{99};
  try {
    std::rethrow_exception(decode_exception(reply.bytes()));
  } catch (const CodecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("version 99"));
  }
}

// --- Compile-time rules ------------------------------------------------------

struct Widget {
  int method(int x) { return x; }
};
using TakesMutableReference = int (*)(int&);
using TakesPointer = int (*)(const char*);
using ReturnsPointer = int* (*)();

static_assert(concurrent::RemoteTask<decltype(&math::add)>);
static_assert(concurrent::RemoteTask<decltype(math::add)>);
static_assert(concurrent::RemoteTask<decltype(&noexcept_task)>);
static_assert(!concurrent::RemoteTask<decltype(&Widget::method)>);
static_assert(!concurrent::RemoteTask<std::function<int(int)>>);
using Captureless = decltype([](int x) { return x; });
static_assert(!concurrent::RemoteTask<Captureless>);
static_assert(!concurrent::RemoteTask<TakesMutableReference>);
static_assert(!concurrent::RemoteTask<TakesPointer>);
static_assert(!concurrent::RemoteTask<ReturnsPointer>);

}  // namespace
