// Copyright 2026 The concurrent Authors.
//
// The codec of ipc/codec.h against the serialization libraries Debian
// ships (cereal's binary archive, msgpack-cxx, Boost.Serialization's binary
// archive), on the two shapes the process pool cares about: a 1 KiB record
// of mixed fields (a typical task argument) and a 64 MiB std::vector<double>
// (large data). Every library writes into the same growable buffer (through
// a std::streambuf where the library wants a stream) and reads from a
// span, so the figures compare the encoders, not the buffers.
//
//   ./bazelw run -c opt //benchmarks:codec -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
//
// The lines read "BM_<Encode|Decode>/<codec>/<shape>".

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <span>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/archive/binary_iarchive.hpp"
#include "boost/archive/binary_oarchive.hpp"
#include "boost/serialization/array.hpp"
#include "boost/serialization/map.hpp"
#include "boost/serialization/string.hpp"
#include "boost/serialization/vector.hpp"
#include "cereal/archives/binary.hpp"
#include "cereal/types/array.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/vector.hpp"
#include "ipc/codec.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"
#include "msgpack.hpp"

namespace {

// About 1 KiB encoded: scalars, a string, two vectors, a map, an array.
struct Record {
  int64_t id = 0;
  double price = 0;
  int32_t quantity = 0;
  bool active = false;
  std::string name;
  std::vector<double> samples;
  std::vector<int32_t> counts;
  std::map<std::string, int32_t> tags;
  std::array<char, 64> code{};

  // ipc/codec.h and cereal share this spelling (Boost's is below).
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, price, quantity, active, name, samples, counts, tags, code);
  }
  MSGPACK_DEFINE(id, price, quantity, active, name, samples, counts, tags,
                 code);
};

}  // namespace

namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, Record& r, unsigned /*version*/) {
  ar& r.id& r.price& r.quantity& r.active& r.name& r.samples& r.counts& r
      .tags& r.code;
}
}  // namespace boost::serialization

namespace {

Record make_record() {
  Record r;
  r.id = 123456789;
  r.price = 99.5;
  r.quantity = 7;
  r.active = true;
  r.name = std::string(64, 'n');
  r.samples.assign(64, 1.25);
  r.counts.assign(32, 3);
  for (int i = 0; i < 8; ++i) r.tags["tag-" + std::to_string(i)] = i;
  r.code.fill('c');
  return r;
}

std::vector<double> make_large() {
  std::vector<double> v((64 << 20) / sizeof(double));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i);
  return v;
}

const Record& record() {
  static const Record r = make_record();
  return r;
}
const std::vector<double>& large() {
  static const std::vector<double> v = make_large();
  return v;
}

// A std::streambuf that appends to a concurrent::Buffer.
class BufferOut : public std::streambuf {
 public:
  explicit BufferOut(concurrent::Buffer& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<size_t>(n));
    return n;
  }
  int_type overflow(int_type c) override {
    if (c != traits_type::eof()) {
      const char ch = traits_type::to_char_type(c);
      out_.append(&ch, 1);
    }
    return traits_type::not_eof(c);
  }

 private:
  concurrent::Buffer& out_;
};

// A std::streambuf that reads a span (no copy of the span).
class SpanIn : public std::streambuf {
 public:
  explicit SpanIn(std::span<const std::byte> bytes) {
    char* p = const_cast<char*>(reinterpret_cast<const char*>(bytes.data()));
    setg(p, p, p + bytes.size());
  }
};

// --- The codecs, each with encode(value, buffer) and decode(bytes, value) ---

struct Ours {
  template <class T>
  static void encode(const T& value, concurrent::Buffer& out) {
    concurrent::encode(out, value);
  }
  template <class T>
  static void decode(std::span<const std::byte> bytes, T& value) {
    value = concurrent::decode<T>(bytes);
  }
};

struct Cereal {
  template <class T>
  static void encode(const T& value, concurrent::Buffer& out) {
    BufferOut buf(out);
    std::ostream os(&buf);
    cereal::BinaryOutputArchive ar(os);
    ar(value);
  }
  template <class T>
  static void decode(std::span<const std::byte> bytes, T& value) {
    SpanIn buf(bytes);
    std::istream is(&buf);
    cereal::BinaryInputArchive ar(is);
    ar(value);
  }
};

