// Copyright 2026 The concurrent Authors.
//
// The bounded randomized fuzz of the frame decoders: mutations of valid
// encodings (truncations, flipped bytes, huge lengths written over any
// 8 bytes, inserted and deleted bytes, misaligned starts) through
// codec_fuzz_target's run_one(), which aborts on any wrong behaviour. The
// sanitizer builds catch reads out of bounds and undefined behaviour. The
// libFuzzer target runs the same body without a bound (run_codec_fuzzer.sh).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <vector>

#include "gtest/gtest.h"
#include "tests/ipc/codec_fuzz_target.h"

namespace {

using ::concurrent::fuzz::Outcome;

// Inputs per seed. Each test run is deterministic (fixed seed). The decoders
// are single-threaded, so ThreadSanitizer (slow, and with nothing to look
// for here) runs only a sample; plain and ASan builds run them all.
#if defined(__SANITIZE_THREAD__)
constexpr int kMutationsPerSeed = 500;
#else
constexpr int kMutationsPerSeed = 20000;
#endif

std::vector<std::byte> mutate(std::vector<std::byte> input,
                              std::mt19937_64& rng) {
  auto pick = [&](size_t n) {
    return n == 0 ? size_t{0}
                  : std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  };
  const int edits = 1 + static_cast<int>(pick(4));
  for (int i = 0; i < edits; ++i) {
    switch (pick(6)) {
      case 0:  // truncate
        input.resize(pick(input.size() + 1));
        break;
      case 1:  // flip a byte (never the selector)
        if (input.size() > 1) {
          input[1 + pick(input.size() - 1)] ^=
              static_cast<std::byte>(1 + pick(255));
        }
        break;
      case 2: {  // a huge or off-by-one length over any 8 bytes
        if (input.size() < 9) break;
        const uint64_t lengths[] = {
            ~uint64_t{0}, uint64_t{1} << 63, uint64_t{1} << 32,
            input.size(), input.size() + 1,  static_cast<uint64_t>(pick(64))};
        const uint64_t v = lengths[pick(std::size(lengths))];
        std::memcpy(input.data() + 1 + pick(input.size() - 8), &v, sizeof v);
        break;
      }
      case 3:  // insert a random byte (after the selector)
        if (input.empty()) break;
        input.insert(
            input.begin() + static_cast<ptrdiff_t>(1 + pick(input.size())),
            static_cast<std::byte>(pick(256)));
        break;
      case 4:  // delete a byte
        if (input.size() > 1) {
          input.erase(input.begin() +
                      static_cast<ptrdiff_t>(1 + pick(input.size() - 1)));
        }
        break;
      default:  // duplicate a slice (repeated elements, longer strings)
        if (input.size() > 2) {
          const size_t from = 1 + pick(input.size() - 1);
          const size_t len =
              1 + pick(std::min<size_t>(16, input.size() - from));
          std::vector<std::byte> slice(
              input.begin() + static_cast<ptrdiff_t>(from),
              input.begin() + static_cast<ptrdiff_t>(from + len));
          input.insert(input.begin() + static_cast<ptrdiff_t>(from),
                       slice.begin(), slice.end());
        }
        break;
    }
  }
  return input;
}

TEST(CodecFuzzTest, SeedsDecode) {
  for (const auto& seed : concurrent::fuzz::seed_inputs()) {
    EXPECT_EQ(concurrent::fuzz::run_one(seed), Outcome::kDecoded);
  }
}

TEST(CodecFuzzTest, MutationsNeverCrash) {
  std::mt19937_64 rng(20261125);
  int decoded = 0;
  int rejected = 0;
  std::vector<std::byte> shifted;
  for (const auto& seed : concurrent::fuzz::seed_inputs()) {
    for (int i = 0; i < kMutationsPerSeed; ++i) {
      std::vector<std::byte> input = mutate(seed, rng);
      std::span<const std::byte> view = input;
      if (i % 2 == 1) {  // half of them at an odd address
        shifted.assign(input.size() + 1, std::byte{0});
        std::copy(input.begin(), input.end(), shifted.begin() + 1);
        view = std::span<const std::byte>(shifted).subspan(1);
      }
      if (concurrent::fuzz::run_one(view) == Outcome::kDecoded) {
        ++decoded;
      } else {
        ++rejected;
      }
    }
  }
  RecordProperty("inputs", decoded + rejected);
  RecordProperty("decoded", decoded);
  RecordProperty("rejected", rejected);
  // Both outcomes happen: the mutations are neither all fatal nor all
  // harmless.
  EXPECT_GT(decoded, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
