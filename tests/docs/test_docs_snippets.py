"""The examples of the documentation pages run and print what the pages say.

Every ```python block of a page below runs, in order, in one namespace per page (a block
that needs PyTorch skips the page when PyTorch is missing); every ``>>>`` example
(```pycon blocks) is a doctest whose output must match.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = ["index.md", "mathematics.md", "howto-torch.md", "torch.md", "howto-momentum-nmf.md", "plots.md",
         "training-drift.md", "flows.md"]


def python_blocks(page: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(encoding="utf-8"), re.S | re.M)


@pytest.mark.parametrize("page", PAGES)
def test_python_blocks_run(page, monkeypatch, tmp_path):
    blocks = python_blocks(page)
    if any(re.search(r"^\s*import torch", b, re.M) for b in blocks):
        pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # a block that writes a file writes it here
    namespace: dict = {"__name__": "__docs__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{page}[python block {i}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            pytest.fail(f"{page}, python block {i} raised {type(err).__name__}: {err}\n{block}")


@pytest.mark.parametrize("page", PAGES)
def test_pycon_examples_match(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    if "import torch" in text and ">>>" in text:
        pytest.importorskip("torch")
    result = doctest.testfile(
        str(DOCS / page), module_relative=False, verbose=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0


def test_every_page_has_examples():
    for page in ["index.md", "howto-torch.md", "howto-momentum-nmf.md"]:
        text = (DOCS / page).read_text(encoding="utf-8")
        assert python_blocks(page) or ">>>" in text, page
