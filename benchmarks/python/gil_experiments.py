#!/usr/bin/env python3
"""The GIL experiments of issue 5, run on CPython itself.

Three experiments, each a median of repetitions:

1. CPU-bound: k threads doing one work unit each against one thread doing the
   k units, and k processes doing one unit each (k = 2, 4 threads; 2
   processes). Speedup = time of the single thread / time of the k workers.
2. Hand-off latency: one CPU-bound thread runs; another thread calls
   time.sleep(0) in a loop and measures each call. time.sleep(0) drops the
   GIL, the CPU-bound thread takes it, and the sleeper must wait for a drop
   request (one switch interval) to get it back. Switch intervals 5, 1 and
   0.1 ms. The two threads are pinned to different CPUs.
3. Switch rate: two CPU-bound threads pinned to different CPUs count how often
   the GIL changed hands (a thread notices that the last thread to run was the
   other one) and how much work each did, at the same switch intervals.

convoy() (used by the tour, benchmarks/python/tour.py) measures the convoy
effect of bpo-7946: echo round trips per second through a socket pair to a
child process, alone and behind a CPU-bound thread.

Prints a human table, or JSON with --json. With --ours FILE (results of our
C++ GIL, as JSON) or --ours-cmd CMD (a command printing them; its repetitions
then alternate with CPython's, so both see the same machine load) it prints
both side by side, with the ratios and the issue's targets.
//benchmarks:gil_fidelity runs it that way.

Usage:
  python3 benchmarks/python/gil_experiments.py            # table
  python3 benchmarks/python/gil_experiments.py --json     # JSON on stdout
  python3 benchmarks/python/gil_experiments.py --quick    # fewer repetitions
"""

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import threading
import time

INTERVALS_MS = (5.0, 1.0, 0.1)


