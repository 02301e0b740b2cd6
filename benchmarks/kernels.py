"""Time the exact mod-p kernels of issue 7, old against new, in one process.

Three tables, every pair timed in the same process and interleaved
(old, new, old, new, …), reporting the fastest and the median of the runs:

* **dense rank** (``rank_mod``): random ``n × (n + 8)`` matrices mod
  ``DEFAULT_PRIME``, full rank and rank ``n/2`` (a product of two thin random
  matrices). *old*: python-flint ``nmod_mat`` built from nested lists (the
  previous ``rank_mod``); *flat*: ``nmod_mat(rows, cols, flat_list, p)``;
  *new*: the current ``rank_mod`` (the exact float64 BLAS elimination from
  ``BLAS_RANK_THRESHOLD`` on). Every rank is compared.
* **incremental basis** (``IncrementalBasis.add``): the old row-by-row echelon
  (``benchmarks/baseline_kernels.py``) against the current one, with the same
  booleans, rank and rows checked; ``flowlaws.algebra._lie.BlockBasis`` (the
  word-rank echelon, same answers) is timed beside them.
* **end to end**: ``flowlaws.analyze`` on ``relu:30x40x40x40x30`` (D = 5,600)
  and ``linear:24x24x24x24x24x24`` (D = 2,880), with the old kernels patched
  into the engine against the current ones; counts and completeness compared.

Writes ``kernels.json`` next to this file (or ``--out``) and prints Markdown.

Usage::

    python benchmarks/kernels.py              # everything, about 10 minutes on the 2-core machine
    python benchmarks/kernels.py --quick      # small sizes and no end-to-end cases, a few seconds
    python benchmarks/kernels.py --sizes 1000,2000 --no-e2e
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import numpy as np  # noqa: E402

import baseline_kernels as old  # noqa: E402
from flowlaws.algebra import _modular as new  # noqa: E402

try:  # the word-rank echelon of flowlaws.algebra._lie, when it has one: timed beside IncrementalBasis
    from flowlaws.algebra._lie import BlockBasis
except ImportError:  # pragma: no cover
    BlockBasis = None

P = new.DEFAULT_PRIME


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def _summary(times: list[float]) -> dict:
    return {"min": min(times), "median": statistics.median(times), "runs": times}


def _flat_flint_rank(A: np.ndarray, p: int) -> int:
    import flint

    A = np.asarray(A, dtype=np.int64) % p
    return int(flint.nmod_mat(A.shape[0], A.shape[1], A.ravel().tolist(), p).rank())


def _random_matrix(rng, n: int, rank: int | None) -> np.ndarray:
    if rank is None:
        return rng.integers(0, P, size=(n, n + 8))
    return new.matmul_mod(rng.integers(0, P, size=(n, rank)), rng.integers(0, P, size=(rank, n + 8)), P)


def bench_rank(sizes: list[int], reps: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for kind, rank in (("full rank", None), ("rank n/2", n // 2)):
            A = _random_matrix(rng, n, rank)
            times: dict[str, list[float]] = {"old": [], "flat": [], "new": []}
            ranks = set()
            r = reps if n < 3000 else max(1, min(reps, 2))
            for _ in range(r):
                for name, fn in (("old", old.rank_mod), ("flat", _flat_flint_rank), ("new", new.rank_mod)):
                    t, rk = _timed(fn, A, P)
                    times[name].append(t)
                    ranks.add(rk)
            if len(ranks) != 1:
                raise AssertionError(f"n={n} {kind}: the ranks disagree: {sorted(ranks)}")
            row = {"n": n, "shape": list(A.shape), "kind": kind, "rank": ranks.pop()}
            row.update({k: _summary(v) for k, v in times.items()})
            rows.append(row)
            print(f"  rank {n} {kind}: old {row['old']['min']:.2f} s, flat {row['flat']['min']:.2f} s, "
                  f"new {row['new']['min']:.2f} s", flush=True)
    return rows


def bench_basis(dim: int, reps: int, seed: int = 1) -> list[dict]:
    rng = np.random.default_rng(seed)
    cases = [
        (f"{int(dim * 0.42)} rows in one add (laws' Jacobian)", [rng.integers(0, P, size=(int(dim * 0.42), dim))]),
        (f"{int(dim * 0.58) // 128 + 1} adds of 128 rows (rank words)",
         [rng.integers(0, P, size=(128, dim)) for _ in range(int(dim * 0.58) // 128 + 1)]),
        (f"{int(dim * 0.42)} rows of rank {int(dim * 0.21)} in one add",
         [new.matmul_mod(rng.integers(0, P, size=(int(dim * 0.42), int(dim * 0.21))),
                         rng.integers(0, P, size=(int(dim * 0.21), dim)), P)]),
    ]
    rows = []
    for label, batches in cases:
        times: dict[str, list[float]] = {"old": [], "new": []}
        classes = [("old", old.IncrementalBasis), ("new", new.IncrementalBasis)]
        if BlockBasis is not None:
            classes.append(("BlockBasis", BlockBasis))
            times["BlockBasis"] = []
        answers = []
        for _ in range(reps):
            for name, cls in classes:
                B = cls(dim, P)
                t = time.perf_counter()
                raised = [B.add(V).tolist() for V in batches]
                times[name].append(time.perf_counter() - t)
                answers.append((raised, B.rank) + ((B.pivots, B.rows.tolist()) if name != "BlockBasis" else ()))
        if any(a != answers[0][: len(a)] for a in answers):
            raise AssertionError(f"{label}: old and new IncrementalBasis (or BlockBasis) disagree")
        row = {"case": label, "dim": dim, "rank": answers[0][1]}
        row.update({k: _summary(v) for k, v in times.items()})
        rows.append(row)
        print(f"  basis {label}: " + ", ".join(f"{k} {v['min']:.2f} s" for k, v in row.items() if isinstance(v, dict)),
              flush=True)
    return rows


@contextlib.contextmanager
def old_kernels():
    """Patch the previous ``rank_mod`` and ``IncrementalBasis`` into the engine's modules."""
    from flowlaws.algebra import _laws, _lie

    saved = [(mod, name, getattr(mod, name)) for mod in (new, _lie, _laws)
             for name in ("rank_mod", "IncrementalBasis") if hasattr(mod, name)]
    for mod, name, _ in saved:
        setattr(mod, name, getattr(old, name))
    try:
        yield
    finally:
        for mod, name, value in saved:
            setattr(mod, name, value)


