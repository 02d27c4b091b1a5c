// Copyright 2026 The concurrent Authors.

#include "tests/ipc/codec_fuzz_target.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "futures/errors.h"
#include "ipc/codec.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace concurrent::fuzz {
namespace {

struct Pod {
  int32_t a;
  double b;
  char c[3];
  bool operator==(const Pod& o) const {
    return a == o.a && std::memcmp(&b, &o.b, sizeof b) == 0 &&
           std::memcmp(c, o.c, sizeof c) == 0;
  }
};

// A recursive hooked type.
struct Tree {
  std::string label;
  std::vector<Tree> children;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(label, children);
  }
  bool operator==(const Tree&) const = default;
};

using Value =
    std::tuple<std::map<std::string, std::vector<std::optional<Pod>>>,
               std::vector<std::string>, std::array<bool, 3>,
               std::optional<std::pair<int64_t, std::string>>,
               std::vector<int64_t>, Tree, std::map<int32_t, std::vector<bool>>,
               std::vector<std::vector<double>>>;

// Compares doubles by their bits (NaN == NaN).
bool same(const Value& a, const Value& b) {
  // Only the doubles need care; Pod compares them bitwise already.
  const auto& va = std::get<7>(a);
  const auto& vb = std::get<7>(b);
  if (va.size() != vb.size()) return false;
  for (size_t i = 0; i < va.size(); ++i) {
    if (va[i].size() != vb[i].size()) return false;
    if (!va[i].empty() && std::memcmp(va[i].data(), vb[i].data(),
                                      va[i].size() * sizeof(double)) != 0) {
      return false;
    }
  }
  return std::get<0>(a) == std::get<0>(b) && std::get<1>(a) == std::get<1>(b) &&
         std::get<2>(a) == std::get<2>(b) && std::get<3>(a) == std::get<3>(b) &&
         std::get<4>(a) == std::get<4>(b) && std::get<5>(a) == std::get<5>(b) &&
         std::get<6>(a) == std::get<6>(b);
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "codec fuzz target: %s\n", what);
  std::abort();
}

Outcome decode_value(std::span<const std::byte> bytes) {
  Value value;
  try {
    value = decode<Value>(bytes);
  } catch (const CodecError&) {
    return Outcome::kRejected;
  }
  Buffer again;
  encode(again, value);
  if (!same(decode<Value>(again.bytes()), value)) die("round trip differs");
  return Outcome::kDecoded;
}

Outcome decode_exception_frame(std::span<const std::byte> bytes) {
  std::exception_ptr e = decode_exception(bytes);
  if (e == nullptr) die("decode_exception returned null");
  try {
    std::rethrow_exception(e);
  } catch (const CodecError&) {
    return Outcome::kRejected;
  } catch (const RemoteError& r) {
    // Touch every field.
    volatile size_t n = r.type_name().size() + r.message().size() +
                        r.function_name().size() + std::strlen(r.what());
    (void)n;
  } catch (const std::exception& x) {
    volatile size_t n = std::strlen(x.what());
    (void)n;
  } catch (...) {
    die("decode_exception gave a non-std exception");
  }
  return Outcome::kDecoded;
}

Tree grow_tree(Tree t, int32_t extra) {
  t.children.push_back(Tree{std::to_string(extra), {}});
  return t;
}
CONCURRENT_REGISTER_TASK(grow_tree);

std::map<std::string, int64_t> count_words(const std::vector<std::string>& w) {
  std::map<std::string, int64_t> counts;
  for (const auto& s : w) ++counts[s];
  return counts;
}
CONCURRENT_REGISTER_TASK(count_words);

// Input: one byte n, n bytes of task name, then the arguments.
Outcome invoke(std::span<const std::byte> bytes) {
  if (bytes.empty()) return Outcome::kRejected;
  const size_t n =
      std::min<size_t>(static_cast<size_t>(bytes[0]), bytes.size() - 1);
  const std::string_view name(reinterpret_cast<const char*>(bytes.data() + 1),
                              n);
  Buffer reply;
  const bool ok =
      internal::invoke_registered(name, bytes.subspan(1 + n), reply);
  if (!ok) {
    decode_exception_frame(reply.bytes());
    return Outcome::kRejected;
  }
  try {
    if (name == task_name(&grow_tree)) {
      decode_result<Tree>(reply.bytes());
    } else if (name == task_name(&count_words)) {
      decode_result<std::map<std::string, int64_t>>(reply.bytes());
    } else {
      die("a call succeeded under an unexpected name");
    }
  } catch (const CodecError&) {
    die("a task's result does not decode");
  }
  return Outcome::kDecoded;
}

std::vector<std::byte> with_selector(uint8_t selector, const Buffer& body) {
  std::vector<std::byte> input(1 + body.size());
  input[0] = static_cast<std::byte>(selector);
  if (body.size() != 0) std::memcpy(input.data() + 1, body.data(), body.size());
  return input;
}

std::vector<std::byte> call_input(std::string_view name, const Buffer& args) {
  Buffer body;
  encode(body, static_cast<uint8_t>(name.size()));
  body.append(name.data(), name.size());
  body.append(args.data(), args.size());
  return with_selector(2, body);
}

}  // namespace

Outcome run_one(std::span<const std::byte> input) {
  if (input.empty()) return Outcome::kRejected;
  const auto rest = input.subspan(1);
  try {
    switch (static_cast<uint8_t>(input[0]) % 3) {
      case 0:
        return decode_value(rest);
      case 1:
        return decode_exception_frame(rest);
      default:
        return invoke(rest);
    }
  } catch (const CodecError&) {
    return Outcome::kRejected;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "codec fuzz target: unexpected %s\n", e.what());
    std::abort();
  }
}

std::vector<std::vector<std::byte>> seed_inputs() {
  std::vector<std::vector<std::byte>> seeds;
  Value value;
  std::get<0>(value)["alpha"] = {std::nullopt, Pod{1, 2.5, {'x', 'y', 'z'}}};
  std::get<0>(value)["beta"] = {};
  std::get<1>(value) = {"one", "", "three"};
  std::get<2>(value) = {true, false, true};
  std::get<3>(value) = std::make_pair(int64_t{-7}, std::string("seven"));
  std::get<4>(value) = {1, 2, 3, 4, 5};
  std::get<5>(value) =
      Tree{"root", {Tree{"a", {}}, Tree{"b", {Tree{"c", {}}}}}};
  std::get<6>(value) = {{1, {true}}, {2, {false, true}}};
  std::get<7>(value) = {{1.5}, {}, {2.5, 3.5}};
  Buffer body;
  encode(body, value);
  seeds.push_back(with_selector(0, body));
  body.clear();
  encode(body, Value{});
  seeds.push_back(with_selector(0, body));

  // Exception frames: a registered type and a RemoteError.
  for (std::exception_ptr e :
       {std::make_exception_ptr(std::invalid_argument("bad")),
        std::make_exception_ptr(RemoteError("T", "m", 1, "f")),
        std::make_exception_ptr(42)}) {
    body.clear();
    internal::encode_exception(e, "some::task", body);
    seeds.push_back(with_selector(1, body));
  }

  // Calls.
  Buffer args;
  encode_call(args, &grow_tree, Tree{"t", {Tree{"u", {}}}}, 3);
  seeds.push_back(call_input(task_name(&grow_tree), args));
  args.clear();
  encode_call(args, &count_words, std::vector<std::string>{"a", "b", "a"});
  seeds.push_back(call_input(task_name(&count_words), args));
  return seeds;
}

}  // namespace concurrent::fuzz
