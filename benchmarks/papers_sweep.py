"""The papers' "no other laws" experiment, re-run as a flowlaws sweep.

50 random deep linear and 50 random ReLU networks (3 to 5 layers of neurons,
widths 2 to 5, seeded), each analysed under gradient flow and certified by the
independent checker on Dask workers. Every count is compared with the known
formulas (DESIGN.md section 4):

* ReLU, any depth: one law per hidden neuron, ``sum(hidden)``;
* deep linear: the sum over hidden layers ``i`` of the two-layer count with
  ``r = n_i`` and ``N = n_{i-1} + n_{i+1}``: ``r(r+1)/2`` if ``r <= N``, else
  ``N r - N(N-1)/2``.

The formulas are checked twice: by the sweep's own ``expect`` evaluator and by
the plain Python functions below. The script prints the total wall time
(cluster start included) and writes a JSON report.

Usage::

    python benchmarks/papers_sweep.py [--n 50] [--seed 0] [--workers N | --scheduler ADDRESS]
                                      [--out-dir DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

import flowlaws as fl
from flowlaws._optional import require
from flowlaws.sweep import random_architectures


def relu_count(widths: list[int]) -> int:
    """Gradient flow of a ReLU net: one law per hidden neuron."""
    return sum(widths[1:-1])


def two_layer_count(r: int, N: int) -> int:
    """Gradient flow of ``U Vᵀ`` with inner width ``r`` and ``N = n + m``."""
    return r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2


def linear_count(widths: list[int]) -> int:
    """Gradient flow of a deep linear net: the two-layer counts of its hidden layers."""
    return sum(two_layer_count(widths[i], widths[i - 1] + widths[i + 1]) for i in range(1, len(widths) - 1))


KNOWN = {"linear": linear_count, "relu": relu_count}


def widths_of(spec: str) -> list[int]:
    return [int(w) for w in spec.split(":", 1)[1].split("x")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50, help="architectures per kind (default 50)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random draws (linear: seed, ReLU: seed+1)")
    ap.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    ap.add_argument("--scheduler", default=None, help="a Dask scheduler address instead of a local cluster")
    ap.add_argument("--out-dir", default="papers_sweep", help="tables, plots and certificates (default ./papers_sweep)")
    ap.add_argument("--json", default=None, help="report file (default OUT_DIR/papers_sweep.json)")
    args = ap.parse_args(argv)

    distributed = require("distributed", extra="sweep", what="benchmarks/papers_sweep.py")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report_path = Path(args.json) if args.json else out_dir / "papers_sweep.json"
    workers = args.workers or os.cpu_count() or 2

    t0 = time.perf_counter()
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
        client = Client(cluster)
    t_cluster = time.perf_counter() - t0

    report: dict = {
        "experiment": "random deep linear and ReLU networks under gradient flow (papers' 'no other laws' check)",
        "n_per_kind": args.n,
        "depth_range": [3, 5],
        "width_range": [2, 5],
        "seed": args.seed,
        "workers": len(client.scheduler_info()["workers"]),
        "cores": os.cpu_count(),
        "machine": platform.platform(),
        "flowlaws_version": fl.__version__,
        "kinds": {},
    }
    all_ok = True
    try:
        for offset, kind in enumerate(("linear", "relu")):
            specs = random_architectures(kind, args.n, depth=(3, 5), width=(2, 5), seed=args.seed + offset)
            t = time.perf_counter()
            res = fl.sweep(specs, scheduler=client, out=out_dir / f"papers_{kind}.csv", expect=kind,
                           certificates=out_dir / "certificates", progress=sys.stderr.isatty())
            wall = time.perf_counter() - t
            rows = list(res)
            python_mismatches = [r["spec"] for r in rows if r["error"] or r["count"] != KNOWN[kind](widths_of(r["spec"]))]
            entry = {
                "architectures": len(rows),
                "certified": sum(1 for r in rows if r["certified"]),
                "errors": [{"spec": r["spec"], "error": r["error"]} for r in rows if r["error"]],
                "match_formula": sum(1 for r in rows if not r["error"] and r["count"] == KNOWN[kind](widths_of(r["spec"]))),
                "mismatches_python_formula": python_mismatches,
                "mismatches_expect_formula": [r["spec"] for r in res.mismatches],
                "expect_formula": res.expect,
                "computed_now": res.computed,
                "wall_seconds": round(wall, 2),
                "sum_task_seconds": round(sum((r["seconds"] or 0) + (r["check_seconds"] or 0) for r in rows), 2),
                "max_task_seconds": round(max((r["seconds"] or 0) + (r["check_seconds"] or 0) for r in rows), 3),
                "params_range": [min(r["params"] for r in rows), max(r["params"] for r in rows)],
                "laws_range": [min(r["count"] or 0 for r in rows), max(r["count"] or 0 for r in rows)],
                "table": str(out_dir / f"papers_{kind}.csv"),
                "plot": res.plot,
                "rows": [{k: r[k] for k in ("spec", "params", "count", "expected", "certified", "seconds", "check_seconds")}
                         for r in rows],
            }
            ok = entry["certified"] == len(rows) and not python_mismatches and not res.mismatches and not entry["errors"]
            all_ok &= ok
            report["kinds"][kind] = entry
            print(f"{kind:6s}: {len(rows)} architectures, {entry['certified']} certified, "
                  f"{entry['match_formula']} match the formula, D in {entry['params_range']}, "
                  f"laws in {entry['laws_range']}; {wall:.1f} s wall, {entry['sum_task_seconds']:.1f} s in tasks "
                  f"(slowest {entry['max_task_seconds']:.2f} s){'' if ok else '  <-- MISMATCH'}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    total = time.perf_counter() - t0
    report["cluster_start_seconds"] = round(t_cluster, 2)
    report["total_seconds"] = round(total, 2)
    report["all_counts_match_and_certified"] = bool(all_ok)
    report_path.write_text(json.dumps(report, indent=1))
    print(f"total: {total:.1f} s on {report['workers']} worker(s) ({t_cluster:.1f} s to start the cluster); "
          f"every count matches and is certified: {all_ok}; report: {report_path}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
