// Copyright 2026 The concurrent Authors.

#include "ipc/codec.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::concurrent::Buffer;
using ::concurrent::CodecError;
using ::concurrent::decode;
using ::concurrent::Decoder;
using ::concurrent::encode;
using ::testing::HasSubstr;

// A trivially copyable struct: copied as its bytes.
struct Pod {
  int32_t a;
  double b;
  char tag[5];
  bool operator==(const Pod& o) const {
    return a == o.a && b == o.b && std::memcmp(tag, o.tag, sizeof tag) == 0;
  }
};
static_assert(std::is_trivially_copyable_v<Pod>);

enum class Color : uint8_t { kRed = 1, kGreen = 2 };

// A user type through the member hook.
struct Order {
  std::string symbol;
  std::vector<double> prices;
  std::optional<int> quantity;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(symbol, prices, quantity);
  }
  bool operator==(const Order&) const = default;
};

// A trivially copyable type with a hook: the hook wins (it writes only x).
struct Hooked {
  int32_t x = 0;
  int32_t ignored = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x);
  }
};

// A recursive hooked type (a tree).
struct Node {
  int value = 0;
  std::vector<Node> children;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value, children);
  }
  bool operator==(const Node&) const = default;
};

// A hook that validates what it decodes.
struct Percent {
  int value = 0;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(value);
    if constexpr (Archive::is_loading) {
      if (value < 0 || value > 100) throw CodecError("percent out of range");
    }
  }
};

}  // namespace

// A user type through the free hook, in its own namespace (found by ADL).
namespace geo {
struct Point {
  std::string name;
  double x = 0, y = 0;
  bool operator==(const Point&) const = default;
};
template <class Archive>
void serialize(Archive& ar, Point& p) {
  ar(p.name, p.x, p.y);
}
}  // namespace geo

namespace {

template <class T>
T round_trip(const T& value) {
  Buffer buffer;
  encode(buffer, value);
  return decode<T>(buffer.bytes());
}

template <class T>
void expect_round_trip(const T& value) {
  EXPECT_EQ(round_trip(value), value);
}

TEST(CodecTest, Arithmetic) {
  expect_round_trip(int8_t{-5});
  expect_round_trip(uint16_t{65535});
  expect_round_trip(int32_t{-123456});
  expect_round_trip(std::numeric_limits<int64_t>::min());
  expect_round_trip(std::numeric_limits<uint64_t>::max());
  expect_round_trip(3.25f);
  expect_round_trip(-1e300);
  expect_round_trip('x');
  expect_round_trip(true);
  expect_round_trip(false);
  expect_round_trip(Color::kGreen);
  expect_round_trip(std::byte{0xab});
}

TEST(CodecTest, WireSizes) {
  Buffer b;
  encode(b, int32_t{1}, true, 2.0);
  EXPECT_EQ(b.size(), 4u + 1u + 8u);
  b.clear();
  encode(b, std::string("abc"));
  EXPECT_EQ(b.size(), 8u + 3u);
  b.clear();
  encode(b, std::optional<int64_t>());
  EXPECT_EQ(b.size(), 1u);
}

TEST(CodecTest, TriviallyCopyableStruct) {
  expect_round_trip(Pod{7, 2.5, {'a', 'b', 'c', 'd', 'e'}});
  expect_round_trip(std::array<Pod, 3>{});
}

TEST(CodecTest, Strings) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string("nul\0inside", 10));
  expect_round_trip(std::string(100000, 'z'));
}

TEST(CodecTest, Vectors) {
  expect_round_trip(std::vector<int>());
  expect_round_trip(std::vector<int>{1, 2, 3});
  expect_round_trip(std::vector<double>{1.5, -2.5});
  expect_round_trip(std::vector<bool>{true, false, true});
  expect_round_trip(std::vector<std::string>{"a", "", "ccc"});
  expect_round_trip(std::vector<Pod>{{1, 1.0, {}}, {2, 2.0, {'x'}}});
  expect_round_trip(std::vector<std::vector<int>>{{}, {1}, {2, 3}});
}

