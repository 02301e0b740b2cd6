"""The documentation site builds with ``mkdocs build --strict`` and no warning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")

ROOT = Path(__file__).resolve().parents[2]


def test_mkdocs_build_strict_has_no_warning(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNING" not in output, output
    for page in ["index.html", "mathematics/index.html", "howto-torch/index.html",
                 "howto-momentum-nmf/index.html", "plots/index.html", "examples/quickstart/index.html",
                 "images/count_heatmap.png", "images/rank_growth.png", "examples/quickstart.ipynb",
                 "cli/index.html", "api/index.html"]:
        assert (site / page).is_file(), page
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ["flowlaws.analyze", "flowlaws.models.mlp", "flowlaws.verify.check_certificate",
                 "flowlaws.verify.strategies.mlps", "flowlaws.dynamics.implicit_bias.run_lab",
                 "flowlaws.errors.BudgetExceeded"]:  # rendered from the docstrings by mkdocstrings
        assert f'id="{name}"' in api, name


def test_every_page_is_in_the_nav():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))

    def pages(nav):
        for item in nav:
            for value in item.values():
                yield from (pages(value) if isinstance(value, list) else [value])

    in_nav = set(pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert in_nav == on_disk
