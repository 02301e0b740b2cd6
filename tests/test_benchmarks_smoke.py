"""Smoke test of the benchmark suite (issue 7): ``benchmarks/run.py --quick`` must keep working.

Runs the quick mode in a subprocess (a few seconds: tiny cases, baselines capped at
2 s) and checks the JSON it writes is consistent: every count agrees across
flowlaws and the baselines and with the closed forms, and every certificate passes
the independent checker. Timings are not asserted (the machine may be loaded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "run.py"


def test_quick_benchmarks_write_consistent_json(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["mode"] == "quick"
    assert data["consistent"] is True

    rows = data["comparison"]["rows"]
    assert rows
    for row in rows:
        fl = row["flowlaws"]
        assert fl["status"] == "ok", row
        assert fl["complete"] and fl["check_status"] == "ok", row
        assert row["counts_agree"], row
        assert row["expected"] is None or fl["count"] == row["expected"], row
        for baseline in ("flint", "sympy"):
            res = row[baseline]
            if res is not None and res["status"] == "ok":
                assert res["count"] == fl["count"], (baseline, row)
        assert row["flint"]["status"] == "ok", row  # the flint baseline takes milliseconds here
    assert data["comparison"]["summary"]["geomean_ratio_vs_published"] > 0

    families = data["scale"]
    assert {"relu / gradient", "linear / gradient", "linear / momentum", "relu / momentum"} <= set(families)
    for name, fam in families.items():
        for row in fam["rows"]:
            assert row["status"] == "ok", (name, row)
            assert row["check_status"] == "ok" and row["certified"], (name, row)
            assert row["expected"] is None or row["count"] == row["expected"], (name, row)
            assert row["rss_mib"] > 0 and row["seconds"] >= 0
