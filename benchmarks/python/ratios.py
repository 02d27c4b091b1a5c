#!/usr/bin/env python3
"""Medians and ratios from a Google Benchmark JSON report.

Benchmarks in this repository are named <workload>/<implementation>[/...];
this prints, for each workload, the median time of every implementation and
its ratio to this library's ("concurrent"): a ratio of 0.25 means we take a
quarter of that peer's time.

    bazel-bin/benchmarks/futures --benchmark_repetitions=10 \
        --benchmark_format=json > /tmp/futures.json
    python3 benchmarks/python/ratios.py /tmp/futures.json
"""

import collections
import json
import statistics
import sys

OURS = "concurrent"


def medians(report):
    """{(workload, impl): median real time in ns} from a report."""
    samples = collections.defaultdict(list)
    aggregates = {}
    for b in report["benchmarks"]:
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        if len(parts) < 2:
            continue
        # <workload>/<implementation>[/arg:value...][/real_time|...]: the
        # arguments belong to the workload; run settings are dropped.
        args = [p for p in parts[2:]
                if ":" in p and not p.startswith(("iterations:", "repeats:",
                                                  "min_time:"))]
        key = ("/".join([parts[0]] + args), parts[1])
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        t = b["real_time"] * scale
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                aggregates[key] = t
        else:
            samples[key].append(t)
    out = {k: statistics.median(v) for k, v in samples.items()}
    out.update(aggregates)
    return out


def fmt(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return "%.3g %s" % (ns / scale, unit)
    return "%.3g ns" % ns


def table(meds):
    by_workload = collections.OrderedDict()
    for (workload, impl), t in meds.items():
        by_workload.setdefault(workload, {})[impl] = t
    lines = ["| workload | implementation | median | ours / theirs |",
             "|---|---|---:|---:|"]
    for workload, impls in by_workload.items():
        ours = impls.get(OURS)
        for impl, t in sorted(impls.items(), key=lambda kv: kv[0] != OURS):
            ratio = "" if impl == OURS or ours is None else "%.3f" % (ours / t)
            lines.append("| %s | %s | %s | %s |" % (workload, impl, fmt(t), ratio))
    return "\n".join(lines)


def main(argv):
    path = argv[1] if len(argv) > 1 else "-"
    with (sys.stdin if path == "-" else open(path)) as f:
        report = json.load(f)
    print(table(medians(report)))


if __name__ == "__main__":
    main(sys.argv)