def pin(cpu):
    """Pins the calling thread (Linux: pid 0 is the calling thread)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def unpin():
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count()))


def cpus_to_use():
    if not hasattr(os, "sched_getaffinity"):
        return (None, None)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return (None, None)
    return (cpus[0], cpus[1])


def unit(n):
    """One unit of CPU-bound interpreter work."""
    x = 0
    for i in range(n):
        x += i
    return x


def calibrate(target_seconds):
    n = 200_000
    while True:
        t0 = time.perf_counter()
        unit(n)
        dt = time.perf_counter() - t0
        if dt > 0.05:
            return max(1, int(n * target_seconds / dt))
        n *= 2


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_threads(k, n):
    threads = [threading.Thread(target=unit, args=(n,)) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_processes(k, n):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=unit, args=(n,)) for _ in range(k)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


def cpu_bound(reps, unit_seconds):
    sys.setswitchinterval(0.005)
    n = calibrate(unit_seconds)
    result = {"unit_iterations": n, "threads": {}, "processes": {}}
    for k in (2, 4):
        speedups = []
        for _ in range(reps):
            single = timed(lambda: unit(k * n))
            workers = timed(lambda: run_threads(k, n))
            speedups.append(single / workers)
        result["threads"][str(k)] = {"speedup": statistics.median(speedups),
                                     "runs": speedups}
    for k in (2,):
        speedups = []
        for _ in range(reps):
            single = timed(lambda: unit(k * n))
            workers = timed(lambda: run_processes(k, n))
            speedups.append(single / workers)
        result["processes"][str(k)] = {"speedup": statistics.median(speedups),
                                       "runs": speedups}
    return result


def handoff(interval_ms, samples, cpus):
    sys.setswitchinterval(interval_ms / 1000.0)
    stop = [False]
    started = threading.Event()

    def spin():
        pin(cpus[0])
        started.set()
        x = 0
        while not stop[0]:
            x += 1

    t = threading.Thread(target=spin)
    t.start()
    pin(cpus[1])
    started.wait()
    for _ in range(10):  # warm up: the spinner is now CPU-bound
        time.sleep(0)
    latencies = []
    for _ in range(samples):
        t0 = time.perf_counter()
        time.sleep(0)
        latencies.append(time.perf_counter() - t0)
    stop[0] = True
    t.join()
    unpin()
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies) * 1e3,
        "p10_ms": latencies[len(latencies) // 10] * 1e3,
        "p90_ms": latencies[len(latencies) * 9 // 10] * 1e3,
        "samples": samples,
    }


def switch_rate(interval_ms, seconds, cpus):
    sys.setswitchinterval(interval_ms / 1000.0)
    last = [-1]
    work = [0, 0]
    switches = [0, 0]
    stop = [False]
    ready = threading.Barrier(3)

    def worker(me, cpu):
        pin(cpu)
        ready.wait()
        w = 0
        s = 0
        while not stop[0]:
            if last[0] != me:
                last[0] = me
                s += 1
            w += 1
        work[me] = w
        switches[me] = s

    threads = [threading.Thread(target=worker, args=(i, cpus[i]))
               for i in range(2)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop[0] = True
    elapsed = time.perf_counter() - t0
    for t in threads:
        t.join()
    total = sum(work)
    return {
        "per_second": sum(switches) / elapsed,
        "shares": [w / total for w in work],
    }


def convoy(interval_ms, seconds, cpus, behind_cpu_bound=True):
    """The convoy effect of bpo-7946: echo round trips per second of the main
    thread, whose socket calls release the GIL, through a socket pair to a
    child process, optionally while a CPU-bound thread holds the GIL."""
    sys.setswitchinterval(interval_ms / 1000.0)
    ours, peer = socket.socketpair()
    pid = os.fork()  # before any thread starts
    if pid == 0:
        ours.close()
        try:
            while True:
                data = peer.recv(64)
                if not data:
                    break
                peer.sendall(data)
        finally:
            os._exit(0)
    peer.close()
    stop = [False]
    started = threading.Event()

    def spin():
        pin(cpus[0])
        started.set()
        x = 0
        while not stop[0]:
            x += 1

    spinner = None
    if behind_cpu_bound:
        spinner = threading.Thread(target=spin)
        spinner.start()
        started.wait()
    pin(cpus[1])
    msg = b"ping".ljust(16, b"\0")
    round_trips = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    try:
        while time.perf_counter() < deadline:
            ours.sendall(msg)
            got = b""
            while len(got) < len(msg):
                chunk = ours.recv(len(msg) - len(got))
                if not chunk:
                    raise RuntimeError("convoy: the echo peer closed")
                got += chunk
            round_trips += 1
        elapsed = time.perf_counter() - t0
    finally:
        stop[0] = True
        if spinner is not None:
            spinner.join()
        unpin()
        ours.close()
        os.waitpid(pid, 0)
    return round_trips / elapsed


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d %H:%M UTC"),
    }


def run_all(reps, quick):
    cpus = cpus_to_use()
    out = {"implementation": "CPython " + platform.python_version(),
           "machine": machine(), "repetitions": reps,
           "pinned_cpus": [c for c in cpus if c is not None]}
    out["cpu_bound"] = cpu_bound(reps, 0.15 if quick else 0.3)
    out["handoff"] = {}
    out["switch_rate"] = {}
    for ms in INTERVALS_MS:
        samples = max(50, int((0.3 if quick else 1.0) / (ms / 1000.0)))
        samples = min(samples, 3000)
        runs = [handoff(ms, samples, cpus) for _ in range(reps)]
        out["handoff"][fmt_ms(ms)] = {
            "median_ms": statistics.median(r["median_ms"] for r in runs),
            "runs": runs,
        }
        rates = [switch_rate(ms, 0.5 if quick else 1.0, cpus)
                 for _ in range(reps)]
        shares = [min(r["shares"]) for r in rates]
        out["switch_rate"][fmt_ms(ms)] = {
            "per_second": statistics.median(r["per_second"] for r in rates),
            "min_share": statistics.median(shares),
            "runs": rates,
        }
    sys.setswitchinterval(0.005)
    return out


def merge(runs):
    """Medians over several single-repetition results of run_all()."""
    out = dict(runs[0])
    out["repetitions"] = len(runs)
    cb = {"threads": {}, "processes": {}}
    for kind in ("threads", "processes"):
        for k in runs[0]["cpu_bound"][kind]:
            v = [r["cpu_bound"][kind][k]["speedup"] for r in runs]
            cb[kind][k] = {"speedup": statistics.median(v), "runs": v}
    out["cpu_bound"] = cb
    out["handoff"] = {}
    out["switch_rate"] = {}
    for key in runs[0]["handoff"]:
        v = [r["handoff"][key]["median_ms"] for r in runs]
        out["handoff"][key] = {"median_ms": statistics.median(v),
                               "run_medians_ms": v}
    for key in runs[0]["switch_rate"]:
        v = [r["switch_rate"][key]["per_second"] for r in runs]
        sh = [r["switch_rate"][key]["min_share"] for r in runs]
        out["switch_rate"][key] = {"per_second": statistics.median(v),
                                   "min_share": statistics.median(sh),
                                   "runs": v}
    return out


def interleaved(reps, quick, ours_cmd):
    """Alternates one repetition of ours (a command printing its JSON) and
    one of CPython's, so that both see the same machine load."""
    ours_runs, cp_runs = [], []
    for _ in range(reps):
        cmd = shlex.split(ours_cmd) + ["--repetitions=1"]
        if quick:
            cmd.append("--quick")
        ours_runs.append(json.loads(subprocess.check_output(cmd)))
        cp_runs.append(run_all(1, quick))
    return merge(cp_runs), merge(ours_runs)


