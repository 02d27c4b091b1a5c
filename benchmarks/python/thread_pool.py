#!/usr/bin/env python3
# Copyright 2026 The concurrent Authors.
"""CPython's ThreadPoolExecutor on the workloads of //benchmarks:executors.

The same three workloads as benchmarks/executors_benchmark.cc, 2 workers:

  throughput  submit N tasks that each return an int, then wait for all
              (the C++ binary uses N = 100,000; the default here is the same)
  latency     submit one task to an idle pool and block on its result
  scaling     CPU-bound tasks, 2 workers against 1 (the GIL keeps this near
              1x on CPython builds with a GIL)

Each workload runs --repetitions times; the script prints the median of each
as a table, then as one JSON document (also written to --out FILE) that the
tour can read to print the ratio to the C++ figures:

  python3 benchmarks/python/thread_pool.py --repetitions 5 --out py.json

Nothing here imports from this repository: it measures CPython only.
"""

import argparse
import concurrent.futures
import json
import platform
import statistics
import sys
import time

WORKERS = 2


def _ret(i):
    return i


def _one():
    return 1


def _spin(seed, rounds):
    # Pure-Python integer work: the CPU-bound task (no I/O, no C release of
    # the GIL). Same shape as the C++ xorshift loop, far fewer rounds.
    x = seed | 1
    mask = (1 << 64) - 1
    for _ in range(rounds):
        x ^= (x << 13) & mask
        x ^= x >> 7
        x ^= (x << 17) & mask
    return x


def throughput(tasks):
    """Items per second for `tasks` submits then a wait for all."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pool.submit(_ret, 0).result()  # start a worker
        start = time.perf_counter()
        futures = [pool.submit(_ret, i) for i in range(tasks)]
        total = sum(f.result() for f in futures)
        elapsed = time.perf_counter() - start
    assert total == tasks * (tasks - 1) // 2
    return tasks / elapsed


def latency(rounds):
    """Median seconds for submit + result() on an idle pool."""
    samples = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        pool.submit(_one).result()
        for _ in range(rounds):
            start = time.perf_counter()
            pool.submit(_one).result()
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cpu_bound(workers, tasks, rounds):
    """Items per second of CPU-bound tasks on `workers` threads."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        start = time.perf_counter()
        futures = [pool.submit(_spin, i, rounds) for i in range(tasks)]
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - start
    return tasks / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=100_000,
                        help="tasks per throughput run (C++: 100,000)")
    parser.add_argument("--latency-rounds", type=int, default=2_000)
    parser.add_argument("--cpu-tasks", type=int, default=40)
    parser.add_argument("--cpu-rounds", type=int, default=20_000)
    parser.add_argument("--out", help="write the JSON document to this file")
    args = parser.parse_args()

    reps = range(args.repetitions)
    tput = [throughput(args.tasks) for _ in reps]
    lat = [latency(args.latency_rounds) for _ in reps]
    one = [cpu_bound(1, args.cpu_tasks, args.cpu_rounds) for _ in reps]
    two = [cpu_bound(2, args.cpu_tasks, args.cpu_rounds) for _ in reps]

    result = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "workers": WORKERS,
        "repetitions": args.repetitions,
        "throughput_items_per_second": statistics.median(tput),
        "throughput_tasks": args.tasks,
        "latency_seconds": statistics.median(lat),
        "scaling_1_worker_items_per_second": statistics.median(one),
        "scaling_2_workers_items_per_second": statistics.median(two),
    }
    result["scaling_ratio"] = (result["scaling_2_workers_items_per_second"] /
                               result["scaling_1_worker_items_per_second"])

    rows = [
        ("throughput (items/s)", f"{result['throughput_items_per_second']:,.0f}"),
        ("latency (us)", f"{result['latency_seconds'] * 1e6:.1f}"),
        ("CPU-bound, 1 worker (items/s)",
         f"{result['scaling_1_worker_items_per_second']:.1f}"),
        ("CPU-bound, 2 workers (items/s)",
         f"{result['scaling_2_workers_items_per_second']:.1f}"),
        ("scaling 2 vs 1", f"{result['scaling_ratio']:.2f}x"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"CPython {result['python']} ThreadPoolExecutor, "
          f"{WORKERS} workers, median of {args.repetitions}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    document = json.dumps(result, indent=2, sort_keys=True)
    print(document)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(document + "\n")


if __name__ == "__main__":
    main()
