#!/usr/bin/env python3
# Copyright 2026 The concurrent Authors.
"""CPython's side of the tour (//benchmarks:tour): the same experiments on
CPython's own concurrent.futures and asyncio.

Each subcommand runs one experiment and prints one JSON document:

  {"python": "3.11.2", "rows": {"<configuration>": [seconds or rate, ...]}}

with one value per repetition under the configuration names the tour uses
for its own rows (benchmarks/tour/*.cc), so the tour can put them side by
side. Subcommands:

  io --port P --files N --workers 4,20   experiment 1: download N files from
      the tour's HTTP server (http.client in threads, asyncio streams in
      coroutine tasks, run_in_executor), checking each file's bytes
  cpu --tasks N --unit-ms MS             experiment 2: count primes
      sequentially, on ThreadPoolExecutor(2), ProcessPoolExecutor(2) and two
      bare processes
  gil                                    experiment 3: hand-off latency
      (gil_experiments.handoff) and the convoy effect (gil_experiments.convoy)
  futures                                experiment 4: the blocking Future
      (result(timeout) raising TimeoutError, its overshoot, the cost of
      result() and done()) and the awaitable one (wait_for timing out on a
      task, await of a done future, wrap_future)
  overheads --tasks N                    experiment 5: Future round trip,
      ThreadPoolExecutor and ProcessPoolExecutor latency, N-task (20,000)
      ProcessPoolExecutor throughput

Common flags: --repetitions N, --quick (smaller sizes). Nothing here imports
from the C++ side; it reuses gil_experiments.py and thread_pool.py.
"""

import argparse
import asyncio
import concurrent.futures
import http.client
import json
import multiprocessing
import os
import platform
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gil_experiments  # noqa: E402
import thread_pool  # noqa: E402


# --- experiment 1: I/O-bound ------------------------------------------------

def file_path(i):
    return "/flags/%02d.bin" % i


def file_content(i):
    """The bytes the tour's server serves for file i (benchmarks/tour/http.h)."""
    return bytes((31 * i + 7 * k + (k >> 8)) & 0xff
                 for k in range(1024 + 311 * i))


def check(i, body, expected):
    if body != expected[i]:
        raise RuntimeError("%s: %d bytes differ from the file"
                           % (file_path(i), len(body)))
    return len(body)


def download(port, i, expected):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", file_path(i), headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError("GET %s: HTTP %d" % (file_path(i), resp.status))
    finally:
        conn.close()
    return check(i, body, expected)