TEST(CodecTest, ArraysPairsTuplesOptionals) {
  expect_round_trip(std::array<int, 4>{1, 2, 3, 4});
  expect_round_trip(std::array<int, 0>{});
  expect_round_trip(std::array<std::string, 2>{"x", "yy"});
  expect_round_trip(std::array<bool, 3>{true, false, true});
  expect_round_trip(std::pair<int, std::string>(1, "one"));
  expect_round_trip(std::tuple<>());
  expect_round_trip(std::tuple<int, double, std::string>(1, 2.0, "three"));
  expect_round_trip(std::optional<std::string>());
  expect_round_trip(std::optional<std::string>("set"));
  expect_round_trip(std::optional<std::optional<int>>(std::optional<int>()));
}

TEST(CodecTest, Maps) {
  expect_round_trip(std::map<int, int>());
  expect_round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  expect_round_trip(std::map<int, std::vector<std::string>, std::greater<>>{
      {1, {"x"}}, {5, {}}, {3, {"y", "z"}}});
}

TEST(CodecTest, DeepNesting) {
  using Deep = std::map<std::string, std::vector<std::optional<std::tuple<
                                         int, std::pair<std::string, bool>,
                                         std::array<std::vector<double>, 2>>>>>;
  Deep value;
  value["k"].push_back(std::nullopt);
  value["k"].push_back(
      std::make_tuple(1, std::make_pair(std::string("p"), true),
                      std::array<std::vector<double>, 2>{
                          std::vector<double>{1.0}, std::vector<double>{}}));
  value["empty"];
  expect_round_trip(value);
}

TEST(CodecTest, MemberHook) {
  expect_round_trip(Order{"ACME", {1.0, 2.0}, 5});
  expect_round_trip(std::vector<Order>{{"A", {}, std::nullopt}, {"B", {3}, 1}});
}

TEST(CodecTest, FreeHookFoundByAdl) {
  expect_round_trip(geo::Point{"origin", 0.5, -1.5});
  expect_round_trip(std::map<int, geo::Point>{{1, {"p", 1, 2}}});
}

TEST(CodecTest, HookWinsOverBytes) {
  Buffer b;
  encode(b, Hooked{3, 99});
  EXPECT_EQ(b.size(), sizeof(int32_t));
  Hooked h = decode<Hooked>(b.bytes());
  EXPECT_EQ(h.x, 3);
  EXPECT_EQ(h.ignored, 0);
}

TEST(CodecTest, RecursiveHook) {
  Node tree{1, {Node{2, {}}, Node{3, {Node{4, {}}}}}};
  expect_round_trip(tree);
}

TEST(CodecTest, HookValidatesOnLoad) {
  Buffer b;
  encode(b, 150);
  EXPECT_THROW(decode<Percent>(b.bytes()), CodecError);
  b.clear();
  encode(b, 50);
  EXPECT_EQ(decode<Percent>(b.bytes()).value, 50);
}

TEST(CodecTest, SeveralValuesEqualATuple) {
  Buffer several;
  encode(several, 1, std::string("two"), 3.0);
  Buffer tuple;
  encode(tuple, std::make_tuple(1, std::string("two"), 3.0));
  ASSERT_EQ(several.size(), tuple.size());
  EXPECT_EQ(std::memcmp(several.data(), tuple.data(), tuple.size()), 0);
  Decoder in(several.bytes());
  int a = 0;
  std::string b;
  double c = 0;
  in(a, b, c);
  in.finish();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, "two");
  EXPECT_EQ(c, 3.0);
}

// A large vector decodes the same from a span whose start is misaligned
// (the zero-fill-then-copy path) as from an aligned one (the one-copy
// path).
TEST(CodecTest, VectorFromMisalignedSpan) {
  std::vector<double> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.5;
  Buffer b;
  encode(b, v);
  EXPECT_EQ(decode<std::vector<double>>(b.bytes()), v);
  std::vector<std::byte> shifted(b.size() + 1);
  std::memcpy(shifted.data() + 1, b.data(), b.size());
  EXPECT_EQ(decode<std::vector<double>>(
                std::span<const std::byte>(shifted).subspan(1)),
            v);
}

