"""docs/training-drift.md: its figures exist and its numbers are the script's (docs/scripts/training_drift.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
PAGE = (ROOT / "docs" / "training-drift.md").read_text(encoding="utf-8")
DATA = json.loads((IMAGES / "training_drift.json").read_text(encoding="utf-8"))


def test_the_figures_exist_and_are_on_the_page():
    for run in ["sgd", "momentum", "adamw"]:
        assert (IMAGES / f"training_drift_{run}.png").stat().st_size > 10_000
        assert f"images/training_drift_{run}.png" in PAGE


def test_predicted_equals_observed_in_every_run():
    for run in DATA["runs"].values():
        assert run["steps"] == 1000 and run["max_relative_error"] <= 1e-6
    sgd = DATA["runs"]["sgd"]
    scale = max(abs(x) for x in sgd["cumulative_observed"])
    assert all(abs(x) <= 1e-12 * scale for x in sgd["first_order"])  # all second order
    adamw = DATA["runs"]["adamw"]
    assert all(x != 0 for x in adamw["first_order_weight_decay_part"])


def test_the_page_quotes_the_measured_ratios():
    rows = re.findall(r"^\| ([0-9.e-]+) \| ([0-9.]+) \| ([0-9.]+) \|$", PAGE, re.M)
    assert len(rows) == len(DATA["eta_squared"]) == 4
    for (lr, n_lr, ratio), measured in zip(rows, DATA["eta_squared"]):
        assert float(lr) == measured["lr"] and float(n_lr) == measured["steps_times_lr"]
        assert float(ratio) == round(measured["ratio"], 2)
    assert abs(DATA["eta_squared"][1]["ratio"] - 4) < 0.1  # N·η = 1: within 2.5% of 4


def test_the_page_quotes_the_measured_errors_and_costs():
    sgd = DATA["runs"]["sgd"]
    assert f"{max(sgd['relative_error_per_law']):.1e}" in PAGE
    for run in ["momentum", "adamw"]:
        assert f"Predicted = observed to {DATA['runs'][run]['max_relative_error']:.1e}" in PAGE
    mlp = DATA["cost"]["mlp"]
    assert f"| {mlp['float32']['ms_per_step_without_monitor']:.1f} ms | {mlp['float32']['ms_per_step_with_monitor']:.1f} ms |" in PAGE