struct Msgpack {
  // msgpack writes through any type with write(const char*, size_t).
  struct Writer {
    concurrent::Buffer& out;
    void write(const char* p, size_t n) { out.append(p, n); }
  };
  template <class T>
  static void encode(const T& value, concurrent::Buffer& out) {
    Writer w{out};
    msgpack::pack(w, value);
  }
  template <class T>
  static void decode(std::span<const std::byte> bytes, T& value) {
    msgpack::object_handle h = msgpack::unpack(
        reinterpret_cast<const char*>(bytes.data()), bytes.size());
    h.get().convert(value);
  }
};

struct BoostSerialization {
  static constexpr unsigned kFlags =
      boost::archive::no_header | boost::archive::no_codecvt;
  template <class T>
  static void encode(const T& value, concurrent::Buffer& out) {
    BufferOut buf(out);
    boost::archive::binary_oarchive ar(buf, kFlags);
    ar << value;
  }
  template <class T>
  static void decode(std::span<const std::byte> bytes, T& value) {
    SpanIn buf(bytes);
    boost::archive::binary_iarchive ar(buf, kFlags);
    ar >> value;
  }
};

template <class Codec, class T>
void BM_Encode(benchmark::State& state, const T& value) {
  concurrent::Buffer out;
  Codec::encode(value, out);  // size the buffer once, as a pool slot is
  const size_t size = out.size();
  for (auto _ : state) {
    out.clear();
    Codec::encode(value, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  state.counters["wire_bytes"] = static_cast<double>(size);
}

template <class Codec, class T>
void BM_Decode(benchmark::State& state, const T& value) {
  concurrent::Buffer in;
  Codec::encode(value, in);
  for (auto _ : state) {
    T decoded;
    Codec::decode(in.bytes(), decoded);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}

template <class Codec>
void register_codec(const char* name) {
  const std::string n = name;
  benchmark::RegisterBenchmark(
      ("BM_Encode/" + n + "/record_1KiB").c_str(),
      [](benchmark::State& s) { BM_Encode<Codec>(s, record()); });
  benchmark::RegisterBenchmark(
      ("BM_Decode/" + n + "/record_1KiB").c_str(),
      [](benchmark::State& s) { BM_Decode<Codec>(s, record()); });
  benchmark::RegisterBenchmark(
      ("BM_Encode/" + n + "/vector_64MiB").c_str(),
      [](benchmark::State& s) { BM_Encode<Codec>(s, large()); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark(
      ("BM_Decode/" + n + "/vector_64MiB").c_str(),
      [](benchmark::State& s) { BM_Decode<Codec>(s, large()); })
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
}

// memcpy of 64 MiB into a fresh vector: the floor of a decode.
void BM_Memcpy64MiB(benchmark::State& state) {
  const std::vector<double>& v = large();
  for (auto _ : state) {
    std::vector<double> copy(v.begin(), v.end());
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * v.size() * sizeof(double)));
}
BENCHMARK(BM_Memcpy64MiB)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a pool adds per task on top of its transport: encode the call, look
// the name up and invoke it, decode the result (all in one process here).
int64_t add_numbers(int64_t a, int64_t b) { return a + b; }
CONCURRENT_REGISTER_TASK(add_numbers);

std::string throw_runtime_error(int64_t) { throw std::runtime_error("boom"); }
CONCURRENT_REGISTER_TASK(throw_runtime_error);

void BM_CallByName(benchmark::State& state) {
  concurrent::Buffer call;
  concurrent::Buffer reply;
  int64_t sum = 0;
  for (auto _ : state) {
    call.clear();
    reply.clear();
    const std::string_view name =
        concurrent::encode_call(call, &add_numbers, sum, 1);
    if (!concurrent::internal::invoke_registered(name, call.bytes(), reply)) {
      state.SkipWithError("invoke failed");
      break;
    }
    sum = concurrent::decode_result<int64_t>(reply.bytes());
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallByName);

// The same for a task that throws: the exception encoded, then rebuilt.
void BM_CallByNameThrows(benchmark::State& state) {
  concurrent::Buffer call;
  concurrent::Buffer reply;
  for (auto _ : state) {
    call.clear();
    reply.clear();
    const std::string_view name =
        concurrent::encode_call(call, &throw_runtime_error, 1);
    concurrent::internal::invoke_registered(name, call.bytes(), reply);
    std::exception_ptr e = concurrent::decode_exception(reply.bytes());
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CallByNameThrows);

const bool registered = [] {
  register_codec<Ours>("ours");
  register_codec<Cereal>("cereal");
  register_codec<Msgpack>("msgpack");
  register_codec<BoostSerialization>("boost");
  return true;
}();

}  // namespace
