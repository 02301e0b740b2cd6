"""The triangular rank proof on large ReLU MLPs (issue 18): time and memory of analysis and check vs D.

Each case runs twice in its own child process (so that each peak RSS is its own,
read with ``resource.getrusage``): the **analysis** — ``mlp(...)``,
``analyze`` and ``Result.save`` of the certificate to a temporary file — and the
**check** — ``read_certificate`` and ``check_certificate`` of that file. The
models are ``mlp([784, w, w, 10], "relu")`` for widths from 3 to 1,000 (D from
2,400 to 1.79 M; the last is the issue's 784-1000-1000-10). The dense route
(``rank_proof="dense"``: bracket words and a dense rank mod p) runs on the
small sizes in the same run as the baseline. The fitted exponent is the slope
of ``log(seconds)`` against ``log(D)`` by least squares over ``D >= 10^4``.

Usage::

    python benchmarks/structured_rank.py            # all sizes (about 3 minutes on 2 cores)
    python benchmarks/structured_rank.py --quick    # D <= 110,000, no dense baseline beyond D = 4,000

Writes ``structured_rank.json`` next to this file (or ``--out``) and prints a
Markdown table. Timings on a shared machine are noisy; the load average is
recorded in the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WIDTHS = [3, 5, 8, 12, 40, 120, 300, 600, 1000]
DENSE_WIDTHS = [3, 5, 8]
QUICK_WIDTHS = [3, 5, 12, 40, 120]
QUICK_DENSE = [3, 5]
TIMEOUT = 300


def _layers(w: int) -> list[int]:
    return [784, w, w, 10]


def _analyse(w: int, proof: str, path: str) -> dict:
    sys.path.insert(0, ROOT)
    import resource

    import flowlaws as fl

    t0 = time.perf_counter()
    model = fl.models.mlp(_layers(w), "relu", max_parameters=10**8)
    res = fl.analyze(model, max_dim=10**8, rank_proof=proof)
    analysed = time.perf_counter()
    res.save(path)
    done = time.perf_counter()
    return {"dim": res.dim, "count": res.count, "complete": res.complete,
            "rank_proof": res.certificate.get("rank_proof", "dense"),
            "analyze_s": analysed - t0, "save_s": done - analysed, "seconds": done - t0,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "certificate_mb": os.path.getsize(path) / 1e6}


def _check(path: str) -> dict:
    sys.path.insert(0, ROOT)
    import resource

    from flowlaws.verify import check_certificate, read_certificate

    t0 = time.perf_counter()
    cert = read_certificate(path)
    read = time.perf_counter()
    report = check_certificate(cert)
    done = time.perf_counter()
    return {"read_s": read - t0, "check_s": done - read, "seconds": done - t0, "proved": report["proved"],
            "steps_s": {k: round(v, 3) for k, v in report["seconds"].items()},
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(args: list[str]) -> dict:
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": TIMEOUT}
    if proc.returncode != 0:
        return {"status": "error", "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return {"status": "ok", **json.loads(proc.stdout.strip().splitlines()[-1])}


def _case(w: int, proof: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cert.json")
        row = {"layers": _layers(w), "rank_proof": proof, "analysis": _child(["analyse", str(w), proof, path])}
        row["check"] = _child(["check", path]) if row["analysis"]["status"] == "ok" else {"status": "skipped"}
    return row


def _slope(points: list[tuple[float, float]]) -> float | None:
    pts = [(math.log(d), math.log(s)) for d, s in points if d >= 1e4 and s > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "structured_rank.json"))
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        out = _analyse(int(rest[0]), rest[1], rest[2]) if kind == "analyse" else _check(rest[0])
        print(json.dumps(out))
        return 0
    widths, dense = (QUICK_WIDTHS, QUICK_DENSE) if args.quick else (WIDTHS, DENSE_WIDTHS)
    rows = []
    for proof, ws in (("dense", dense), ("triangular", widths)):
        for w in ws:
            row = _case(w, proof)
            rows.append(row)
            a, c = row["analysis"], row["check"]
            print(f"  {proof:10} {'x'.join(map(str, row['layers'])):>16}  D={a.get('dim', '?'):>9}  "
                  f"analysis {a['status']} {a.get('seconds', 0):7.2f} s {a.get('rss_mib', 0):7.0f} MiB  "
                  f"check {c['status']} {c.get('seconds', 0):7.2f} s {c.get('rss_mib', 0):7.0f} MiB", flush=True)
    tri = [r for r in rows if r["rank_proof"] == "triangular" and r["check"]["status"] == "ok"]
    fits = {
        "analysis_exponent": _slope([(r["analysis"]["dim"], r["analysis"]["seconds"]) for r in tri]),
        "check_exponent": _slope([(r["analysis"]["dim"], r["check"]["seconds"]) for r in tri]),
    }
    dense_ok = [r for r in rows if r["rank_proof"] == "dense" and r["check"]["status"] == "ok"]
    fits["dense_analysis_exponent"] = _slope([(r["analysis"]["dim"], r["analysis"]["seconds"]) for r in dense_ok]) \
        if any(r["analysis"]["dim"] >= 1e4 for r in dense_ok) else None
    data = {
        "benchmark": "structured_rank", "mode": "quick" if args.quick else "full",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()},
        "rows": rows, "fits": fits,
        "consistent": all(r["analysis"]["status"] != "ok" or (r["analysis"]["count"] == r["layers"][1] + r["layers"][2]
                          and r["check"].get("proved", {}).get("exact")) for r in rows),
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
    print()
    print("| route | layers | D | laws | analysis s | analysis MiB | check s | check MiB | certificate MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        a, c = r["analysis"], r["check"]
        if a["status"] != "ok":
            print(f"| {r['rank_proof']} | {'x'.join(map(str, r['layers']))} | | | {a['status']} | | | | |")
            continue
        print(f"| {r['rank_proof']} | {'x'.join(map(str, r['layers']))} | {a['dim']:,} | {a['count']:,} | "
              f"{a['seconds']:.2f} | {a['rss_mib']:.0f} | {c.get('seconds', float('nan')):.2f} | "
              f"{c.get('rss_mib', float('nan')):.0f} | {a['certificate_mb']:.1f} |")
    print()
    print("fitted exponents (seconds ~ D^k, D >= 10^4):", {k: (round(v, 2) if v is not None else None) for k, v in fits.items()})
    print("consistent:", data["consistent"])
    return 0 if data["consistent"] else 1


if __name__ == "__main__":
    sys.exit(main())
