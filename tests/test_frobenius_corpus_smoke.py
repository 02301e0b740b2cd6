"""Smoke test of the random corpus (issue 16): ``benchmarks/frobenius_corpus.py --quick`` must keep working.

Runs the quick mode (60 seeded cases on 2 worker processes, a few seconds) in a
subprocess and checks the JSON it writes: every family and flow is drawn, every
certificate is accepted by the independent checker, every count the SymPy brute
force reaches agrees, no case raises, and every incomplete result says why.
Timings are not asserted (the machine may be loaded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "frobenius_corpus.py"


def test_quick_corpus_writes_consistent_json(tmp_path):
    out = tmp_path / "corpus.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--processes", "2", "--timeout", "20", "--out", str(out)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    data = json.loads(out.read_text())
    cases, totals = data["cases"], data["totals"]
    assert data["settings"]["quick"] and not data["interrupted"]
    assert len(cases) == totals["cases"] == 60
    assert sorted(r["id"] for r in cases) == list(range(60))
    assert {r["family"] for r in cases} == {"poly", "mlp", "factorization", "symmetric_factorization", "dag"}
    assert {r["flow"] for r in cases} == {"gradient", "momentum", "nesterov"}
    assert totals["errors"] == totals["checker_rejected"] == totals["checker_other"] == 0
    assert totals["brute_force_disagree"] == 0 and totals["brute_force_agree"] > 0
    for r in cases:
        assert r["status"] in ("ok", "timeout", "unsupported"), r
        if r["status"] != "ok":
            continue
        assert r["checker"] == "accepted", r
        lo, hi = r["bounds"]
        assert lo <= hi == r["count"] == r["dim"] - r["rank"], r
        assert r["complete"] == (lo == hi), r
        explicit = r["laws"] + r["nonpolynomial_laws"]  # polynomial and rational/logarithmic laws listed
        assert explicit <= r["count"] and (r["frobenius"] or explicit == lo), r
        if not r["complete"]:
            assert r["notes"], r  # an incomplete result says why
        if r.get("agreement") == "agree":
            assert r["brute_force"]["count"] == r["count"], r
    # the summary table names every family it ran
    for family in ("poly", "mlp", "dag"):
        assert family in proc.stdout


def _load(name: str):
    import importlib

    saved = list(sys.path)  # the scripts prepend their own directories: leave no trace for other tests
    sys.path[:0] = [str(ROOT / "benchmarks")]
    try:
        return importlib.import_module(name)
    finally:
        sys.path[:] = saved


def test_brute_force_imports_no_flowlaws():
    import ast

    tree = ast.parse((ROOT / "benchmarks" / "_lie_bruteforce.py").read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not [m for m in names if m.split(".")[0] == "flowlaws"], names


def test_brute_force_reproduces_closed_forms():
    """The reference itself against DESIGN section 4 (GF and MF counts known in closed form)."""
    lie_count = _load("_lie_bruteforce").lie_count
    # phi = x0*x1*x2: D - 1 laws
    assert lie_count({"family": "poly", "nvars": 3, "coords": [[[1, [1, 1, 1]]]]}, "gradient")["count"] == 2
    # ReLU, any bias: one law per hidden neuron under GF, none under MF
    for widths, bias in (([1, 2, 1], False), ([2, 1, 2], True), ([1, 1, 1, 1], False)):
        spec = {"family": "mlp", "widths": widths, "activation": "relu", "bias": bias}
        assert lie_count(spec, "gradient")["count"] == sum(widths[1:-1]), spec
    assert lie_count({"family": "mlp", "widths": [1, 2, 1], "activation": "relu", "bias": False}, "momentum")["count"] == 0
    # U V^T: r(r+1)/2 laws if r <= n + m, else N r - N(N-1)/2
    for n, r, m in ((1, 1, 1), (2, 1, 2), (1, 2, 1), (1, 3, 1)):
        N = n + m
        want = r * (r + 1) // 2 if r <= N else N * r - N * (N - 1) // 2
        got = lie_count({"family": "factorization", "n": n, "r": r, "m": m}, "gradient")
        assert got["count"] == want and got["exact"], (n, r, m, got)


def test_pool_kills_a_stuck_worker_and_survives_a_dead_one():
    fc = _load("frobenius_corpus")
    import signal
    import time

    def fake(case, timeout):  # runs in the forked workers
        if case["id"] == 1:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            time.sleep(60)
        if case["id"] == 2:
            os._exit(3)
        return {"id": case["id"], "status": "ok"}

    saved = fc.run_case, fc.HARD_SLACK
    fc.run_case, fc.HARD_SLACK = fake, 0.5
    try:
        pool = fc.Pool(2, 0.2)
        out: list[dict] = []
        try:
            pool.run(fc.make_corpus(5, 0), out.append)
        finally:
            pool.close()
    finally:
        fc.run_case, fc.HARD_SLACK = saved
    status = {r["id"]: r["status"] for r in out}
    assert status == {0: "ok", 1: "timeout", 2: "error", 3: "ok", 4: "ok"}, out
