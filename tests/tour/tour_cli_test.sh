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
! grep -q "not available in this build" "$tmp/out" || fail "tiny run: a row is not available"
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
            assert not row["needs"], row
io = doc["experiments"][1]["tables"][0]["rows"]
assert io[0]["config"] == "sequential" and io[0]["ours"]["ratio"] == 1
# Every row measured, the aio rows included, each with its speedup.
configs = [r["config"] for r in io]
assert configs[3:] == ["aio: 3 coroutine tasks", "aio + run_in_executor"], configs
for r in io:
    assert r["ours"]["value"] > 0 and r["ours"]["ratio"] > 0, r
# Both futures, each row measured; the timeouts took at least 10 ms.
blocking, awaitable = doc["experiments"][0]["tables"]
assert len(blocking["rows"]) == 4 and len(awaitable["rows"]) == 4
for t in (blocking, awaitable):
    for r in t["rows"]:
        assert r["ours"]["value"] > 0, r
    assert t["rows"][0]["ours"]["value"] >= 0.009, t["rows"][0]
    assert t["rows"][0]["ours"]["ratio"] >= 0.9, t["rows"][0]
assert awaitable["rows"][0]["config"].startswith("wait_for(timeout=10ms)")
assert "wait_for raised in 1/1 runs" in doc["experiments"][0]["claim"]["evidence"]
assert "cancelled in 1/1" in doc["experiments"][0]["claim"]["evidence"]
PY
else
  fail "tiny run: no tour.json"
fi

# The process pool's rows: experiment 2's ProcessPoolExecutor(2) with a GIL
# per worker, experiment 5's round trip and throughput.
"$tour" --experiments=cpu,overheads --quick --cpu_tasks=2 --unit_ms=5 \
  --no_python --out="$tmp/pool" >"$tmp/out" 2>"$tmp/err"
rc=$?
[[ $rc == 0 ]] || { fail "pool run: exit status $rc"; cat "$tmp/out" "$tmp/err"; }
! grep -q "not available in this build" "$tmp/out" || fail "pool run: a row is not available"
if [[ -s $tmp/pool/tour.json ]]; then
  python3 - "$tmp/pool/tour.json" <<'PY' || fail "pool run: tour.json lacks a process-pool figure"
import json, sys
doc = json.load(open(sys.argv[1]))
cpu, over = doc["experiments"]
assert cpu["error"] == "" and over["error"] == "", (cpu["error"], over["error"])
rows = {r["config"]: r for r in cpu["tables"][0]["rows"]}
pool = rows["ProcessPoolExecutor(2), GIL per worker"]
assert pool["ours"]["value"] > 0 and pool["ours"]["ratio"] > 0, pool
proc = over["tables"][2]["rows"]
assert proc[0]["config"] == "ProcessPoolExecutor submit -> result", proc[0]
assert 0 < proc[0]["ours"]["value"] < 1, proc[0]
assert proc[1]["config"] == "ProcessPoolExecutor, 1k tasks: throughput", proc[1]
assert proc[1]["unit"] == "1/s" and proc[1]["ours"]["value"] > 0, proc[1]
assert "process pool: round trip" in over["claim"]["evidence"], over["claim"]
PY
else
  fail "pool run: no tour.json"
fi

if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
