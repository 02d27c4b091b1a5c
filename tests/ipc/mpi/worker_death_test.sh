#!/usr/bin/env bash
# A worker rank killed by SIGKILL while the master waits on its future: the
# job must end (mpirun kills the other ranks and exits non-zero) instead of
# hanging. 124 would mean the time bound passed: the master hung.
set -uo pipefail
run_mpi=$1
program=$2
start=$SECONDS
out=$("$run_mpi" 3 120 "$program" 2>&1)
status=$?
echo "$out"
echo "worker_death_test: mpirun exited with status $status after $((SECONDS - start)) s"
if ((status == 0)); then
  echo "FAIL: the job succeeded although a rank died"
  exit 1
fi
if ((status == 124)); then
  echo "FAIL: the job hung until the time bound"
  exit 1
fi
if grep -q "result() returned" <<<"$out"; then
  echo "FAIL: the master's result() returned"
  exit 1
fi
if ! grep -q "waiting for a task whose rank dies" <<<"$out"; then
  echo "FAIL: the master never submitted the task"
  exit 1
fi
# No rank of the job is left behind.
sleep 1
if pgrep -f -- "$(readlink -f "$program")" >/dev/null; then
  echo "FAIL: processes of the job are still running:"
  pgrep -a -f -- "$(readlink -f "$program")"
  exit 1
fi
echo "PASS"