TEST(CodecTest, LargeVector) {
  std::vector<int64_t> v(8 << 20);  // 64 MiB
  for (size_t i = 0; i < v.size(); i += 4099) v[i] = static_cast<int64_t>(i);
  Buffer b;
  encode(b, v);
  EXPECT_LE(b.size(), v.size() * sizeof(int64_t) + 8 + 1 + 8);
  EXPECT_EQ(decode<std::vector<int64_t>>(b.bytes()), v);
}

// The example of docs/ipc.md ("Serialization"), with its output.
TEST(CodecTest, GuideExample) {
  concurrent::Buffer buffer;
  concurrent::encode(buffer, Order{"ACME", {1.5, 2.5}, 10});
  Order copy = concurrent::decode<Order>(buffer.bytes());
  char line[64];
  std::snprintf(line, sizeof line, "%s %zu %d (%zu bytes)\n",
                copy.symbol.c_str(), copy.prices.size(), *copy.quantity,
                buffer.size());
  EXPECT_STREQ(line, "ACME 2 10 (45 bytes)\n");
}

// --- Buffer -------------------------------------------------------------

TEST(BufferTest, AppendGrowsAndKeepsBytes) {
  Buffer b;
  for (int i = 0; i < 1000; ++i) encode(b, i);
  ASSERT_EQ(b.size(), 1000 * sizeof(int));
  Decoder in(b.bytes());
  for (int i = 0; i < 1000; ++i) {
    int x = -1;
    in(x);
    ASSERT_EQ(x, i);
  }
  in.finish();
}

TEST(BufferTest, ReserveTruncateClearMove) {
  Buffer b(100);
  EXPECT_GE(b.capacity(), 100u);
  encode(b, std::string("abcdef"));
  const size_t size = b.size();
  encode(b, 42);
  b.truncate(size);
  EXPECT_EQ(decode<std::string>(b.bytes()), "abcdef");
  Buffer moved = std::move(b);
  EXPECT_EQ(decode<std::string>(moved.bytes()), "abcdef");
  moved.clear();
  EXPECT_EQ(moved.size(), 0u);
}

// A Buffer over fixed storage (as a shared-memory slot would be): encoding
// writes into it until it is full, then grow() throws.
class FixedBuffer : public Buffer {
 public:
  explicit FixedBuffer(std::span<std::byte> storage) {
    set_storage(storage.data(), storage.size());
  }

 protected:
  void grow(size_t min_capacity) override {
    throw CodecError("fixed buffer of " + std::to_string(capacity()) +
                     " bytes cannot hold " + std::to_string(min_capacity));
  }
};

TEST(BufferTest, SubclassStorage) {
  alignas(16) std::byte storage[64];
  FixedBuffer b(storage);
  encode(b, std::string("in place"));
  EXPECT_EQ(b.data(), storage);
  EXPECT_EQ(decode<std::string>(std::span<const std::byte>(storage, b.size())),
            "in place");
  try {
    encode(b, std::vector<int64_t>(100));
    FAIL() << "expected CodecError";
  } catch (const CodecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot hold"));
  }
}

// --- Errors -------------------------------------------------------------

template <class T>
std::string decode_error(std::span<const std::byte> bytes) {
  try {
    decode<T>(bytes);
  } catch (const CodecError& e) {
    return e.what();
  }
  return "no error";
}

TEST(CodecErrorTest, IsAConcurrentError) {
  static_assert(std::is_base_of_v<concurrent::Error, CodecError>);
}

TEST(CodecErrorTest, EveryTruncationFails) {
  Buffer b;
  encode(b, Order{"symbol", {1, 2, 3}, 4},
         std::map<std::string, int>{{"a", 1}});
  for (size_t n = 0; n < b.size(); ++n) {
    Decoder in(b.bytes().first(n));
    Order o;
    std::map<std::string, int> m;
    EXPECT_THROW(
        {
          in(o, m);
          in.finish();
        },
        CodecError)
        << "prefix of " << n << " bytes";
  }
}

TEST(CodecErrorTest, TruncatedMessage) {
  Buffer b;
  encode(b, int64_t{1});
  EXPECT_THAT(decode_error<int64_t>(b.bytes().first(3)),
              HasSubstr("truncated input: 8 bytes needed, 3 left"));
}

