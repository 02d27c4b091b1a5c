// Copyright 2026 The concurrent Authors.
//
// The body of the frame-decoder fuzzers: one input through the decoders of
// ipc/ (a nested codec value, an exception frame, a call by name). Shared by
// the bounded randomized test (codec_fuzz_test.cc, in the suite) and the
// libFuzzer target (codec_fuzzer.cc, built by run_codec_fuzzer.sh).

#ifndef CONCURRENT_TESTS_IPC_CODEC_FUZZ_TARGET_H_
#define CONCURRENT_TESTS_IPC_CODEC_FUZZ_TARGET_H_

#include <cstddef>
#include <span>
#include <vector>

namespace concurrent::fuzz {

// What one input did.
enum class Outcome {
  kDecoded,   // decoded, and re-encoding it decoded to the same value
  kRejected,  // a clear error (CodecError, UnknownTaskError, ...)
};

// Runs one input. The first byte chooses the decoder; the rest is its input.
// Never crashes, never reads out of bounds; aborts if a decoded value does
// not survive a second round trip, or if an unexpected exception escapes.
Outcome run_one(std::span<const std::byte> input);

// Valid inputs, one or more per decoder: the seeds of the mutations.
std::vector<std::vector<std::byte>> seed_inputs();

}  // namespace concurrent::fuzz

#endif  // CONCURRENT_TESTS_IPC_CODEC_FUZZ_TARGET_H_
