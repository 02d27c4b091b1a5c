#!/usr/bin/env bash
# benchmarks/mpi_benchmark.cc under mpirun (3 ranks: the master and 2 worker
# ranks), then mpi4py.futures.MPICommExecutor on the same workloads if
# Debian's python3-mpi4py is installed, then medians and ratios
# (benchmarks/python/ratios.py):
#   ./bazelw run -c opt //benchmarks:mpi -- --benchmark_repetitions=5
# Arguments go to the C++ benchmark; --benchmark_repetitions also sets the
# Python side's repetitions.
set -euo pipefail
# Under `bazel run`, the files are in the runfiles tree beside this script.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${RUNFILES_DIR:-$0.runfiles}/concurrent
[[ -d $root ]] || root=$here/..
run_mpi=$root/tools/mpi/run_mpi.sh
program=$root/benchmarks/mpi_benchmark_program
here=$root/benchmarks
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

repetitions=3
for arg in "$@"; do
  [[ $arg == --benchmark_repetitions=* ]] && repetitions=${arg#*=}
done

echo "== MpiCommExecutor (C++), 3 ranks"
"$run_mpi" 3 1800 "$program" --benchmark_out="$out/cpp.json" \
  --benchmark_out_format=json "$@"
reports=("$out/cpp.json")

if /usr/bin/python3 -c "import mpi4py.futures" 2>/dev/null; then
  echo
  echo "== mpi4py.futures.MPICommExecutor (/usr/bin/python3), 3 ranks"
  "$run_mpi" 3 1800 /usr/bin/python3 "$here/python/mpi4py_futures.py" \
    --repetitions "$repetitions" --out "$out/mpi4py.json"
  reports+=("$out/mpi4py.json")
else
  echo "mpi4py is not installed (apt-get install python3-mpi4py): C++ only"
fi

/usr/bin/python3 - "${reports[@]}" >"$out/all.json" <<'PY'
import json, sys
merged = {"benchmarks": []}
for path in sys.argv[1:]:
    with open(path) as f:
        merged["benchmarks"] += json.load(f)["benchmarks"]
json.dump(merged, sys.stdout)
PY
echo
echo "== medians and ratios (ratio < 1: MpiCommExecutor takes less time)"
/usr/bin/python3 "$here/python/ratios.py" "$out/all.json"
