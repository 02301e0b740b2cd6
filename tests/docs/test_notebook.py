"""docs/examples/quickstart.ipynb executes without error, and the stored copy is the built one."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")  # provides the "python3" kernel

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "examples" / "quickstart.ipynb"


def _builder():
    spec = importlib.util.spec_from_file_location("build_notebook", ROOT / "docs" / "scripts" / "build_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_the_notebook_executes():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:  # run from scratch, not from the stored outputs
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    text = _text(nb)
    assert "4 24 20 True" in text                       # relu:3x4x3: count, dim, rank, complete
    assert "'exact': True" in text                      # the checker's report
    assert "refused at step 'rank'" in text             # a forged certificate is refused
    assert "gradient tau=None: dim 24, 4 law(s)" in text and "momentum tau=1: dim 49, 0 law(s)" in text


def test_the_stored_notebook_is_built_and_executed():
    builder = _builder()
    stored = nbformat.read(NOTEBOOK, as_version=4)
    fresh = builder.build()
    assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in fresh.cells], (
        "docs/examples/quickstart.ipynb is out of date: run python docs/scripts/build_notebook.py"
    )
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert code and all(c.outputs and c.execution_count for c in code), "store the notebook executed"
    assert "4 24 20 True" in _text(stored)
    page = (ROOT / "docs" / "examples" / "quickstart.md").read_text(encoding="utf-8")
    assert page == builder.to_markdown(stored), "docs/examples/quickstart.md: run python docs/scripts/build_notebook.py"
