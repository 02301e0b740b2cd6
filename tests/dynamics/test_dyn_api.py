"""The public names of flowlaws.dynamics exist, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import flowlaws.dynamics as dyn


def test_public_names_exist():
    for name in dyn.__all__:
        assert getattr(dyn, name) is not None, name
    for name in ("run_lab", "stable_rank", "kkt_residual", "law_drift_vs_step_size"):
        assert name in dyn.implicit_bias.__all__ and callable(getattr(dyn.implicit_bias, name))


def test_import_does_not_load_plotting_or_progress_bars():
    code = (
        "import sys, flowlaws.dynamics; "
        "print(sorted(m for m in ('matplotlib', 'tqdm', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
