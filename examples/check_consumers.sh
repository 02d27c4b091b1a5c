#!/usr/bin/env bash
# check_consumers.sh: follows README's two ways of using this repository from
# another workspace, as a user would, and fails if either breaks:
#
#   depend  examples/consumer, a separate workspace that reaches this one by
#           local_repository and concurrent_dependencies(): checks that
#           README's WORKSPACE, .bazelrc and BUILD.bazel lines are its files,
#           then builds and runs its program;
#   vendor  runs README's copy commands into a scratch workspace, writes
#           README's WORKSPACE lines there, and builds and runs the same
#           program against the copied folders.
#
#   examples/check_consumers.sh               # both
#   examples/check_consumers.sh vendor        # one
#
# The program must print 42. Bazel runs through ./bazelw (as README offers a
# consumer), with downloads disabled: a repository the macro forgot to declare
# fails here instead of being fetched. Each workspace has its own Bazel server
# and output tree (they share nothing with the main build's cache); the script
# shuts both servers down and deletes the scratch workspace when it ends.
# CI (.ci/run) runs it.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
readme=$repo/README.md
consumer=$repo/examples/consumer
bazelw=$repo/bazelw
scratch=$(mktemp -d "${TMPDIR:-/tmp}/check_consumers.XXXXXX")
flags=(--experimental_repository_disable_download --nosandbox_debug)

started=()  # workspaces whose Bazel server this script started

cleanup() {
  local ws
  for ws in "${started[@]}"; do
    if [[ $ws == "$consumer" ]]; then
      (cd "$ws" && bazel shutdown) 2>/dev/null
    else
      (cd "$ws" && bazel --output_base="$scratch/output_base" shutdown) 2>/dev/null
    fi
  done
  chmod -R u+w "$scratch" 2>/dev/null
  rm -rf "$scratch"
}
trap cleanup EXIT

# Prints the fenced block of README section `## $1` whose first line is $2,
# without that line (README's blocks start with a label: "# WORKSPACE",
# "# .bazelrc", or the `cd` into the user's workspace).
readme_block() {
  awk -v section="## $1" -v label="$2" '
    /^## / { in_section = ($0 == section); next }
    !in_section { next }
    /^```/ {
      if (in_block) { if (chosen) exit; in_block = 0 } else { in_block = 1; first = 1 }
      next
    }
    in_block && first { first = 0; chosen = ($0 == label); next }
    in_block && chosen { print }
  ' "$readme"
}

fail() {
  echo "check_consumers: $*" >&2
  exit 1
}

# Runs `bazelw run ... //:main` in workspace $1 (extra startup flags after it)
# and checks that the program printed 42.
run_main() {
  local workspace=$1 log=$scratch/bazel.log out=$scratch/main.out
  shift
  started+=("$workspace")
  if ! (cd "$workspace" && "$bazelw" "$@" run "${flags[@]}" //:main >"$out" 2>"$log"); then
    tail -n 40 "$log" >&2
    fail "bazel run //:main failed in $workspace (log above)"
  fi
  [[ $(<"$out") == 42 ]] || fail "//:main in $workspace printed '$(<"$out")', not 42"
}

# README's block ($1 section, $2 label) must appear verbatim in file $3, with
# README's placeholder path replaced by $4.
expect_in_file() {
  local block file
  block=$(readme_block "$1" "$2")
  [[ -n $block ]] || fail "README.md: no '$2' block in section '$1'"
  block=${block//\/path\/to\/concurrent/$4}
  file=$(<"$3")
  [[ $file == *"$block"* ]] || fail "README.md's '$2' block (section '$1') is not in $3:
$block"
}

# The packages README's apt-get line names must be in ./bazelw's list (the one
# place that says which Debian packages the build uses): a subset, for a
# consumer of futures/ and executors/. (That the subset is enough was checked
# once on a fresh Debian 12 root: ../shared/tools/fresh-debian-check.)
expect_packages_in_bazelw() {
  local line pkg known
  line=$(grep -o -m1 'apt-get install [a-z0-9 .+-]*' "$readme") ||
    fail "README.md: no 'apt-get install' line for consumers"
  known=$(awk '/^packages=\(/ { on = 1; next } on && /^\)/ { exit } on { print $1 }' "$bazelw")
  for pkg in ${line#apt-get install }; do
    grep -qx -- "$pkg" <<<"$known" || fail "README.md installs $pkg, which ./bazelw's list does not name"
  done
}

check_depend() {
  local section="Depending on one target from another repository"
  expect_packages_in_bazelw
  expect_in_file "$section" "# WORKSPACE" "$consumer/WORKSPACE" "../.."
  expect_in_file "$section" "# .bazelrc" "$consumer/.bazelrc" "../.."
  expect_in_file "$section" "# BUILD.bazel" "$consumer/BUILD.bazel" "../.."
  run_main "$consumer"
}

check_vendor() {
  local section="Vendoring a component" ws=$scratch/workspace commands workspace_lines
  commands=$(readme_block "$section" "cd /path/to/your/workspace")
  workspace_lines=$(readme_block "$section" "# WORKSPACE")
  [[ -n $commands && -n $workspace_lines ]] ||
    fail "README.md: section '$section' lost its copy commands or WORKSPACE block"
  commands=${commands//\/path\/to\/concurrent/$repo}
  mkdir -p "$ws"
  (cd "$ws" && bash -euo pipefail -c "$commands") || fail "README's copy commands failed in $ws:
$commands"
  printf '%s\n' "$workspace_lines" >"$ws/WORKSPACE"
  cp "$consumer/.bazelrc" "$consumer/main.cc" "$ws/"
  # The consumer's program, against the copied folders instead of @concurrent.
  sed 's|@concurrent//|//|' "$consumer/BUILD.bazel" >"$ws/BUILD.bazel"
  run_main "$ws" --output_base="$scratch/output_base"
}

checks=("$@")
((${#checks[@]})) || checks=(depend vendor)
for check in "${checks[@]}"; do
  case $check in
    depend | vendor) ;;
    *) fail "unknown check '$check' (depend, vendor)" ;;
  esac
  start=$SECONDS
  "check_$check"
  echo "check_consumers: $check: ok, prints 42 ($((SECONDS - start)) s)"
done
