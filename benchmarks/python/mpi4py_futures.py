#!/usr/bin/python3
"""mpi4py.futures.MPICommExecutor on the workloads of benchmarks/mpi_benchmark.cc.

Run under mpirun with 3 ranks (the master and 2 workers), with Debian's
python3 (python3-mpi4py), as benchmarks/mpi.sh does:

    mpirun -np 3 /usr/bin/python3 benchmarks/python/mpi4py_futures.py \
        --repetitions 5 --out /tmp/mpi4py.json

Writes a Google Benchmark-style JSON report (names <workload>/mpi4py, one
entry per repetition) that benchmarks/python/ratios.py reads beside the C++
one. The workloads: RoundTrip (submit one tiny task, wait for it),
Throughput20k (20,000 tiny tasks submitted, then awaited) and
Map20kChunks100 (map() over 20,000 inputs, chunksize 100).
"""

import argparse
import json
import time

from mpi4py import MPI
from mpi4py.futures import MPICommExecutor

TASKS = 20_000


def multiply(a, b):
    return a * b


def square(x):
    return x * x


def round_trip(executor, min_time):
    n = 0
    start = time.perf_counter()
    while True:
        executor.submit(multiply, n, 3).result()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and n >= 10:
            return elapsed / n, n


def throughput(executor):
    start = time.perf_counter()
    futures = [executor.submit(multiply, i, 3) for i in range(TASKS)]
    for f in futures:
        f.result()
    return time.perf_counter() - start, 1


def map_chunks(executor):
    start = time.perf_counter()
    total = sum(executor.map(square, range(TASKS), chunksize=100))
    assert total > 0
    return time.perf_counter() - start, 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--min_time", type=float, default=0.5)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with MPICommExecutor(MPI.COMM_WORLD, root=0) as executor:
        if executor is None:  # a worker rank: served until here
            return
        throughput(executor)  # warm-up: the workers' first tasks
        runs = []
        for rep in range(args.repetitions):
            t, n = round_trip(executor, args.min_time)
            runs.append(("RoundTrip/mpi4py", t, n, 1))
            t, n = throughput(executor)
            runs.append(("Throughput20k/mpi4py", t, n, TASKS))
            t, n = map_chunks(executor)
            runs.append(("Map20kChunks100/mpi4py", t, n, TASKS))
        report = {
            "context": {"mpi4py": __import__("mpi4py").__version__,
                        "ranks": MPI.COMM_WORLD.Get_size()},
            "benchmarks": [
                {
                    "name": name,
                    "run_name": name,
                    "run_type": "iteration",
                    "iterations": n,
                    "real_time": t * 1e9,
                    "time_unit": "ns",
                    "items_per_second": items / t,
                }
                for name, t, n, items in runs
            ],
        }
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
        for name, t, n, items in runs:
            print(f"{name:28s} {t * 1e6:12.1f} us  {items / t:12.0f} items/s")


if __name__ == "__main__":
    main()
