"""Engine and independent checker on large networks (issue 7: the checker's fast route).

For each case, in its own child process with a time limit: ``flowlaws.analyze``
plus ``json.dumps`` of the certificate (engine time), then ``json.loads`` plus
``flowlaws.verify.check_certificate`` (checker time, with its seconds per step
and whether the network was checked without expanding its paths). The issue's
target is engine + checker ≤ 60 s for a ReLU MLP with D ≥ 5,000 and a deep
linear net with D ≥ 1,000.

Momentum / Nesterov cases are skipped (reported, not failed) when the engine
does not emit a ``"network"`` certificate for them.

Usage::

    python benchmarks/checker_scale.py                 # all cases (a few minutes on 2 cores)
    python benchmarks/checker_scale.py --quick         # the small cases only
    python benchmarks/checker_scale.py --report benchmarks/checker_scale.json

Writes ``checker_scale.json`` next to this file (or ``--out``) and prints a
Markdown table. Timings on a shared machine are noisy: compare runs with the
load average recorded in the JSON.
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

#: (spec, flow, tau, quick?)
CASES = [
    ("relu:10x10x10x10", "gradient", None, True),
    ("linear:8x8x8x8", "gradient", None, True),
    ("relu+bias:16x16x16x16", "gradient", None, False),
    ("linear:24x24x24x24x24x24", "gradient", None, False),
    ("relu:30x40x40x40x30", "gradient", None, False),
    ("linear:8x8x8x8", "momentum", "1", True),
    ("linear:16x16x16x16", "momentum", "1", False),
    ("relu:20x20x20", "momentum", "1", False),
    ("linear:12x12x12x12", "nesterov", None, False),
]


def _one(spec: str, flow: str, tau: str | None) -> dict:
    """Run one case in this process and return its row."""
    sys.path.insert(0, ROOT)
    import flowlaws as fl
    from flowlaws.verify import check_certificate

    model = fl.models.parse(spec)
    kw = {"tau": tau} if tau is not None else {}
    t0 = time.perf_counter()
    res = fl.analyze(model, flow=flow, **kw)
    text = json.dumps(res.certificate)
    engine = time.perf_counter() - t0
    cert = res.certificate
    row = {
        "spec": spec, "flow": flow, "tau": tau, "dim": cert["dim"], "count": res.count,
        "laws": len(cert["laws"]), "words": len(cert["rank"]["words"]), "complete": res.complete,
        "model_kind": cert["model"]["kind"], "engine_s": round(engine, 3),
    }
    if cert["model"]["kind"] != "network":
        row["skipped"] = "the engine did not emit a network certificate"
        return row
    t0 = time.perf_counter()
    report = check_certificate(json.loads(text))
    row["checker_s"] = round(time.perf_counter() - t0, 3)
    row["checker_steps_s"] = {k: round(v, 3) for k, v in report["seconds"].items()}
    row["proved"] = report["proved"]
    row["route"] = f"words: {report['routes']['words']}, laws: {report['routes']['laws']}"
    row["total_s"] = round(engine + row["checker_s"], 3)
    return row


def _run_child(spec: str, flow: str, tau: str | None, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--one", spec, flow, tau or "-"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"spec": spec, "flow": flow, "tau": tau, "error": f"timeout after {timeout:g} s"}
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"spec": spec, "flow": flow, "tau": tau, "error": tail}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(rows: list[dict]) -> str:
    lines = [
        "| architecture | flow | dim | count | engine s | checker s | total s | checker route | slowest checker step |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        flow = r["flow"] + (f" (tau={r['tau']})" if r.get("tau") else "")
        if "error" in r or "skipped" in r:
            why = r.get("error") or r.get("skipped")
            lines.append(f"| {r['spec']} | {flow} | {r.get('dim', '')} | | {r.get('engine_s', '')} | — | — | {why} | |")
            continue
        steps = r["checker_steps_s"]
        slow = max(steps, key=steps.get)
        lines.append(
            f"| {r['spec']} | {flow} | {r['dim']} | {r['count']} | {r['engine_s']} | {r['checker_s']} | "
            f"{r['total_s']} | {r['route']} | {slow} {steps[slow]} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="only the small cases")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per case (engine + checker)")
    ap.add_argument("--out", default=os.path.join(HERE, "checker_scale.json"))
    ap.add_argument("--report", help="reprint the table of an existing JSON file, run nothing")
    ap.add_argument("--one", nargs=3, metavar=("SPEC", "FLOW", "TAU"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        spec, flow, tau = args.one
        print(json.dumps(_one(spec, flow, None if tau == "-" else tau)))
        return 0
    if args.report:
        with open(args.report) as f:
            print(_table(json.load(f)["rows"]))
        return 0
    rows = []
    load_before = os.getloadavg()
    for spec, flow, tau, quick in CASES:
        if args.quick and not quick:
            continue
        row = _run_child(spec, flow, tau, args.timeout)
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "note": "wall-clock seconds on a shared machine; noisy, compare with the load averages",
        "rows": rows,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(_table(rows))
    failed = [r for r in rows if "error" in r or ("proved" in r and not r["proved"]["exact"] and r["complete"])]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
