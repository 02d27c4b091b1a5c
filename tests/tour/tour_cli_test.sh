#!/usr/bin/env bash
# Tests //benchmarks:tour from the outside: exit statuses, usage, and the
# shape of tour.json after a tiny run. Usage: tour_cli_test.sh PATH_TO_TOUR
set -uo pipefail
tour=$1
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failures=0

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# A bad flag: usage on stderr, nothing on stdout, exit status 2.
"$tour" --no_such_flag >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc == 2 ]] || fail "--no_such_flag: exit status $rc, want 2"
grep -q "unknown flag '--no_such_flag'" "$tmp/err" || fail "--no_such_flag: no error line"
grep -q "^Usage: tour" "$tmp/err" || fail "--no_such_flag: no usage on stderr"
[[ ! -s $tmp/out ]] || fail "--no_such_flag: printed on stdout"

# Bad values and stray arguments: exit status 2 too.
for args in "--repetitions=0" "--repetitions=x" "--experiments=nope" \
  "--cpu_tasks=3" "--quick=1" "stray" "--out"; do
  # shellcheck disable=SC2086
  "$tour" $args >/dev/null 2>"$tmp/err"
  rc=$?
  [[ $rc == 2 ]] || fail "$args: exit status $rc, want 2"
  grep -q "^Usage: tour" "$tmp/err" || fail "$args: no usage"
done

# --help: usage on stdout, exit status 0, every experiment listed.
"$tour" --help >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc == 0 ]] || fail "--help: exit status $rc, want 0"
for id in io cpu gil futures overheads; do
  grep -q "^  [0-9]\. $id: " "$tmp/out" || fail "--help does not list $id"
done

# A tiny run: two experiments, small sizes, no CPython.
"$tour" --experiments=futures,io --quick --files=3 --delay_ms=5 --no_python \
  --out="$tmp/run" >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc == 0 ]] || { fail "tiny run: exit status $rc"; cat "$tmp/out" "$tmp/err"; }
grep -q "^1\. Two futures" "$tmp/out" || fail "tiny run: no section 1"
grep -q "^2\. Threads are great at doing nothing" "$tmp/out" || fail "tiny run: no section 2"
grep -q "not available in this build" "$tmp/out" || fail "tiny run: no unavailable row"
grep -q "CPython: skipped (--no_python)" "$tmp/out" || fail "tiny run: no CPython line"
grep -q "^   => " "$tmp/out" || fail "tiny run: no claim line"
grep -q ": \(holds\|does not hold\|cannot tell\)\.$" "$tmp/out" || fail "tiny run: no verdict"
[[ -s $tmp/run/tour.svg ]] || fail "tiny run: no tour.svg"
grep -q "^<svg" "$tmp/run/tour.svg" || fail "tiny run: tour.svg is not SVG"
if [[ -s $tmp/run/tour.json ]]; then
  python3 - "$tmp/run/tour.json" <<'PY' || fail "tiny run: tour.json has the wrong shape"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["format_version"] == 1
for key in ("cpu_model", "cpus", "usable_cpus", "kernel", "date", "load_average"):
    assert key in doc["machine"], key
assert doc["machine"]["cpus"] >= 1
assert [e["id"] for e in doc["experiments"]] == ["futures", "io"]
for e in doc["experiments"]:
    assert e["error"] == "", e["error"]
    assert e["claim"]["holds"] in (True, False, None)
    assert e["claim"]["evidence"]
    assert e["tables"]
    for t in e["tables"]:
        for row in t["rows"]:
            assert row["unit"] in ("s", "1/s")
            for side in ("ours", "cpython"):
                cell = row[side]
                assert set(cell) == {"value", "ratio", "runs", "missing"}
                assert (cell["value"] is None) == bool(cell["missing"]), row
io = doc["experiments"][1]["tables"][0]["rows"]
assert io[0]["config"] == "sequential" and io[0]["ours"]["ratio"] == 1
assert any(r["needs"] == "concurrent::aio" and r["ours"]["value"] is None
           for r in io)
PY
else
  fail "tiny run: no tour.json"
fi

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