def bench_e2e(specs: list[str], reps: int) -> list[dict]:
    import flowlaws as fl

    fl.analyze(fl.models.parse("relu:2x2x1"))  # warm-up: lazy imports
    rows = []
    for spec in specs:
        model = fl.models.parse(spec)
        times: dict[str, list[float]] = {"old": [], "new": []}
        results = []
        for _ in range(reps):
            for name in ("old", "new"):
                ctx = old_kernels() if name == "old" else contextlib.nullcontext()
                with ctx:
                    t, res = _timed(fl.analyze, model)
                times[name].append(t)
                results.append((res.count, res.rank, res.complete))
        if any(r != results[0] for r in results):
            raise AssertionError(f"{spec}: old and new kernels disagree: {results}")
        row = {"spec": spec, "D": model.dim, "count": results[0][0], "complete": results[0][2]}
        row.update({k: _summary(v) for k, v in times.items()})
        rows.append(row)
        print(f"  analyze {spec}: old {row['old']['min']:.2f} s, new {row['new']['min']:.2f} s", flush=True)
    return rows


def _fmt(s: float) -> str:
    return f"{s:.3f}" if s < 1 else f"{s:.2f}"


def markdown(report: dict) -> str:
    out = ["### Dense rank mod p (`rank_mod`), seconds (fastest of the runs)", "",
           "| matrix | rank | old: flint from nested lists | flint from a flat list | new | × |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in report["rank"]:
        out.append(f"| {r['shape'][0]:,} × {r['shape'][1]:,} ({r['kind']}) | {r['rank']:,} | {_fmt(r['old']['min'])} | "
                   f"{_fmt(r['flat']['min'])} | {_fmt(r['new']['min'])} | {r['old']['min'] / r['new']['min']:.1f} |")
    out += ["", "### `IncrementalBasis.add`, seconds", "",
            "| case | dim | rank | old | new | × | `_lie.BlockBasis` |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in report["basis"]:
        bb = _fmt(r["BlockBasis"]["min"]) if "BlockBasis" in r else "—"
        out.append(f"| {r['case']} | {r['dim']:,} | {r['rank']:,} | {_fmt(r['old']['min'])} | {_fmt(r['new']['min'])} | "
                   f"{r['old']['min'] / r['new']['min']:.1f} | {bb} |")
    if report.get("e2e"):
        out += ["", "### End to end (`flowlaws.analyze`), seconds", "",
                "| architecture | D | count | complete | old kernels | new kernels | × |", "|---|---:|---:|---|---:|---:|---:|"]
        for r in report["e2e"]:
            out.append(f"| {r['spec']} | {r['D']:,} | {r['count']:,} | {'yes' if r['complete'] else 'no'} | "
                       f"{_fmt(r['old']['min'])} | {_fmt(r['new']['min'])} | {r['old']['min'] / r['new']['min']:.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, no end-to-end cases")
    ap.add_argument("--sizes", default=None, help="comma-separated n for the dense rank (default 1000,2000,3000,5000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each kernel (at most 2 from n = 3000 on)")
    ap.add_argument("--basis-dim", type=int, default=None, help="dimension of the IncrementalBasis cases (default 2880)")
    ap.add_argument("--no-e2e", action="store_true")
    ap.add_argument("--out", default=HERE)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("300,500" if args.quick else "1000,2000,3000,5000")).split(",")]
    dim = args.basis_dim or (300 if args.quick else 2880)
    e2e = [] if (args.quick or args.no_e2e) else ["relu:30x40x40x40x30", "linear:24x24x24x24x24x24"]
    import flint

    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"python": platform.python_version(), "numpy": np.__version__, "python-flint": flint.__version__,
                    "cpus": os.cpu_count(), "loadavg": os.getloadavg()},
        "prime": P,
        "blas_rank_threshold": new.BLAS_RANK_THRESHOLD,
    }
    print("dense rank", flush=True)
    report["rank"] = bench_rank(sizes, args.reps)
    print("incremental basis", flush=True)
    report["basis"] = bench_basis(dim, args.reps)
    if e2e:
        print("end to end", flush=True)
        report["e2e"] = bench_e2e(e2e, min(args.reps, 2))
    report["machine"]["loadavg_end"] = os.getloadavg()
    print()
    print(markdown(report))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "kernels.json"), "w") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
