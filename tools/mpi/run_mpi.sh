#!/usr/bin/env bash
# Runs an MPI program under mpirun, bounded in time, in a way that works in
# a container as root and on loopback only:
#   run_mpi.sh NP SECONDS PROGRAM [ARGS...]
# Exit status: the program's (mpirun's), or 124 if SECONDS passed (then the
# job is killed). Used by the sh_tests of tests/ipc/mpi and benchmarks:mpi.
set -euo pipefail
if (($# < 3)); then
  echo "usage: run_mpi.sh NP SECONDS PROGRAM [ARGS...]" >&2
  exit 2
fi
np=$1
seconds=$2
shift 2

# Root in a container: Open MPI refuses to run as root unless told twice.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Shared memory between the ranks of this machine (vader) and self; no
# network transport. The runtime's own channel stays on loopback.
export OMPI_MCA_btl=self,vader
export OMPI_MCA_oob_tcp_if_include=lo
# More ranks than cores is fine (2-core CI); do not pin ranks to cores.
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none
# Open MPI's session directory (its unix sockets) must have a short path:
# Bazel's TEST_TMPDIR is too long for a socket name. It is a fresh folder,
# in /dev/shm where it can be (memory, like vader's default).
shm_base=/tmp
if [[ -d /dev/shm && -w /dev/shm ]]; then shm_base=/dev/shm; fi
session=$(mktemp -d "$shm_base/ompi.XXXXXX")
trap 'rm -rf "$session"' EXIT
export TMPDIR=$session
export OMPI_MCA_orte_tmpdir_base=$session
# vader's shared-memory segments go into the same private folder, not into
# /dev/shm itself: their names carry the job id, which Open MPI derives from
# the host name and mpirun's pid, and two jobs started in separate PID
# namespaces (Bazel's sandboxed tests, run side by side; containers sharing
# /dev/shm) can have the same pid. Then both jobs open the same segments and
# each takes the other's messages: tasks never arrive and tests hang.
export OMPI_MCA_btl_vader_backing_directory=$session

# A file shipped beside this script: next to it, or, when it runs as an
# sh_test of another package, in the runfiles tree.
support_file() {
  local dir candidate
  for dir in "$(dirname "${BASH_SOURCE[0]}")" \
    "${TEST_SRCDIR:-}/concurrent/tools/mpi" "${RUNFILES_DIR:-}/concurrent/tools/mpi"; do
    candidate=$dir/$1
    if [[ -f $candidate ]]; then
      echo "$(cd "$(dirname "$candidate")" && pwd)/$1"
      return
    fi
  done
  echo "run_mpi.sh: $1 not found beside the script or in the runfiles" >&2
  exit 2
}

# Under AddressSanitizer (--config=asan sets ASAN_OPTIONS), Open MPI's own
# never-freed memory is suppressed; its components stay mapped at exit so
# that LeakSanitizer can name their frames.
if [[ -n ${ASAN_OPTIONS:-} ]]; then
  suppressions=$(support_file lsan_suppressions.txt)
  export LSAN_OPTIONS="suppressions=$suppressions:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
  export OMPI_MCA_mca_base_component_disable_dlclose=1
fi

# Under ThreadSanitizer (--config=tsan sets TSAN_OPTIONS), Open MPI's own
# lock order is suppressed (tsan_suppressions.txt says what and why).
if [[ -n ${TSAN_OPTIONS:-} ]]; then
  suppressions=$(support_file tsan_suppressions.txt)
  export TSAN_OPTIONS="$TSAN_OPTIONS:suppressions=$suppressions"
fi

status=0
timeout -k 10 "$seconds" mpirun --oversubscribe --bind-to none -np "$np" "$@" || status=$?
if ((status == 124)); then
  echo "run_mpi.sh: the job did not finish within $seconds s; killed" >&2
fi
exit "$status"
