"""docs/scripts/plots.py: the stored numbers of docs/plots.md are right and match the papers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"


@pytest.fixture(scope="module")
def plots():
    spec = importlib.util.spec_from_file_location("docs_plots", ROOT / "docs" / "scripts" / "plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _json(name: str) -> dict:
    return json.loads((IMAGES / f"{name}.json").read_text(encoding="utf-8"))


def test_the_images_exist():
    for name in ["count_heatmap", "rank_growth"]:
        assert (IMAGES / f"{name}.png").stat().st_size > 10_000


def test_word_depth(plots):
    assert plots.word_depth(3) == 1
    assert plots.word_depth([0, 1]) == 2
    assert plots.word_depth([0, [1, [2, 3]]]) == 4
    assert plots.word_depth([[0, 1], [2, 3]]) == 3
    assert plots.rank_by_depth([0, 1, [0, 1], [0, [1, 2]], 5]) == [3, 4, 5]


def test_the_heat_map_agrees_with_the_formulas(plots):
    data = _json("count_heatmap")
    m = data["output_width_m"]
    assert set(data["flows"]) == {"gradient", "momentum tau=1"}
    for i, n in enumerate(data["input_widths_n"]):
        for j, r in enumerate(data["hidden_widths_r"]):
            assert data["flows"]["gradient"]["count"][i][j] == plots.gf_formula(n, r, m)
            mf = plots.mf_formula(n, r, m)
            if mf is not None:  # the formula is stated for N = n + m >= 3
                assert data["flows"]["momentum tau=1"]["count"][i][j] == mf


def test_the_gradient_panel_is_recomputed(plots):
    data = _json("count_heatmap")
    grid = [[plots.certified(plots.fl.models.factorization(n, r, data["output_width_m"]), "gradient", None).count
             for r in data["hidden_widths_r"]] for n in data["input_widths_n"]]
    assert grid == data["flows"]["gradient"]["count"]


def test_the_rank_growth_numbers(plots):
    cases = _json("rank_growth")["cases"]
    assert {(c["spec"], c["flow"]) for c in cases} == {(s, f) for s, f, _ in plots.RANK_CASES}
    for c in cases:
        steps = c["rank_by_depth"]
        assert steps == sorted(steps) and steps[-1] == c["rank"] and c["count"] == c["dim"] - c["rank"]
    relu = next(c for c in cases if c["spec"] == "relu:3x3x3" and c["flow"] == "momentum")
    res = plots.certified(plots.fl.models.parse("relu:3x3x3"), "momentum", 1)
    steps = plots.rank_by_depth(res.certificate["rank"]["words"])
    assert (res.dim, res.rank, steps[-1]) == (relu["dim"], relu["rank"], relu["rank"])
