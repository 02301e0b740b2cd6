"""Momentum at scale (issue 7): heavy-ball laws of deep linear and ReLU nets, D up to 1,600.

Each case runs ``flowlaws.analyze(model, flow="momentum", tau=1)`` in its own child
process with a time limit and reports the engine time (``analyze`` plus
``json.dumps`` of the certificate), the count, the rank, whether the count is
certified complete, and the closed form of DESIGN section 4 (ReLU: 0; deep linear:
``Σ n_i(n_i − 1)/2``). Certificates of networks with ``D ≤ --check-max-d`` are
also re-checked from their JSON text by ``flowlaws.verify.check_certificate``
(``checker s``; the time limit covers analysis and check together).

Usage::

    python benchmarks/momentum_scale.py                     # table + benchmarks/momentum_scale.json
    python benchmarks/momentum_scale.py --report benchmarks/momentum_scale.json
    python benchmarks/momentum_scale.py --cases relu:6x6x6x6 --timeout 60

The machine is shared: the load average is recorded before and after the run,
and timings are wall-clock seconds of a single run (no repetition).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_CASES = [
    "relu:4x4x4x4", "relu:6x6x6x6", "relu:10x10x10x10", "relu:13x13x13x13", "relu:16x16x16x16x16",
    "relu:20x20x20x20x20",
    "linear:4x4x4x4", "linear:6x6x6x6", "linear:10x10x10x10", "linear:13x13x13x13", "linear:16x16x16x16x16",
    "linear:20x20x20x20x20",
]


def closed_form(act: str, widths: list[int]) -> int:
    return 0 if act != "linear" else sum(n * (n - 1) // 2 for n in widths[1:-1])


def run_one(spec: str, check_max_d: int) -> dict:
    """Analyze one case in this process (the child's job)."""
    import flowlaws as fl

    act, ws = spec.split(":")
    widths = [int(w) for w in ws.split("x")]
    model = fl.models.mlp(widths, act)
    fl.analyze(fl.models.mlp([2, 2, 2], act), flow="momentum", tau=1)  # warm-up (imports, caches)
    t = time.perf_counter()
    res = fl.analyze(model, flow="momentum", tau=1)
    text = json.dumps(res.certificate)
    seconds = time.perf_counter() - t
    row = {
        "spec": spec, "D": model.dim, "dim": res.dim, "count": res.count, "rank": res.rank,
        "laws": len(res.laws), "complete": res.complete, "closed_form": closed_form(act, widths),
        "seconds": round(seconds, 3), "timings": {k: round(v, 3) for k, v in res.timings.items()},
        "generators": res.certificate["generators"]["kind"], "words": len(res.certificate["rank"]["words"]),
        "notes": res.notes,
    }
    if model.dim <= check_max_d:
        t = time.perf_counter()
        report = fl.verify.check_certificate(json.loads(text))
        row["check_seconds"] = round(time.perf_counter() - t, 3)
        row["checked_exact"] = report["proved"]["exact"]
    return row


def run(cases: list[str], timeout: float, check_max_d: int) -> list[dict]:
    rows = []
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for spec in cases:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", spec, "--check-max-d", str(check_max_d)]
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
        except subprocess.TimeoutExpired:
            rows.append({"spec": spec, "status": "timeout", "timeout": timeout})
            print(f"{spec}: timeout ({timeout} s)", flush=True)
            continue
        if out.returncode != 0:
            rows.append({"spec": spec, "status": "error", "stderr": out.stderr[-2000:]})
            print(f"{spec}: error\n{out.stderr[-2000:]}", flush=True)
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["status"] = "ok"
        rows.append(row)
        print(f"{spec}: D={row['D']} count={row['count']} complete={row['complete']} {row['seconds']} s", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| architecture | D | dim | count (closed form) | complete | flowlaws s | checker s | words |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['spec']} | | | | | {r.get('status')} | | |")
            continue
        check = f"{r['check_seconds']}" if "check_seconds" in r else "—"
        lines.append(
            f"| {r['spec']} | {r['D']:,} | {r['dim']:,} | {r['count']} ({r['closed_form']}) | "
            f"{'yes' if r['complete'] else 'no'} | {r['seconds']} | {check} | {r['words']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="*", default=DEFAULT_CASES)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case (analysis and check)")
    ap.add_argument("--check-max-d", type=int, default=2000, help="re-check certificates up to this D")
    ap.add_argument("--out", default=os.path.join(HERE, "momentum_scale.json"))
    ap.add_argument("--report", help="reprint the table of a saved JSON, run nothing")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_one(args.child, args.check_max_d)))
        return 0
    if args.report:
        with open(args.report, encoding="utf-8") as fh:
            print(table(json.load(fh)["rows"]))
        return 0
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rows = run(args.cases, args.timeout, args.check_max_d)
    meta = {
        "started": started, "python": platform.python_version(), "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "flow": {"name": "momentum", "tau": "1"}, "timeout": args.timeout,
        "note": "wall-clock seconds of one run on a shared 2-core machine; expect noise from other jobs",
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(table(rows))
    print(f"load average before {meta['load_before']}, after {meta['load_after']}")
    ok = all(r.get("status") == "ok" and r["complete"] and r["count"] == r["closed_form"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
