#!/usr/bin/env python3
"""CPython's asyncio on the workloads of benchmarks/aio_benchmark.cc.

Run by //benchmarks:aio after its own suite (which passes --ours with its
Google Benchmark JSON report), it measures the same workloads with asyncio
and prints them side by side with futures/aio and Boost.Asio, with the ratios
and the targets of issue 10:

    ./bazelw run -c opt //benchmarks:aio -- --benchmark_repetitions=5

or alone:

    python3 benchmarks/python/asyncio_bench.py [--ours ours.json]
        [--repetitions N] [--quick] [--save cpython.json]

Workloads (medians of the repetitions):
  AwaitReady          await of a done future, ns
  TaskSwitch          await asyncio.sleep(0) in one task, ns
  Sleep100k           100,000 tasks each sleeping 10 ms: ms; peak RSS and
                      RSS bytes per task, measured in a fresh process
  EchoPingPong        32-byte loopback round trips, client and server in one
                      loop, ns per round trip (and round trips/s)
  HandOff             a thread completes a concurrent.futures.Future and the
                      coroutine awaiting asyncio.wrap_future() of it resumes, us
  HandOffThreadsafe   a thread's loop.call_soon_threadsafe() until the
                      callback runs, us
"""

import argparse
import asyncio
import collections
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import concurrent.futures

SLEEPERS = 100_000


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def await_ready(n):
    async def main():
        f = asyncio.get_running_loop().create_future()
        f.set_result(1)
        s = 0
        t0 = time.perf_counter_ns()
        for _ in range(n):
            s += await f
        return (time.perf_counter_ns() - t0) / n
    return asyncio.run(main())


def task_switch(n):
    async def main():
        t0 = time.perf_counter_ns()
        for _ in range(n):
            await asyncio.sleep(0)
        return (time.perf_counter_ns() - t0) / n
    return asyncio.run(main())


def sleep100k_child():
    """Runs in a fresh interpreter: prints ms, peak RSS, bytes per task."""
    rss0 = rss_bytes()
    peak = {}

    async def main():
        tasks = [asyncio.create_task(asyncio.sleep(0.01))
                 for _ in range(SLEEPERS)]
        await asyncio.sleep(0)  # every task has started
        peak["rss"] = rss_bytes()
        await asyncio.gather(*tasks)

    t0 = time.perf_counter_ns()
    asyncio.run(main())
    ms = (time.perf_counter_ns() - t0) / 1e6
    maxrss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"ms": ms, "peak_rss_MiB": maxrss_mib,
                      "bytes_per_task": (peak["rss"] - rss0) / SLEEPERS}))


