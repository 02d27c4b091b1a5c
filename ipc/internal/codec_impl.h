// Copyright 2026 The concurrent Authors.
//
// The templates behind ipc/codec.h: type traits that classify the codable
// types, and encode_value()/decode_value(), one branch per kind of type.
// Included by ipc/codec.h only; nothing here is public API.

#ifndef CONCURRENT_IPC_INTERNAL_CODEC_IMPL_H_
#define CONCURRENT_IPC_INTERNAL_CODEC_IMPL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef CONCURRENT_IPC_CODEC_H_
#error "include ipc/codec.h, not ipc/internal/codec_impl.h"
#endif

namespace concurrent::internal {

// --- Classification ---------------------------------------------------------

template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {
  using element = T;
};

template <class T>
struct IsString : std::false_type {};
template <class A>
struct IsString<std::basic_string<char, std::char_traits<char>, A>>
    : std::true_type {};

template <class T>
struct IsStdArray : std::false_type {};
template <class T, size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {
  using element = T;
  static constexpr size_t size = N;
};

template <class T>
struct IsPair : std::false_type {};
template <class A, class B>
struct IsPair<std::pair<A, B>> : std::true_type {};

template <class T>
struct IsTuple : std::false_type {};
template <class... Ts>
struct IsTuple<std::tuple<Ts...>> : std::true_type {};

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {
  using element = T;
};

template <class T>
struct IsMap : std::false_type {};
template <class K, class V, class C, class A>
struct IsMap<std::map<K, V, C, A>> : std::true_type {
  using key = K;
  using mapped = V;
};

// Trivially copyable types that hold addresses: never copied as bytes.
template <class T>
struct IsView : std::false_type {};
template <class C, class Tr>
struct IsView<std::basic_string_view<C, Tr>> : std::true_type {};
template <class T, size_t N>
struct IsView<std::span<T, N>> : std::true_type {};
template <class T>
struct IsView<std::reference_wrapper<T>> : std::true_type {};

template <class T>
concept HasMemberHook = requires(T& t, Encoder& e, Decoder& d) {
  t.serialize(e);
  t.serialize(d);
};

namespace hook_lookup {
// Hides any `serialize` of enclosing namespaces: only argument-dependent
// lookup finds a user's free hook.
void serialize() = delete;

template <class T>
concept HasFreeHook = requires(T& t, Encoder& e, Decoder& d) {
  serialize(e, t);
  serialize(d, t);
};

template <class Archive, class T>
void call_free_hook(Archive& ar, T& value) {
  serialize(ar, value);
}
}  // namespace hook_lookup

template <class T>
concept HasHook = HasMemberHook<T> || hook_lookup::HasFreeHook<T>;

// Types handled by a branch of their own, whatever their triviality.
template <class T>
constexpr bool is_structured() {
  return IsVector<T>::value || IsString<T>::value || IsStdArray<T>::value ||
         IsPair<T>::value || IsTuple<T>::value || IsOptional<T>::value ||
         IsMap<T>::value;
}

template <class T>
constexpr bool is_forbidden() {
  return std::is_pointer_v<T> || std::is_member_pointer_v<T> ||
         std::is_null_pointer_v<T> || IsView<T>::value ||
         std::is_reference_v<T> || std::is_function_v<T> ||
         std::is_volatile_v<T>;
}

// Copied as its bytes.
template <class T>
constexpr bool is_bytewise() {
  return std::is_trivially_copyable_v<T> && !std::is_same_v<T, bool> &&
         !HasHook<T> && !is_structured<T>() && !is_forbidden<T>() &&
         !std::is_const_v<T>;
}

template <class T>
constexpr bool codable() {
  if constexpr (is_forbidden<T>() || std::is_const_v<T>) {
    return false;
  } else if constexpr (HasHook<T> || std::is_same_v<T, bool> ||
                       IsString<T>::value) {
    return true;
  } else if constexpr (IsVector<T>::value || IsOptional<T>::value ||
                       IsStdArray<T>::value) {
    return codable<typename T::value_type>();
  } else if constexpr (IsPair<T>::value) {
    return codable<typename T::first_type>() &&
           codable<typename T::second_type>();
  } else if constexpr (IsTuple<T>::value) {
    return []<class... Ts>(std::type_identity<std::tuple<Ts...>>) {
      return (codable<Ts>() && ...);
    }(std::type_identity<T>{});
  } else if constexpr (IsMap<T>::value) {
    return codable<typename IsMap<T>::key>() &&
           codable<typename IsMap<T>::mapped>();
  } else {
    return is_bytewise<T>();
  }
}

// The fewest bytes an encoded T takes (0 when a hook decides).
template <class T>
constexpr size_t min_wire_size() {
  if constexpr (HasHook<T>) {
    return 0;
  } else if constexpr (std::is_same_v<T, bool> || IsOptional<T>::value) {
    return 1;
  } else if constexpr (IsString<T>::value || IsVector<T>::value ||
                       IsMap<T>::value) {
    return 8;
  } else if constexpr (IsStdArray<T>::value) {
    return IsStdArray<T>::size * min_wire_size<typename T::value_type>();
  } else if constexpr (IsPair<T>::value) {
    return min_wire_size<typename T::first_type>() +
           min_wire_size<typename T::second_type>();
  } else if constexpr (IsTuple<T>::value) {
    return []<class... Ts>(std::type_identity<std::tuple<Ts...>>) {
      return (size_t{0} + ... + min_wire_size<Ts>());
    }(std::type_identity<T>{});
  } else {
    return sizeof(T);
  }
}

// --- Primitive reads and writes --------------------------------------------

struct CodecAccess {
  // The next `n` bytes of the input, consumed.
  static const std::byte* take(Decoder& in, size_t n) {
    if (n > in.remaining()) in.throw_truncated(n);
    const std::byte* p = in.pos_;
    in.pos_ += n;
    return p;
  }
  static int& depth(Decoder& in) { return in.depth_; }
};

// Reads a count of elements of at least `min_size` bytes each (at least one
// byte is assumed for zero), and checks it against the bytes left.
uint64_t read_count(Decoder& in, size_t min_size);
// Reads the alignment padding of a vector of `alignment`-aligned elements.
void skip_padding(Decoder& in, size_t alignment);
// Appends the padding that aligns the next `alignment`-aligned byte.
void write_padding(Buffer& out, size_t alignment);
// Reads a bool byte (0 or 1).
bool read_bool(Decoder& in);
[[noreturn]] void throw_unordered_map_key(const Decoder& in);

inline void write_u64(Buffer& out, uint64_t v) {
  std::memcpy(out.append(sizeof v), &v, sizeof v);
}

template <class T>
void encode_value(Encoder& out, const T& value);
template <class T>
void decode_value(Decoder& in, T& value);

template <class T>
inline constexpr bool kNotCodable = false;

template <class T>
void check_codable() {
  if constexpr (!codable<T>()) {
    static_assert(kNotCodable<T>,
                  "concurrent codec: this type cannot cross a process "
                  "boundary. Pointers, references, views (string_view, span) "
                  "and const members cannot; a class that is not trivially "
                  "copyable needs a serialize hook (see ipc/codec.h).");
  }
}

// --- Encoding ---------------------------------------------------------------

template <class T>
void encode_value(Encoder& out, const T& value) {
  check_codable<T>();
  Buffer& buf = out.buffer();
  if constexpr (HasMemberHook<T>) {
    const_cast<T&>(value).serialize(out);
  } else if constexpr (hook_lookup::HasFreeHook<T>) {
    hook_lookup::call_free_hook(out, const_cast<T&>(value));
  } else if constexpr (std::is_same_v<T, bool>) {
    *buf.append(1) = static_cast<std::byte>(value ? 1 : 0);
  } else if constexpr (IsString<T>::value) {
    write_u64(buf, value.size());
    buf.append(value.data(), value.size());
  } else if constexpr (IsVector<T>::value) {
    using E = typename T::value_type;
    if constexpr (is_bytewise<E>()) {
      const size_t bytes = value.size() * sizeof(E);
      // One reservation, so the padding is computed at the final address.
      buf.reserve(buf.size() + 9 + alignof(E) + bytes);
      write_u64(buf, value.size());
      write_padding(buf, alignof(E));
      if (bytes != 0) std::memcpy(buf.append(bytes), value.data(), bytes);
    } else {
      write_u64(buf, value.size());
      for (const auto& e : value) encode_value<E>(out, e);
    }
  } else if constexpr (IsStdArray<T>::value) {
    using E = typename T::value_type;
    if constexpr (is_bytewise<E>()) {
      buf.append(value.data(), sizeof(E) * IsStdArray<T>::size);
    } else {
      for (const auto& e : value) encode_value<E>(out, e);
    }
  } else if constexpr (IsPair<T>::value) {
    encode_value(out, value.first);
    encode_value(out, value.second);
  } else if constexpr (IsTuple<T>::value) {
    std::apply([&](const auto&... e) { (encode_value(out, e), ...); }, value);
  } else if constexpr (IsOptional<T>::value) {
    *buf.append(1) = static_cast<std::byte>(value.has_value() ? 1 : 0);
    if (value.has_value()) encode_value(out, *value);
  } else if constexpr (IsMap<T>::value) {
    write_u64(buf, value.size());
    for (const auto& [k, v] : value) {
      encode_value(out, k);
      encode_value(out, v);
    }
  } else {
    static_assert(is_bytewise<T>());
    std::memcpy(buf.append(sizeof(T)), &value, sizeof(T));
  }
}

// --- Decoding ---------------------------------------------------------------

template <class T>
void decode_value(Decoder& in, T& value) {
  check_codable<T>();
  if constexpr (HasHook<T>) {
    int& depth = CodecAccess::depth(in);
    if (++depth > Decoder::kMaxDepth) {
      in.fail("values nested deeper than Decoder::kMaxDepth");
    }
    if constexpr (HasMemberHook<T>) {
      value.serialize(in);
    } else {
      hook_lookup::call_free_hook(in, value);
    }
    --depth;
  } else if constexpr (std::is_same_v<T, bool>) {
    value = read_bool(in);
  } else if constexpr (IsString<T>::value) {
    const uint64_t n = read_count(in, 1);
    const std::byte* p = CodecAccess::take(in, n);
    value.assign(reinterpret_cast<const char*>(p), n);
  } else if constexpr (IsVector<T>::value) {
    using E = typename T::value_type;
    if constexpr (is_bytewise<E>()) {
      static_assert(std::is_default_constructible_v<E>,
                    "decoding a std::vector<T> needs a default-constructible "
                    "T");
      const uint64_t n = read_count(in, 1);
      skip_padding(in, alignof(E));
      if (n > in.remaining() / sizeof(E)) {
        in.fail("a vector's length runs past the end of the input");
      }
      const std::byte* p = CodecAccess::take(in, n * sizeof(E));
      if (reinterpret_cast<uintptr_t>(p) % alignof(E) == 0) {
        const E* first = reinterpret_cast<const E*>(p);
        value.assign(first, first + n);  // one memmove, no zero fill
      } else {
        value.resize(n);
        if (n != 0) std::memcpy(value.data(), p, n * sizeof(E));
      }
    } else {
      const uint64_t n = read_count(in, min_wire_size<E>());
      value.clear();
      // Reserve only what the input can plausibly fill: the count was
      // checked against the bytes left, but an element may take far more
      // memory than its encoding.
      if (n * sizeof(E) <= 2 * in.remaining() + 4096) value.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<E, bool>) {
          value.push_back(read_bool(in));
        } else {
          decode_value(in, value.emplace_back());
        }
      }
    }
  } else if constexpr (IsStdArray<T>::value) {
    using E = typename T::value_type;
    if constexpr (is_bytewise<E>()) {
      constexpr size_t bytes = sizeof(E) * IsStdArray<T>::size;
      if constexpr (bytes != 0) {
        std::memcpy(value.data(), CodecAccess::take(in, bytes), bytes);
      }
    } else {
      for (auto& e : value) decode_value(in, e);
    }
  } else if constexpr (IsPair<T>::value) {
    decode_value(in, value.first);
    decode_value(in, value.second);
  } else if constexpr (IsTuple<T>::value) {
    std::apply([&](auto&... e) { (decode_value(in, e), ...); }, value);
  } else if constexpr (IsOptional<T>::value) {
    if (read_bool(in)) {
      decode_value(in, value.emplace());
    } else {
      value.reset();
    }
  } else if constexpr (IsMap<T>::value) {
    using K = typename IsMap<T>::key;
    using V = typename IsMap<T>::mapped;
    const uint64_t n = read_count(in, min_wire_size<K>() + min_wire_size<V>());
    value.clear();
    for (uint64_t i = 0; i < n; ++i) {
      K key{};
      decode_value(in, key);
      if (!value.empty() &&
          !value.key_comp()(std::prev(value.end())->first, key)) {
        throw_unordered_map_key(in);
      }
      V mapped{};
      decode_value(in, mapped);
      value.emplace_hint(value.end(), std::move(key), std::move(mapped));
    }
  } else {
    static_assert(is_bytewise<T>());
    std::memcpy(&value, CodecAccess::take(in, sizeof(T)), sizeof(T));
  }
}

}  // namespace concurrent::internal

#endif  // CONCURRENT_IPC_INTERNAL_CODEC_IMPL_H_