def fmt_ms(ms):
    return ("%g" % ms)


# Targets of issue 5.
SPEEDUP_TOLERANCE = 0.15
RELATIVE_TOLERANCE = 0.20


def rows(cp, ours=None):
    """(experiment, CPython, ours, ratio-or-diff, target-met) rows."""
    out = []

    def add(name, a, b, kind, unit):
        if b is None:
            out.append((name, "%.3g %s" % (a, unit), "", "", ""))
            return
        if kind == "abs":
            d = b - a
            ok = abs(d) <= SPEEDUP_TOLERANCE
            out.append((name, "%.2f" % a, "%.2f" % b, "%+.2f" % d,
                        "yes" if ok else "NO"))
        else:
            r = b / a if a else float("inf")
            ok = abs(r - 1) <= RELATIVE_TOLERANCE
            out.append((name, "%.3g %s" % (a, unit), "%.3g %s" % (b, unit),
                        "x%.2f" % r, "yes" if ok else "NO"))

    def get(d, *keys):
        for k in keys:
            if d is None or k not in d:
                return None
            d = d[k]
        return d

    for k in ("2", "4"):
        add("CPU-bound, %s threads: speedup" % k,
            cp["cpu_bound"]["threads"][k]["speedup"],
            get(ours, "cpu_bound", "threads", k, "speedup"), "abs", "")
    add("CPU-bound, 2 processes: speedup",
        cp["cpu_bound"]["processes"]["2"]["speedup"],
        get(ours, "cpu_bound", "processes", "2", "speedup"), "abs", "")
    for ms in INTERVALS_MS:
        key = fmt_ms(ms)
        add("hand-off median, interval %s ms" % key,
            cp["handoff"][key]["median_ms"],
            get(ours, "handoff", key, "median_ms"), "rel", "ms")
    for ms in INTERVALS_MS:
        key = fmt_ms(ms)
        add("switch rate, interval %s ms" % key,
            cp["switch_rate"][key]["per_second"],
            get(ours, "switch_rate", key, "per_second"), "rel", "/s")
    for ms in INTERVALS_MS:
        key = fmt_ms(ms)
        a = cp["switch_rate"][key]["min_share"]
        b = get(ours, "switch_rate", key, "min_share")
        out.append(("smaller thread's share, %s ms" % key, "%.0f%%" % (a * 100),
                    "" if b is None else "%.0f%%" % (b * 100), "", ""))
    return out


def print_table(cp, ours=None):
    m = cp["machine"]
    print("Machine: %s, %d CPUs; %s; %s; medians of %d repetitions"
          % (m["cpu"], m["cpus"], cp["implementation"], m["date"],
             cp["repetitions"]))
    print("Threads pinned to CPUs %s in the hand-off and switch-rate "
          "experiments." % cp["pinned_cpus"])
    header = ("experiment", cp["implementation"])
    if ours is not None:
        header += (ours.get("implementation", "ours"), "ours vs CPython",
                   "target met")
    table = [header] + [r[:len(header)] for r in rows(cp, ours)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if ours is not None:
        print("Targets: speedup within +-%.2f of CPython's; hand-off medians "
              "and switch rates within +-%d%%."
              % (SPEEDUP_TOLERANCE, RELATIVE_TOLERANCE * 100))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true",
                        help="print JSON instead of the table")
    parser.add_argument("--quick", action="store_true",
                        help="shorter runs (for smoke tests)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--ours", metavar="FILE",
                        help="our GIL's results (JSON) to print beside")
    parser.add_argument("--ours-cmd", metavar="CMD",
                        help="a command printing our GIL's results (JSON) "
                        "for --repetitions=1; its repetitions are "
                        "interleaved with CPython's")
    parser.add_argument("--save", metavar="FILE",
                        help="also write CPython's results (JSON) to FILE")
    parser.add_argument("--save-ours", metavar="FILE",
                        help="with --ours-cmd: write ours (JSON) to FILE")
    args = parser.parse_args()
    if args.repetitions < 1:
        parser.error("--repetitions must be >= 1")
    ours = None
    if args.ours_cmd:
        cp, ours = interleaved(args.repetitions, args.quick, args.ours_cmd)
        if args.save_ours:
            with open(args.save_ours, "w") as f:
                json.dump(ours, f, indent=1)
    else:
        cp = run_all(args.repetitions, args.quick)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(cp, f, indent=1)
    if args.json:
        json.dump(cp, sys.stdout, indent=1)
        print()
        return
    if args.ours:
        with open(args.ours) as f:
            ours = json.load(f)
    print_table(cp, ours)


if __name__ == "__main__":
    main()
