// Copyright 2026 The concurrent Authors.
//
// libFuzzer entry point of the frame-decoder fuzz (codec_fuzz_target.h).
// Built with clang by run_codec_fuzzer.sh, not by `bazel test //...`.
// With -DCODEC_FUZZ_WRITE_SEEDS it is instead a program that writes the seed
// corpus into the directory given as its argument.

#include <cstddef>
#include <cstdint>
#include <span>

#include "tests/ipc/codec_fuzz_target.h"

#ifdef CODEC_FUZZ_WRITE_SEEDS
#include <fstream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int i = 0;
  for (const auto& seed : concurrent::fuzz::seed_inputs()) {
    std::ofstream out(std::string(argv[1]) + "/seed" + std::to_string(i++),
                      std::ios::binary);
    out.write(reinterpret_cast<const char*>(seed.data()),
              static_cast<std::streamsize>(seed.size()));
  }
  return 0;
}
#else
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  concurrent::fuzz::run_one(std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(data), size));
  return 0;
}
#endif
