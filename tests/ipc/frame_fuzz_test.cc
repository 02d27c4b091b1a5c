// Copyright 2026 The concurrent Authors.
//
// Bounded randomized fuzz of the process pool's frame decoders, the parts
// that read what another process wrote (the codec's own decoders are fuzzed
// by codec_fuzz_test):
//
//   * FrameReader::peek() on rings whose indices and slot headers are random:
//     it must report kEmpty, kFrame, kBadFrame or kCorrupt, and a frame's
//     payload must lie inside its slot or inside its spill area;
//   * the parent's decoding of map() chunk responses (ChunkTask) from random
//     and mutated payloads: a value or a clear error, never a crash;
//   * the worker's parsing of request frames, end to end: random call and
//     chunk payloads sent to a real worker, which must answer each (a
//     failure or a result) and stay alive.
//
// Under ASan+UBSan a read out of bounds or undefined behaviour aborts.

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "ipc/codec.h"
#include "ipc/internal/channel.h"
#include "ipc/internal/layout.h"
#include "ipc/internal/pool_core.h"
#include "ipc/internal/process_pool_tasks.h"
#include "ipc/internal/shared_segment.h"
#include "tests/ipc/raw_tasks.h"

namespace concurrent {
namespace {

using internal::FrameKind;
using internal::FrameReader;
using internal::kInlineCapacity;
using internal::kSlotCount;

#if defined(__SANITIZE_THREAD__)
constexpr int kScale = 10;  // TSan: the decoders are single-threaded anyway
#else
constexpr int kScale = 1;
#endif

std::uint64_t Pick(std::mt19937_64& rng, std::uint64_t area) {
  // Lengths and positions near the edges matter most.
  switch (rng() % 6) {
    case 0:
      return rng();
    case 1:
      return rng() % 1024;
    case 2:
      return area - rng() % 64;
    case 3:
      return area + rng() % 64;
    case 4:
      return kInlineCapacity - 2 + rng() % 4;
    default:
      return rng() % (2 * area);
  }
}

TEST(FrameFuzzTest, RingReaderStaysInBounds) {
  constexpr std::uint64_t kArea = std::uint64_t{1} << 21;
  internal::UniqueFd spill =
      internal::CreateSealedMemfd("frame-fuzz", 2 * kArea);
  auto control = std::make_unique<internal::RingControl>();
  std::vector<internal::Slot> slots(kSlotCount);
  std::mt19937_64 rng(20260101);
  int frames = 0, bad = 0, corrupt = 0, empty = 0;
  const int rounds = 1'000'000 / kScale;
  FrameReader reader;
  for (int round = 0; round < rounds; ++round) {
    // A fresh reader now and then (its own head and release point).
    if (round % 1000 == 0) {
      reader =
          FrameReader(control.get(), slots.data(), {spill.get(), kArea, kArea});
    }
    control->tail.store(rng() % 3 == 0 ? rng() : rng() % (kSlotCount + 4));
    internal::Slot& slot = slots[rng() % kSlotCount];
    slot.header.seq = rng();
    slot.header.kind =
        rng() % 4 == 0
            ? static_cast<std::uint32_t>(rng())
            : static_cast<std::uint32_t>(std::vector<FrameKind>{
                  FrameKind::kCall, FrameKind::kChunk, FrameKind::kValue,
                  FrameKind::kException, FrameKind::kChunkResult,
                  FrameKind::kFailure}[rng() % 6]);
    slot.header.flags = static_cast<std::uint32_t>(rng() % 3);
    slot.header.length = Pick(rng, kArea);
    slot.header.spill_begin = Pick(rng, kArea);
    internal::Frame frame;
    std::string why;
    switch (reader.peek(&frame, &why)) {
      case FrameReader::Status::kEmpty:
        ++empty;
        break;
      case FrameReader::Status::kBadFrame:
        ++bad;
        EXPECT_FALSE(why.empty());
        EXPECT_TRUE(frame.payload.empty());
        reader.pop(frame);
        break;
      case FrameReader::Status::kCorrupt:
        ++corrupt;
        EXPECT_FALSE(why.empty());
        reader = FrameReader(control.get(), slots.data(),
                             {spill.get(), kArea, kArea});
        break;
      case FrameReader::Status::kFrame: {
        ++frames;
        const auto* p = frame.payload.data();
        const std::size_t n = frame.payload.size();
        bool in_slot = false;
        for (const internal::Slot& s : slots) {
          if (p >= s.inline_payload &&
              p + n <= s.inline_payload + kInlineCapacity) {
            in_slot = true;
          }
        }
        if (!in_slot) {
          // In the spill area, inside it: [begin % area, + n) within area.
          EXPECT_LE(n, kArea);
          EXPECT_LE((frame.spill_end - n) % kArea + n, kArea);
        }
        if (n > 0) {
          // Touch the first and last bytes (ASan/SIGSEGV if outside).
          volatile std::byte first = p[0];
          volatile std::byte last = p[n - 1];
          (void)first;
          (void)last;
        }
        reader.pop(frame);
        break;
      }
    }
  }
  std::printf(
      "ring reader: %d inputs: %d frames, %d bad frames, %d corrupt "
      "rings, %d empty\n",
      rounds, frames, bad, corrupt, empty);
  EXPECT_GT(frames, 0);
  EXPECT_GT(bad, 0);
  EXPECT_GT(corrupt, 0);
}

// A valid chunk response of `n` ints (some failing at the end).
std::vector<std::byte> ValidChunk(std::mt19937_64& rng, std::uint32_t n) {
  std::vector<std::byte> out(4);
  std::memcpy(out.data(), &n, 4);
  for (std::uint32_t i = 0; i < n; ++i) {
    Buffer item;
    const bool ok = i + 1 < n || rng() % 2 == 0;
    if (ok) {
      encode(item, static_cast<int>(rng()));
    } else {
      internal::encode_exception(
          std::make_exception_ptr(std::runtime_error("x")), "f", item);
    }
    out.push_back(std::byte{ok ? std::uint8_t{1} : std::uint8_t{0}});
    const auto len = static_cast<std::uint32_t>(item.size());
    const std::size_t at = out.size();
    out.resize(at + 4 + item.size());
    std::memcpy(out.data() + at, &len, 4);
    std::memcpy(out.data() + at + 4, item.data(), item.size());
  }
  return out;
}

TEST(FrameFuzzTest, ChunkResponsesDecodeOrFailCleanly) {
  std::mt19937_64 rng(7);
  int values = 0, errors = 0;
  const int rounds = 200'000 / kScale;
  for (int round = 0; round < rounds; ++round) {
    const std::uint32_t count = static_cast<std::uint32_t>(rng() % 8);
    std::vector<std::byte> payload = ValidChunk(rng, count);
    // Mutate: flip bytes, truncate, extend, overwrite a length.
    const int mutations = static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations && !payload.empty(); ++m) {
      switch (rng() % 4) {
        case 0:
          payload[rng() % payload.size()] ^= std::byte(1u << (rng() % 8));
          break;
        case 1:
          payload.resize(rng() % payload.size());
          break;
        case 2:
          payload.push_back(std::byte(rng()));
          break;
        default:
          if (payload.size() >= 4) {
            const std::uint32_t v =
                static_cast<std::uint32_t>(Pick(rng, 1 << 20));
            std::memcpy(payload.data() + rng() % (payload.size() - 3), &v, 4);
          }
      }
    }
    auto* task = new internal::ChunkTask<int>();
    task->set_count(count);
    Future<internal::MapChunk<int>> f =
        internal::FutureAccess::adopt<internal::MapChunk<int>>(task);
    task->state().ref();
    ASSERT_TRUE(task->state().try_set_running());
    task->complete(
        rng() % 16 == 0 ? FrameKind::kValue : FrameKind::kChunkResult, payload,
        {1234});
    ASSERT_TRUE(f.done());
    if (f.exception() == nullptr) {
      ++values;
      EXPECT_LE(f.result().values.size(), count);
    } else {
      ++errors;
    }
  }
  std::printf("chunk responses: %d inputs: %d decoded, %d rejected\n", rounds,
              values, errors);
  EXPECT_GT(values, 0);
  EXPECT_GT(errors, 0);
}

TEST(FrameFuzzTest, WorkerAnswersRandomRequests) {
  internal::PoolConfig config;
  config.max_workers = 1;
  internal::PoolCore pool(std::move(config));
  std::mt19937_64 rng(99);
  int answered = 0;
  const int rounds = 3'000 / kScale;
  for (int round = 0; round < rounds; ++round) {
    std::string body(rng() % 64, '\0');
    for (char& c : body) c = static_cast<char>(rng());
    if (rng() % 2 == 0 && body.size() >= 4) {
      const std::uint32_t n = static_cast<std::uint32_t>(Pick(rng, 1 << 16));
      std::memcpy(body.data(), &n, 4);
    }
    const bool chunk = rng() % 2 == 0;
    Future<std::string> f = testing::SubmitRawFrame(
        pool, chunk ? FrameKind::kChunk : FrameKind::kCall,
        rng() % 8 == 0 ? "" : "echo", body);
    // A result, a task error, or a clear failure; never a broken pool.
    try {
      f.result(absl::Seconds(30));
    } catch (const BrokenProcessPool& e) {
      FAIL() << "the worker died on input " << round << ": " << e.what();
    } catch (const std::exception&) {
    }
    ++answered;
  }
  std::printf("worker: %d random requests answered\n", answered);
}

}  // namespace
}  // namespace concurrent
