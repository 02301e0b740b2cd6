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