TEST(CodecErrorTest, TrailingBytes) {
  Buffer b;
  encode(b, 1, 2);
  EXPECT_THAT(decode_error<int>(b.bytes()),
              HasSubstr("4 unexpected trailing bytes"));
}

TEST(CodecErrorTest, HugeLengthsDoNotAllocate) {
  for (uint64_t n :
       {uint64_t{1} << 62, ~uint64_t{0}, uint64_t{1} << 31, uint64_t{19}}) {
    Buffer b;
    encode(b, n, std::string("0123456789"));  // a length, then 18 bytes
    const auto bytes = b.bytes();
    EXPECT_THAT(decode_error<std::string>(bytes), HasSubstr("runs past"));
    EXPECT_THAT(decode_error<std::vector<std::string>>(bytes),
                HasSubstr("runs past"));
    EXPECT_THAT(decode_error<std::vector<bool>>(bytes), HasSubstr("runs past"));
    EXPECT_THAT((decode_error<std::map<int, int>>(bytes)),
                HasSubstr("runs past"));
  }
  // A bytewise vector: the count checked against the bytes after padding.
  Buffer b;
  encode(b, std::vector<int64_t>{1, 2});
  uint64_t huge = uint64_t{1} << 61;
  std::memcpy(b.data(), &huge, sizeof huge);
  EXPECT_THAT(decode_error<std::vector<int64_t>>(b.bytes()),
              HasSubstr("runs past"));
}

TEST(CodecErrorTest, BadBoolAndOptionalFlag) {
  const std::byte two[] = {std::byte{2}};
  EXPECT_THAT(decode_error<bool>(two), HasSubstr("a bool byte of 2"));
  EXPECT_THAT(decode_error<std::optional<char>>(two),
              HasSubstr("a bool byte of 2"));
}

TEST(CodecErrorTest, BadPadding) {
  Buffer b;
  encode(b, std::vector<double>{1.0});
  // Byte 8 is the padding count: more than alignof(double) - 1 is corrupt.
  b.data()[8] = std::byte{9};
  EXPECT_THAT(decode_error<std::vector<double>>(b.bytes()),
              HasSubstr("padding"));
}

TEST(CodecErrorTest, MapKeysOutOfOrder) {
  Buffer b;
  encode(b, uint64_t{2}, 5, 50, 3, 30);  // keys 5 then 3
  EXPECT_THAT((decode_error<std::map<int, int>>(b.bytes())),
              HasSubstr("out of order"));
  b.clear();
  encode(b, uint64_t{2}, 5, 50, 5, 30);  // duplicated key
  EXPECT_THAT((decode_error<std::map<int, int>>(b.bytes())),
              HasSubstr("out of order"));
}

TEST(CodecErrorTest, NestingDepthIsBounded) {
  // A chain of Decoder::kMaxDepth + 1 nodes, each with one child.
  Buffer b;
  for (int i = 0; i <= Decoder::kMaxDepth; ++i) encode(b, i, uint64_t{1});
  encode(b, 0, uint64_t{0});
  EXPECT_THAT(decode_error<Node>(b.bytes()), HasSubstr("nested deeper"));
}

TEST(CodecErrorTest, MessageSaysWhere) {
  Buffer b;
  encode(b, int32_t{1}, uint8_t{7});
  EXPECT_THAT((decode_error<std::pair<int32_t, bool>>(b.bytes())),
              HasSubstr("at byte 5 of 5"));
}

// --- Compile-time classification -----------------------------------------

static_assert(concurrent::Codable<int>);
static_assert(concurrent::Codable<Pod>);
static_assert(concurrent::Codable<Order>);
static_assert(concurrent::Codable<geo::Point>);
static_assert(concurrent::Codable<std::map<std::string, std::vector<Order>>>);
static_assert(!concurrent::Codable<int*>);
static_assert(!concurrent::Codable<const char*>);
static_assert(!concurrent::Codable<std::string_view>);
static_assert(!concurrent::Codable<std::span<int>>);
static_assert(!concurrent::Codable<std::vector<int*>>);
static_assert(!concurrent::Codable<std::optional<std::string_view>>);
static_assert(!concurrent::Codable<std::unique_ptr<int>>);

}  // namespace