def sleep100k():
    out = subprocess.run([sys.executable, __file__, "--child-sleep100k"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def echo_ping_pong(n):
    async def handle(reader, writer):
        try:
            while True:
                data = await reader.readexactly(32)
                writer.write(data)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        message = b"m" * 32
        t0 = time.perf_counter_ns()
        for _ in range(n):
            writer.write(message)
            await writer.drain()
            await reader.readexactly(32)
        elapsed = time.perf_counter_ns() - t0
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return elapsed / n
    return asyncio.run(main())


class Helper:
    """A thread that runs `action` once per request (it blocks between
    requests: a spinning Python thread would hold the GIL the loop needs)."""

    def __init__(self, action):
        self.action = action
        self.go = threading.Event()
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            self.go.wait()
            self.go.clear()
            if self.stop:
                return
            self.action()

    def request(self):
        self.go.set()

    def close(self):
        self.stop = True
        self.go.set()
        self.thread.join()


def hand_off(n):
    """wrap_future(): completion in a thread until the awaiting coroutine
    resumes."""
    async def main():
        pending = {}
        helper = Helper(lambda: pending["cf"].set_result(time.perf_counter_ns()))
        samples = []
        for _ in range(n):
            cf = concurrent.futures.Future()
            f = asyncio.wrap_future(cf)
            pending["cf"] = cf
            helper.request()
            t0 = await f
            samples.append(time.perf_counter_ns() - t0)
        helper.close()
        return statistics.median(samples) / 1e3
    return asyncio.run(main())


def hand_off_threadsafe(n):
    """call_soon_threadsafe(): from the call in a thread until the callback
    runs."""
    async def main():
        loop = asyncio.get_running_loop()
        pending = {}

        def post():
            t0 = time.perf_counter_ns()
            fut = pending["f"]
            loop.call_soon_threadsafe(
                lambda: fut.set_result(time.perf_counter_ns() - t0))

        helper = Helper(post)
        samples = []
        for _ in range(n):
            pending["f"] = loop.create_future()
            f = pending["f"]
            helper.request()
            samples.append(await f)
        helper.close()
        return statistics.median(samples) / 1e3
    return asyncio.run(main())


def measure(repetitions, quick):
    scale = 10 if quick else 1
    runs = collections.defaultdict(list)
    for _ in range(repetitions):
        runs["AwaitReady"].append(await_ready(1_000_000 // scale))
        runs["TaskSwitch"].append(task_switch(200_000 // scale))
        runs["EchoPingPong"].append(echo_ping_pong(20_000 // scale))
        runs["HandOff"].append(hand_off(2_000 // scale))
        runs["HandOffThreadsafe"].append(hand_off_threadsafe(2_000 // scale))
        s = sleep100k()
        runs["Sleep100k"].append(s["ms"])
        runs["Sleep100k.peak_rss_MiB"].append(s["peak_rss_MiB"])
        runs["Sleep100k.bytes_per_task"].append(s["bytes_per_task"])
    return {k: statistics.median(v) for k, v in runs.items()}


def ours_medians(path):
    """{name: {"ns": median real time, counters...}} from Google Benchmark's
    JSON."""
    with open(path) as f:
        report = json.load(f)
    samples = collections.defaultdict(list)
    counters = collections.defaultdict(lambda: collections.defaultdict(list))
    medians = {}
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"]).split("/")
        name = "/".join(name[:2])
        t = b["real_time"] * scale[b.get("time_unit", "ns")]
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") != "median":
                continue
            medians[name] = t
        else:
            samples[name].append(t)
        for c in ("bytes_per_task", "rss_MiB"):
            if c in b:
                counters[name][c].append(b[c])
    out = {}
    for name in set(samples) | set(medians):
        ns = medians.get(name)
        out[name] = {"ns": ns if ns is not None
                     else statistics.median(samples[name])}
        for c, vals in counters[name].items():
            out[name][c] = statistics.median(vals)
    return out


def fmt_time(ns):
    for unit, s in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= s:
            return "%.3g %s" % (ns / s, unit)
    return "%.3g ns" % ns


def report(ours, py):
    def get(workload, impl):
        return ours.get("%s/%s" % (workload, impl), {}).get("ns")

    def ratio(a, b):
        return "%.3g" % (a / b) if a and b else "-"

    lines = ["| workload | futures/aio | Boost.Asio | CPython asyncio | "
             "aio / Asio | aio / CPython | target |",
             "|---|---:|---:|---:|---:|---:|---|"]
    rows = [
        ("AwaitReady", "AwaitReady", "<= Asio, <= 1/20 CPython"),
        ("TaskSwitch", "TaskSwitch", "<= Asio, <= 1/20 CPython"),
        ("Sleep100k", "Sleep100k", "<= 1/10 CPython"),
        ("EchoPingPong", "EchoPingPong", "rate >= Asio, >= 2x CPython"),
        ("HandOff", "HandOff", "report"),
        ("HandOffThreadsafe", "HandOffThreadsafe", "report"),
    ]
    for workload, pykey, target in rows:
        ns = get(workload, "concurrent")
        asio = get(workload, "asio")
        cpy = py.get(pykey)
        if pykey.startswith("HandOff"):
            cpy = cpy * 1e3 if cpy is not None else None  # us -> ns
        elif pykey == "Sleep100k":
            cpy = cpy * 1e6 if cpy is not None else None  # ms -> ns
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            workload, fmt_time(ns) if ns else "-",
            fmt_time(asio) if asio else "-",
            fmt_time(cpy) if cpy else "-", ratio(ns, asio), ratio(ns, cpy),
            target))
    coro = get("AwaitReady", "concurrent_coroutine")
    if coro:
        lines.append("| AwaitReady (a Coroutine that returns at once) | %s | "
                     "%s | | %s | | |" % (fmt_time(coro),
                                          fmt_time(get("AwaitReady", "asio") or 0),
                                          ratio(coro, get("AwaitReady", "asio"))))
    echo = get("EchoPingPong", "concurrent")
    if echo:
        lines.append("")
        lines.append("EchoPingPong round trips/s: futures/aio %.0f, Asio %s, "
                     "CPython %.0f" % (
                         1e9 / echo,
                         "%.0f" % (1e9 / get("EchoPingPong", "asio"))
                         if get("EchoPingPong", "asio") else "-",
                         1e9 / py["EchoPingPong"]))
    mem = []
    for impl in ("concurrent", "asio"):
        m = ours.get("Sleep100k/%s" % impl)
        if m and "rss_MiB" in m:
            mem.append("%s: RSS %.1f MiB while all live, %.0f heap bytes/task"
                       % (impl, m["rss_MiB"], m["bytes_per_task"]))
    mem.append("CPython: peak RSS %.1f MiB, %.0f RSS bytes/task" % (
        py["Sleep100k.peak_rss_MiB"], py["Sleep100k.bytes_per_task"]))
    lines.append("")
    lines.append("Sleep100k memory: " + "; ".join(mem) +
                 " (target: under 50 MB for futures/aio)")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ours", help="Google Benchmark JSON of //benchmarks:aio")
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--save", help="write CPython's medians here (JSON)")
    ap.add_argument("--load", help="print with CPython's medians from a "
                    "--save file instead of measuring again")
    ap.add_argument("--child-sleep100k", action="store_true",
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_sleep100k:
        sleep100k_child()
        return
    if args.load:
        with open(args.load) as f:
            py = json.load(f)
    else:
        py = measure(args.repetitions, args.quick)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(py, f, indent=1)
    if args.load:
        print("CPython results loaded from %s" % args.load)
    else:
        print("CPython %s, medians of %d repetitions" % (
            sys.version.split()[0], args.repetitions))
    if args.ours:
        print(report(ours_medians(args.ours), py))
    else:
        print(json.dumps(py, indent=1))


if __name__ == "__main__":
    main()
