"""Graph-built and mlp-built networks take one route (issue 14): same counts, same laws, same time.

Each architecture is analysed twice per flow: as ``fl.models.mlp(...)`` and as
``fl.models.from_graph(mlp.graph)`` (the same network handed over as a networkx
graph, its parameters listed in another order). Both go through the DAG route;
the table gives the counts, whether the laws are the same polynomials (compared
by parameter name), both times (fastest of the repeats, runs interleaved) and
their ratio, and the independent check of the graph-kind certificate.

Usage::

    python benchmarks/graph_vs_mlp.py            # table + benchmarks/graph_vs_mlp.json
    python benchmarks/graph_vs_mlp.py --quick    # small cases only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import flowlaws as fl  # noqa: E402
from flowlaws.verify import check_certificate  # noqa: E402

CASES = [  # (widths, activation, bias, flows, repeats)
    ((2, 3, 2), "linear", False, ("gradient", "momentum", "nesterov"), 5),
    ((3, 4, 4, 3), "relu", True, ("gradient", "momentum", "nesterov"), 3),
    ((4, 5, 5, 4), "linear", False, ("gradient", "momentum", "nesterov"), 3),
    ((30, 40, 40, 40, 30), "relu", False, ("gradient",), 2),
    ((20, 30, 30, 20), "relu", False, ("momentum",), 1),
    ((8, 8, 8, 8, 8), "linear", False, ("gradient",), 2),
]


def _canonical(res) -> frozenset:
    return frozenset(
        frozenset((c, frozenset((law.variables[v], e) for v, e in mono)) for c, mono in law.terms) for law in res.laws
    )


def _timed(model, flow: str):
    t = time.perf_counter()
    res = fl.analyze(model, flow=flow)
    return res, time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small cases only")
    ap.add_argument("--out", default=os.path.join(HERE, "graph_vs_mlp.json"), help="JSON report path")
    args = ap.parse_args(argv)
    rows = []
    print(f"{'network':24s} {'flow':9s} {'count':>9s} {'same laws':>9s} {'mlp s':>8s} {'graph s':>8s} {'ratio':>6s} {'check s':>8s}")
    for widths, act, bias, flows, repeats in CASES:
        if args.quick and sum(widths) > 20:
            continue
        mlp = fl.models.mlp(list(widths), act, bias=bias)
        graph = fl.models.from_graph(fl.models.mlp(list(widths), act, bias=bias).graph)
        for flow in flows:
            best = {"mlp": float("inf"), "graph": float("inf")}
            for _ in range(repeats):
                a, ta = _timed(mlp, flow)
                b, tb = _timed(graph, flow)
                best["mlp"], best["graph"] = min(best["mlp"], ta), min(best["graph"], tb)
            t = time.perf_counter()
            report = check_certificate(b.certificate)
            t_check = time.perf_counter() - t
            row = {
                "network": f"{act}{'+bias' if bias else ''}:{'x'.join(map(str, widths))}", "flow": flow,
                "D": a.model.dim, "count_mlp": a.count, "count_graph": b.count,
                "complete": a.complete and b.complete, "same_laws": _canonical(a) == _canonical(b),
                "seconds_mlp": round(best["mlp"], 4), "seconds_graph": round(best["graph"], 4),
                "ratio": round(best["graph"] / best["mlp"], 3), "check_graph_seconds": round(t_check, 4),
                "graph_certificate_verified": bool(report["complete"]),
            }
            rows.append(row)
            print(f"{row['network']:24s} {flow:9s} {a.count:4d}/{b.count:<4d} {str(row['same_laws']):>9s} "
                  f"{best['mlp']:8.3f} {best['graph']:8.3f} {row['ratio']:6.2f} {t_check:8.3f}")
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"rows": rows, "load_average": os.getloadavg()}, fh, indent=1)
    bad = [r for r in rows if r["count_mlp"] != r["count_graph"] or not r["same_laws"] or not r["complete"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
