#!/usr/bin/env bash
# The SPMD example prints the documented output on rank 0 only.
set -euo pipefail
run_mpi=$1
program=$2
out=$("$run_mpi" 3 120 "$program")
expected=$'78498\n4 25 168 \nthread level 3'
if [[ $out != "$expected" ]]; then
  echo "spmd_example printed:"
  echo "$out"
  echo "expected:"
  echo "$expected"
  exit 1
fi
echo "spmd_example: output as documented"
