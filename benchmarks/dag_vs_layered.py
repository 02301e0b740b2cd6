"""The DAG route against the layered route (issue 14): Lie rank of seeded network generators.

For each multilayer perceptron the rank search (``lie_rank`` for gradient flow,
``drift_lie_rank`` for momentum / Nesterov) runs on the generators of
``NetworkGenerators(LayeredNetwork(...))`` and of
``DagGenerators(GraphNetwork.layered(...))`` — the same fields, so the same
ranks — timed interleaved (layered, dag, layered, dag, …), fastest run kept.
Two times per route: the whole search, and the part spent evaluating words
(the rest is the elimination mod p, shared by both routes). The search stops at
``D − (closed-form count)`` as ``analyze`` does, or runs to saturation when no
closed form is used.

Graph-built models (``resnet_block``, ``conv1d``; converted with
``graph_network(model.graph)``) have only the DAG route; where the path-lifting
is small the explicit route (``PolynomialGenerators`` on the expanded ``∇φ``,
what ``from_graph`` models use today) is timed beside it.

Usage::

    python benchmarks/dag_vs_layered.py                 # table + benchmarks/dag_vs_layered.json
    python benchmarks/dag_vs_layered.py --quick         # small cases, a few seconds
    python benchmarks/dag_vs_layered.py --report benchmarks/dag_vs_layered.json

The machine is shared: the load average is recorded before and after the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from math import lcm

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from flowlaws.algebra._dag_fields import DagGenerators  # noqa: E402
from flowlaws.algebra._graph_network import GraphNetwork  # noqa: E402
from flowlaws.algebra._lie import drift_lie_rank, lie_rank  # noqa: E402
from flowlaws.algebra._modular import DEFAULT_PRIME  # noqa: E402
from flowlaws.algebra._network_fields import LayeredNetwork, NetworkGenerators  # noqa: E402
from flowlaws.algebra._phase_fields import Drift, PhaseNetworkGenerators  # noqa: E402

P = DEFAULT_PRIME
DRIFTS = {"momentum": Drift("exp", 1, 1), "nesterov": Drift("nesterov")}

# (label, widths, activation, bias, flow, closed-form count or None, repeats)
MLPS = [
    ("relu:30x40x40x40x30", (30, 40, 40, 40, 30), "relu", False, "gradient", 120, 3),
    ("relu+bias:20x30x30x20", (20, 30, 30, 20), "relu", True, "gradient", 60, 3),
    ("linear:8x8x8x8x8", (8, 8, 8, 8, 8), "linear", False, "gradient", 108, 5),
    ("leaky:6x8x8x4", (6, 8, 8, 4), "leaky_relu", False, "gradient", None, 5),
    ("linear:6x6x6x6", (6, 6, 6, 6), "linear", False, "momentum", 30, 3),
    ("relu:20x30x30x20", (20, 30, 30, 20), "relu", False, "momentum", 0, 1),
    ("linear:2x3x2", (2, 3, 2), "linear", False, "nesterov", None, 5),
]
QUICK_MLPS = [
    ("relu:4x5x5x3", (4, 5, 5, 3), "relu", False, "gradient", 10, 3),
    ("relu+bias:3x4x2", (3, 4, 2), "relu", True, "gradient", 4, 3),
    ("linear:3x3x3", (3, 3, 3), "linear", False, "momentum", 3, 3),
]
# (label, builder name, args, kwargs, flow, closed-form count or None, explicit route too)
GRAPHS = [
    ("resnet_block(4, 8)", "resnet_block", (4, 8), {}, "gradient", 8, True),
    ("conv1d(16, 3, channels=2)", "conv1d", (16, 3), {"channels": 2}, "gradient", 2, True),
    ("resnet_block(16, 32)", "resnet_block", (16, 32), {}, "gradient", 32, False),
    ("resnet_block(16, 32, bias)", "resnet_block", (16, 32), {"bias": True}, "gradient", 32, False),
    ("conv1d(64, 5, channels=8)", "conv1d", (64, 5), {"channels": 8}, "gradient", 8, False),
    ("resnet_block(6, 10)", "resnet_block", (6, 10), {}, "momentum", None, False),
]
QUICK_GRAPHS = [
    ("resnet_block(3, 4)", "resnet_block", (3, 4), {}, "gradient", 4, True),
    ("conv1d(8, 3, channels=2)", "conv1d", (8, 3), {"channels": 2}, "gradient", 2, True),
]


class Timed:
    """A generator family whose ``evaluate`` time is added up."""

    def __init__(self, family) -> None:
        self.family = family
        self.dim, self.prime, self.finite_generators = family.dim, family.prime, family.finite_generators
        self.seconds = 0.0

    def evaluate(self, words, point):
        t = time.perf_counter()
        out = self.family.evaluate(words, point)
        self.seconds += time.perf_counter() - t
        return out


def search(family, flow: str, laws: int | None) -> tuple[int, float, float]:
    """``(rank, total seconds, evaluate seconds)`` of one rank search."""
    timed = Timed(family)
    point = np.random.default_rng(0).integers(1, P, size=family.dim)
    target = None if laws is None else family.dim - laws
    t = time.perf_counter()
    res = (lie_rank if flow == "gradient" else drift_lie_rank)(timed, point, target=target)
    return res.rank, time.perf_counter() - t, timed.seconds


def mlp_family(route: str, widths, act: str, bias: bool, flow: str):
    acts = (act,) * (len(widths) - 2)
    net = LayeredNetwork(widths, acts, bias) if route == "layered" else GraphNetwork.layered(widths, acts, bias)
    if flow != "gradient":
        return PhaseNetworkGenerators(net, DRIFTS[flow], seed=1, prime=P)
    return NetworkGenerators(net, seed=1, prime=P) if route == "layered" else DagGenerators(net, seed=1, prime=P)


def run_mlp(label, widths, act, bias, flow, laws, repeats) -> dict:
    best: dict[str, tuple] = {}
    for _ in range(repeats):
        for route in ("layered", "dag"):
            rank, total, ev = search(mlp_family(route, widths, act, bias, flow), flow, laws)
            old = best.get(route)
            best[route] = (rank, min(total, old[1]) if old else total, min(ev, old[2]) if old else ev)
    (r_old, t_old, e_old), (r_new, t_new, e_new) = best["layered"], best["dag"]
    fam = mlp_family("dag", widths, act, bias, flow)
    return {
        "case": label, "kind": "mlp", "flow": flow, "D": fam.network.dim, "dim": fam.dim, "target_laws": laws,
        "rank_layered": r_old, "rank_dag": r_new, "ranks_agree": r_old == r_new, "repeats": repeats,
        "seconds_layered": round(t_old, 4), "seconds_dag": round(t_new, 4), "ratio": round(t_new / t_old, 3),
        "evaluate_seconds_layered": round(e_old, 4), "evaluate_seconds_dag": round(e_new, 4),
        "evaluate_ratio": round(e_new / e_old, 3),
    }


def explicit_family(G):
    """The explicit route: ``∇φ_key`` of the expanded path-lifting, denominators cleared."""
    import flint

    from flowlaws.algebra._polynomial_fields import PolynomialGenerators, gradient
    from flowlaws.models._graph import graph_path_lifting

    names, coords = graph_path_lifting(G)
    ctx = flint.fmpz_mpoly_ctx.get(("t", len(names)), "deglex")
    fields = []
    for coord in coords:
        scale = lcm(*(c.denominator for c in coord.values()))
        f = ctx.from_dict({m: int(c * scale) for m, c in coord.items()})
        if not f.is_constant():
            fields.append(gradient(f, len(names)))
    return PolynomialGenerators(fields, prime=P)


def run_graph(label, builder, args, kwargs, flow, laws, explicit) -> dict:
    import flowlaws as fl
    from flowlaws.models._graph import graph_network

    model = getattr(fl.models, builder)(*args, **kwargs)
    net, _ = graph_network(model.graph)
    fam = DagGenerators(net, seed=1, prime=P) if flow == "gradient" else PhaseNetworkGenerators(net, DRIFTS[flow], seed=1, prime=P)
    rank, total, ev = search(fam, flow, laws)
    row = {
        "case": label, "kind": "graph", "flow": flow, "D": net.dim, "dim": fam.dim, "target_laws": laws,
        "rank_dag": rank, "seconds_dag": round(total, 4), "evaluate_seconds_dag": round(ev, 4),
    }
    if explicit and flow == "gradient":
        t = time.perf_counter()
        ex = explicit_family(model.graph)
        built = time.perf_counter() - t
        r_ex, t_ex, e_ex = search(ex, flow, laws)
        row.update({
            "rank_explicit": r_ex, "ranks_agree": r_ex == rank, "seconds_explicit": round(built + t_ex, 4),
            "ratio_explicit_over_dag": round((built + t_ex) / total, 1),
        })
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| case | flow | D | rank | layered s (eval) | dag s (eval) | dag/layered (eval) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["kind"] == "mlp":
            lines.append(
                f"| {r['case']} | {r['flow']} | {r['D']:,} | {r['rank_dag']:,} | {r['seconds_layered']} "
                f"({r['evaluate_seconds_layered']}) | {r['seconds_dag']} ({r['evaluate_seconds_dag']}) | "
                f"{r['ratio']} ({r['evaluate_ratio']}) |"
            )
    lines += ["", "| graph-built case | flow | D | rank | dag s (eval) | explicit route s | explicit/dag |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["kind"] == "graph":
            ex = (f"{r['seconds_explicit']} | {r['ratio_explicit_over_dag']}" if "seconds_explicit" in r else "— | —")
            lines.append(
                f"| {r['case']} | {r['flow']} | {r['D']:,} | {r['rank_dag']:,} | {r['seconds_dag']} "
                f"({r['evaluate_seconds_dag']}) | {ex} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small cases only (a few seconds)")
    ap.add_argument("--out", default=os.path.join(HERE, "dag_vs_layered.json"))
    ap.add_argument("--report", help="reprint the table of a saved JSON, run nothing")
    args = ap.parse_args(argv)
    if args.report:
        with open(args.report, encoding="utf-8") as fh:
            print(table(json.load(fh)["rows"]))
        return 0
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    rows = []
    for case in QUICK_MLPS if args.quick else MLPS:
        rows.append(run_mlp(*case))
        print(f"{case[0]} ({case[4]}): dag/layered {rows[-1]['ratio']} (evaluate {rows[-1]['evaluate_ratio']})", flush=True)
    for case in QUICK_GRAPHS if args.quick else GRAPHS:
        rows.append(run_graph(*case))
        print(f"{case[0]} ({case[4]}): rank {rows[-1]['rank_dag']} in {rows[-1]['seconds_dag']} s", flush=True)
    meta = {
        "started": started, "mode": "quick" if args.quick else "full", "python": platform.python_version(),
        "numpy": np.__version__, "cpus": os.cpu_count(), "prime": P,
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "note": "wall-clock seconds, fastest of the repeats, routes interleaved, on a shared machine",
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    print(table(rows))
    print(f"load average before {meta['load_before']}, after {meta['load_after']}")
    ok = all(r.get("ranks_agree", True) for r in rows) and all(
        r["target_laws"] is None or r["rank_dag"] == r["dim"] - r["target_laws"] for r in rows
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
