#!/usr/bin/env bash
# Two MPI jobs side by side, each in its own PID namespace (as Bazel's
# sandboxed tests run, or containers that share /dev/shm): their mpirun
# processes get the same pid, hence the same Open MPI job id. Both jobs must
# still finish with the documented output (run_mpi.sh keeps each job's vader
# segments in the job's own folder; with the segments in /dev/shm itself, the
# jobs took each other's messages and hung until killed). --mount-proc gives
# each namespace its own /proc (LeakSanitizer reads /proc/<pid>/task).
set -euo pipefail
run_mpi=$1
program=$2
if ! unshare --pid --fork --mount-proc true 2>/dev/null; then
  echo "separate_pid_namespaces_test: SKIPPED: unshare --pid needs privileges this machine does not give"
  exit 0
fi
expected=$'78498\n4 25 168 \nthread level 3'
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
pids=()
for job in 1 2; do
  unshare --pid --fork --mount-proc "$run_mpi" 3 60 "$program" >"$dir/out$job" 2>"$dir/err$job" &
  pids+=($!)
done
status=0
for job in 1 2; do
  rc=0
  wait "${pids[job - 1]}" || rc=$?
  out=$(cat "$dir/out$job")
  if ((rc != 0)) || [[ $out != "$expected" ]]; then
    echo "job $job: exit status $rc; printed:"
    cat "$dir/out$job" "$dir/err$job"
    status=1
  fi
done
if ((status == 0)); then
  echo "separate_pid_namespaces_test: both jobs printed the documented output"
fi
exit "$status"
