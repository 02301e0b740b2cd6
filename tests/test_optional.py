"""Dask (flowlaws[sweep]) and matplotlib (flowlaws[plots]) are extras: imported late, named when missing."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flowlaws._optional import MissingDependency, require
from flowlaws.errors import FlowlawsError

PACKAGE = Path(__file__).resolve().parents[1] / "flowlaws"
OPTIONAL = ("dask", "distributed", "matplotlib")


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)


def _blocking(*modules: str) -> str:
    """Code that makes ``modules`` unimportable, as if their extra were not installed."""
    return "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)


def test_require_names_the_extra_and_is_a_flowlaws_and_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "no_such_extra_module", None)
    with pytest.raises(MissingDependency) as info:
        require("no_such_extra_module.sub", extra="sweep", what="flowlaws sweep")
    err = info.value
    assert isinstance(err, FlowlawsError) and isinstance(err, ImportError) and err.extra == "sweep"
    assert str(err) == ("flowlaws sweep needs Dask: pip install 'flowlaws[sweep]' "
                        "(no_such_extra_module.sub cannot be imported)")
    assert require("json.decoder", extra="plots", what="x").__name__ == "json.decoder"


def test_no_module_imports_dask_or_matplotlib_but_through_require():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {n}" for n in names
                          if n.split(".")[0] in OPTIONAL]
    assert offenders == []


def test_import_flowlaws_loads_no_extra_and_sweep_stays_the_function():
    code = (
        "import flowlaws, sys\n"
        f"assert not [m for m in {OPTIONAL!r} if m in sys.modules], sorted(sys.modules)\n"
        "import flowlaws.sweep.patterns, flowlaws.sweep.runner, flowlaws.sweep.table\n"
        "from flowlaws.sweep import plot, cli\n"
        "assert callable(flowlaws.sweep) and flowlaws.sweep.__module__ == 'flowlaws.sweep.runner', flowlaws.sweep\n"
        "import flowlaws.cli; flowlaws.cli._parser()\n"
        f"assert not [m for m in {OPTIONAL!r} if m in sys.modules]\n"
        "print('ok')\n"
    )
    p = _python(code)
    assert p.returncode == 0 and p.stdout == "ok\n", p.stderr


def test_sweep_without_dask_names_the_sweep_extra(tmp_path):
    code = _blocking("dask", "distributed") + (
        "import flowlaws as fl\n"
        "from flowlaws._optional import MissingDependency\n"
        "try:\n"
        "    fl.sweep('relu:2x2x1', out='rows.csv', progress=False)\n"
        "except MissingDependency as err:\n"
        "    print(err)\n"
        "from flowlaws.cli import main\n"
        "print('exit', main(['sweep', 'relu:2x2x1', '--out', 'rows.csv', '--quiet']))\n"
    )
    p = _python(code, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    api, status = p.stdout.splitlines()
    assert api.startswith("flowlaws sweep needs Dask: pip install 'flowlaws[sweep]'")
    assert status == "exit 2"
    assert p.stderr.splitlines() == [f"flowlaws: error: {api}"]
    assert not (tmp_path / "rows.csv").exists()


def test_plots_without_matplotlib_name_the_plots_extra(tmp_path):
    code = _blocking("matplotlib") + (
        "import json, flowlaws as fl\n"
        "from flowlaws._optional import MissingDependency\n"
        "messages = []\n"
        "for run in (lambda: fl.models.mlp([2, 2, 1], activation='relu').draw('net.png'),\n"
        "            lambda: fl.sweep('relu:2x2x1', out='rows.csv', progress=False)):\n"
        "    try:\n"
        "        run()\n"
        "    except MissingDependency as err:\n"
        "        messages.append(str(err))\n"
        "print(json.dumps(messages))\n"
    )
    p = _python(code, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    draw, sweep = json.loads(p.stdout)
    assert draw.startswith("drawing a model needs matplotlib: pip install 'flowlaws[plots]'")
    assert sweep.startswith("the sweep's plot (plot=False or --no-plot skips it) needs matplotlib: "
                            "pip install 'flowlaws[plots]'")
    assert not (tmp_path / "rows.csv").exists() and not (tmp_path / "net.png").exists()


def test_demo_needs_neither_dask_nor_matplotlib():
    p = _python(_blocking(*OPTIONAL) + "from flowlaws.cli import main\nraise SystemExit(main(['demo']))\n")
    assert p.returncode == 0, p.stderr
    assert "certificate verified by the independent checker" in p.stdout