async def download_coroutine(port, i, expected):
    """One GET over asyncio streams. The standard library has no asyncio
    HTTP client, so this writes the request and reads to EOF (the server
    closes the connection), checking the status line and Content-Length."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n" % file_path(i)).encode())
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 200"):
        raise RuntimeError("GET %s: %s" % (file_path(i), lines[0]))
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length" and int(value) != len(body):
            raise RuntimeError("GET %s: short body" % file_path(i))
    return check(i, body, expected)


async def all_coroutines(port, files, expected):
    await asyncio.gather(*(download_coroutine(port, i, expected)
                           for i in range(files)))


async def all_in_executor(port, files, expected):
    loop = asyncio.get_running_loop()
    with concurrent.futures.ThreadPoolExecutor(files) as pool:
        await asyncio.gather(*(loop.run_in_executor(pool, download, port, i,
                                                    expected)
                               for i in range(files)))


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def io_bound(args):
    expected = [file_content(i) for i in range(args.files)]
    workers = [int(w) for w in args.workers.split(",")]

    def sequential():
        for i in range(args.files):
            download(args.port, i, expected)

    def pooled(w):
        with concurrent.futures.ThreadPoolExecutor(w) as pool:
            list(pool.map(lambda i: download(args.port, i, expected),
                          range(args.files)))

    rows = {"sequential": []}
    for w in workers:
        rows["ThreadPoolExecutor(%d), GIL" % w] = []
    coro = "aio: %d coroutine tasks" % args.files
    rows[coro] = []
    rows["aio + run_in_executor"] = []
    for _ in range(args.repetitions):
        rows["sequential"].append(timed(sequential))
        for w in workers:
            rows["ThreadPoolExecutor(%d), GIL" % w].append(timed(pooled, w))
        rows[coro].append(timed(asyncio.run, all_coroutines(
            args.port, args.files, expected)))
        rows["aio + run_in_executor"].append(timed(asyncio.run,
                                                   all_in_executor(
                                                       args.port, args.files,
                                                       expected)))
    return {"rows": rows}


# --- experiment 2: CPU-bound ------------------------------------------------

def count_primes(n):
    """The number of primes below n by trial division (as the tour's C++)."""
    count = 0
    for c in range(2, n):
        d = 2
        prime = True
        while d * d <= c:
            if c % d == 0:
                prime = False
                break
            d += 1
        count += prime
    return count


def calibrate(target_seconds):
    n = 2_000
    while True:
        dt = timed(count_primes, n)
        if dt > 0.02:
            return max(100, int(n * (target_seconds / dt) ** (1 / 1.5)))
        n *= 2


def bare_child(n, tasks, expected):
    ok = all(count_primes(n) == expected for _ in range(tasks))
    os._exit(0 if ok else 1)


def cpu_bound(args):
    n = calibrate(args.unit_ms / 1000.0)
    expected = count_primes(n)
    ctx = multiprocessing.get_context("fork")
    rows = {k: [] for k in ("sequential", "ThreadPoolExecutor(2), GIL",
                            "ProcessPoolExecutor(2), GIL per worker",
                            "2 bare processes (ceiling)")}

    def run_pool(pool):
        pool.submit(int).result()  # workers up, as the tour's pools are
        t0 = time.perf_counter()
        fs = [pool.submit(count_primes, n) for _ in range(args.tasks)]
        if any(f.result() != expected for f in fs):
            raise RuntimeError("wrong prime count")
        return time.perf_counter() - t0

    def bare():
        procs = [ctx.Process(target=bare_child,
                             args=(n, args.tasks // 2, expected))
                 for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise RuntimeError("a child process failed")

    for _ in range(args.repetitions):
        rows["sequential"].append(timed(lambda: [count_primes(n)
                                                 for _ in range(args.tasks)]))
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            rows["ThreadPoolExecutor(2), GIL"].append(run_pool(pool))
        with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
            rows["ProcessPoolExecutor(2), GIL per worker"].append(
                run_pool(pool))
        rows["2 bare processes (ceiling)"].append(timed(bare))
    return {"n": n, "primes": expected, "rows": rows}


# --- experiment 3: the hand-off ----------------------------------------------

def gil(args):
    cpus = gil_experiments.cpus_to_use()
    handoff_seconds = 0.1 if args.quick else 0.5
    convoy_seconds = 0.2 if args.quick else 0.5
    rows = {}
    for ms in (5.0, 1.0, 0.1):
        samples = min(2000, max(20, int(handoff_seconds / (ms / 1000.0))))
        rows["sleep(0) behind a CPU-bound thread, %g ms" % ms] = [
            gil_experiments.handoff(ms, samples, cpus)["median_ms"] / 1e3
            for _ in range(args.repetitions)]
    rows["echo thread alone"] = [
        gil_experiments.convoy(5.0, convoy_seconds, cpus, False)
        for _ in range(args.repetitions)]
    rows["behind a CPU-bound thread, new GIL"] = [
        gil_experiments.convoy(5.0, convoy_seconds, cpus, True)
        for _ in range(args.repetitions)]
    sys.setswitchinterval(0.005)
    return {"rows": rows}


# --- experiment 4: two futures ------------------------------------------------

def per_call(batches, batch, fn):
    """The median seconds per call of fn() over `batches` batches."""
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


async def awaitable_side(repetitions, timeout, batches, batch, pool):
    loop = asyncio.get_running_loop()
    timed_out = []
    for _ in range(repetitions):
        go = loop.create_future()

        async def wait_for_signal():
            return await go

        task = loop.create_task(wait_for_signal())
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(task, timeout)
            raise RuntimeError("wait_for did not time out")
        except asyncio.TimeoutError:
            pass
        timed_out.append(time.perf_counter() - t0)
        if not task.cancelled():
            raise RuntimeError("wait_for did not cancel the task")
    done = loop.create_future()
    done.set_result(7)
    done_blocking = concurrent.futures.Future()
    done_blocking.set_result(7)
    await_done, wrap_done, wrap_submit = [], [], []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(batch):
            await done
        await_done.append((time.perf_counter() - t0) / batch)
        t0 = time.perf_counter()
        for _ in range(batch // 100):
            await asyncio.wrap_future(done_blocking)
        wrap_done.append((time.perf_counter() - t0) / (batch // 100))
        t0 = time.perf_counter()
        for _ in range(batch // 400):
            await asyncio.wrap_future(pool.submit(int, 1))
        wrap_submit.append((time.perf_counter() - t0) / (batch // 400))
    return {
        "wait_for(timeout=10ms) on a pending task: TimeoutError": timed_out,
        "co_await on a done future": [statistics.median(await_done)],
        "co_await wrap_future(done blocking future)":
            [statistics.median(wrap_done)],
        "co_await wrap_future(ThreadPoolExecutor(1).submit())":
            [statistics.median(wrap_submit)],
    }


def two_futures(args):
    timeout = 0.010
    # The same counts as the tour's (benchmarks/tour/two_futures.cc).
    batches = 5 if args.quick else 15
    batch = 5_000 if args.quick else 20_000
    rows = {}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        timed_out = []
        for _ in range(args.repetitions):
            go = threading.Event()
            f = pool.submit(lambda: go.wait() and 42)
            t0 = time.perf_counter()
            try:
                f.result(timeout)
                raise RuntimeError("result(timeout) did not time out")
            except concurrent.futures.TimeoutError:
                pass
            timed_out.append(time.perf_counter() - t0)
            go.set()
            if f.result() != 42:
                raise RuntimeError("wrong result")
        rows["result(timeout=10ms) on a pending future: TimeoutError"] = (
            timed_out)
        done = concurrent.futures.Future()
        done.set_result(7)
        rows["result() on a done future"] = [
            per_call(batches, batch, done.result)]
        hold = threading.Event()
        pending = pool.submit(hold.wait)
        rows["done() on a pending future"] = [
            per_call(batches, batch, pending.done)]
        overshoot = []
        for _ in range(10 if args.quick else 40):
            t0 = time.perf_counter()
            try:
                pending.result(0.0005)
            except concurrent.futures.TimeoutError:
                pass
            overshoot.append(time.perf_counter() - t0 - 0.0005)
        rows["result(timeout=500us) past its timeout (overshoot)"] = [
            statistics.median(overshoot)]
        hold.set()
        pending.result()
        rows.update(asyncio.run(awaitable_side(args.repetitions, timeout,
                                               batches, batch, pool)))
    return {"rows": rows}


# --- experiment 5: overheads ---------------------------------------------------

def future_round_trip(batch):
    """Seconds per create + set_result + result() of a Future, one thread."""
    Future = concurrent.futures.Future
    t0 = time.perf_counter()
    for _ in range(batch):
        f = Future()
        f.set_result(1)
        f.result()
    return (time.perf_counter() - t0) / batch


def process_latency(pool, rounds):
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        pool.submit(int).result()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def process_throughput(pool, tasks):
    t0 = time.perf_counter()
    fs = [pool.submit(int, i) for i in range(tasks)]
    if sum(f.result() for f in fs) != tasks * (tasks - 1) // 2:
        raise RuntimeError("wrong results")
    return tasks / (time.perf_counter() - t0)


def overheads(args):
    batch = 2_000 if args.quick else 20_000
    rounds = 300 if args.quick else 2_000
    tasks = args.tasks
    rows = {"Future": [], "ThreadPoolExecutor": [],
            "ProcessPoolExecutor submit -> result": []}
    for _ in range(args.repetitions):
        rows["Future"].append(statistics.median(
            future_round_trip(batch) for _ in range(5)))
        rows["ThreadPoolExecutor"].append(thread_pool.latency(rounds))
    ctx = multiprocessing.get_context("fork")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=ctx) as pool:
        pool.submit(int).result()
        for _ in range(args.repetitions):
            rows["ProcessPoolExecutor submit -> result"].append(
                process_latency(pool, rounds // 10))
        # One run: 20,000 tasks take seconds on CPython.
        name = "ProcessPoolExecutor, %dk tasks: throughput" % (tasks // 1000)
        rows[name] = [process_throughput(pool, tasks)]
    return {"throughput_tasks": tasks, "rows": rows}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    sub = parser.add_subparsers(dest="experiment", required=True)
    io = sub.add_parser("io")
    io.add_argument("--port", type=int, required=True)
    io.add_argument("--files", type=int, default=20)
    io.add_argument("--workers", default="4,20")
    cpu = sub.add_parser("cpu")
    cpu.add_argument("--tasks", type=int, default=4)
    cpu.add_argument("--unit-ms", type=float, default=100)
    sub.add_parser("gil")
    sub.add_parser("futures")
    over = sub.add_parser("overheads")
    over.add_argument("--tasks", type=int, default=20_000,
                      help="tasks of the ProcessPoolExecutor throughput run")
    # Common flags may come after the subcommand too.
    for p in sub.choices.values():
        p.add_argument("--repetitions", type=int, default=argparse.SUPPRESS)
        p.add_argument("--quick", action="store_true",
                       default=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.repetitions < 1:
        parser.error("--repetitions must be >= 1")
    run = {"io": io_bound, "cpu": cpu_bound, "gil": gil,
           "futures": two_futures, "overheads": overheads}[args.experiment]
    result = {"python": platform.python_version(),
              "implementation": platform.python_implementation()}
    result.update(run(args))
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
