#!/usr/bin/env bash
# Builds and runs the libFuzzer target of the ipc/ frame decoders (the codec,
# exception frames, calls by name: tests/ipc/codec_fuzz_target.cc) with
# Debian's clang, AddressSanitizer and UndefinedBehaviorSanitizer. Not part
# of `bazel test //...` (which runs the bounded codec_fuzz_test instead).
#
#   tests/ipc/run_codec_fuzzer.sh                  # 1,000,000 inputs
#   tests/ipc/run_codec_fuzzer.sh -runs=-1 -max_total_time=600  # 10 minutes
#
# Extra arguments go to libFuzzer. Needs clang-19 and libclang-rt-19-dev
# (apt-get install -y clang-19 libclang-rt-19-dev) besides ./bazelw's
# packages. Crashes are written to $out/crash-*; the corpus stays in $out.
set -euo pipefail
cd "$(dirname "$0")/../.."

clang=${CLANG:-clang++-19}
if ! command -v "$clang" >/dev/null; then
  echo "run_codec_fuzzer: $clang not found: apt-get install -y clang-19 libclang-rt-19-dev" >&2
  exit 1
fi
out=${FUZZ_OUT:-/tmp/concurrent-codec-fuzz}
mkdir -p "$out/corpus"

srcs=(ipc/codec.cc ipc/remote_error.cc ipc/task_registry.cc futures/errors.cc
      tests/ipc/codec_fuzz_target.cc)
absl=$(pkg-config --cflags --libs absl_strings absl_str_format \
  absl_synchronization absl_symbolize absl_hash absl_raw_hash_set)
flags=(-std=c++20 -O1 -g -I. -Wall -Wextra -Werror -Wno-unused-command-line-argument)

echo "run_codec_fuzzer: building with $clang" >&2
# shellcheck disable=SC2086  # $absl is a list of flags
"$clang" "${flags[@]}" -DCODEC_FUZZ_WRITE_SEEDS "${srcs[@]}" \
  tests/ipc/codec_fuzzer.cc $absl -ldl -o "$out/write_seeds"
"$out/write_seeds" "$out/corpus"
# shellcheck disable=SC2086
"$clang" "${flags[@]}" -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=all "${srcs[@]}" tests/ipc/codec_fuzzer.cc $absl -ldl \
  -o "$out/codec_fuzzer"

if (($# == 0)); then set -- -runs=1000000; fi
cd "$out"
exec ./codec_fuzzer -max_len=4096 -print_final_stats=1 "$@" corpus
