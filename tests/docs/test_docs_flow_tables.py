"""docs/flows.md is what docs/scripts/flow_tables.py writes (a fast subset of rows is recomputed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = ["relu:2x2x1", "relu:3x3x3", "relu+bias:2x3x2", "nmf:2x2x2", "product:4", "factorization:2x1x2",
        "linear:2x3x2", "resnet:2x3"]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("flow_tables", ROOT / "docs" / "scripts" / "flow_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def table() -> dict[str, list[str]]:
    rows = {}
    for line in (ROOT / "docs" / "flows.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[:-1]  # without the seconds
    return rows


def test_the_page_lists_the_scripts_architectures(script, table):
    assert list(table) == script.SPECS


@pytest.mark.parametrize("spec", FAST)
def test_a_row_is_what_the_script_computes(script, table, spec):
    cells, _ = script.row(spec)
    assert table[spec] == cells
