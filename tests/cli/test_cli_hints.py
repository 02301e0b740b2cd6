"""Every hint the library prints names something the user can actually pass.

* every ``--option`` written in a string literal under ``flowlaws/`` (messages, help texts,
  docstrings) is an option of some ``flowlaws`` subcommand (or of the pytest plugin);
* every keyword a message tells the user to pass (``pass tau=...``, ``pass a larger max_dim``)
  is a parameter of the function that raises it or of another function of the same module, or a
  key the module reads (``set trainable=False`` on a graph edge: ``data.get("trainable")``);
* every option and argument of every subcommand has a help text.
"""

from __future__ import annotations

import json
import argparse
import ast
import re
from pathlib import Path

import pytest

from flowlaws import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "flowlaws"
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# "pass tau=...", "use flow=...", "lower lr=...", "pass a larger max_dim to try", "raise the limit with max_dim="
KEYWORD = re.compile(
    r"\b(?:pass|use|set|lower|raise|give)\s+(?:(?:a|an|the)\s+)?(?:larger\s+|smaller\s+|higher\s+|limit\s+with\s+)?"
    r"`?([a-z_][a-z0-9_]*)(=|\s+to\b)"
)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    out = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.update(action.choices)
    return out


def _cli_options() -> set[str]:
    parser = cli._parser()
    options = {s for a in parser._actions for s in a.option_strings}
    for sub in _subcommands(parser).values():
        options |= {s for a in sub._actions for s in a.option_strings}
    return options


def _plugin_options() -> set[str]:
    source = (ROOT / "_flowlaws_pytestplugin.py").read_text(encoding="utf-8")
    return set(re.findall(r"addoption\(\s*[\"'](--[a-z0-9-]+)", source))


def _string_literals(tree: ast.AST):
    """(string, enclosing function or None) for every string constant, f-string parts included."""
    stack: list[tuple[ast.AST, ast.AST | None]] = [(tree, None)]
    while stack:
        node, func = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            func = node
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value, func
        stack.extend((child, func) for child in ast.iter_child_nodes(node))


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def _params(func: ast.AST) -> set[str]:
    args = func.args  # type: ignore[attr-defined]
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}


def test_every_option_named_in_the_library_exists() -> None:
    known = _cli_options() | _plugin_options()
    missing = []
    for path, tree in _modules():
        for text, _ in _string_literals(tree):
            for option in OPTION.findall(text):
                if option not in known:
                    missing.append(f"{path.relative_to(ROOT)}: {option} in {text[:80]!r}")
    assert not missing, "\n".join(missing)


def test_every_keyword_a_message_suggests_exists() -> None:
    bad = []
    found = 0
    for path, tree in _modules():
        module_params = set().union(*(_params(f) for f in ast.walk(tree)
                                      if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))))
        module_params |= {t for t, _ in _string_literals(tree) if t.isidentifier()}  # keys it reads
        for text, func in _string_literals(tree):
            for name, _ in KEYWORD.findall(text):
                if name in {"the", "a", "an", "it", "them", "fewer", "flowlaws"}:
                    continue
                found += 1
                own = _params(func) if func is not None else set()
                if name not in own and name not in module_params:
                    bad.append(f"{path.relative_to(ROOT)}: {name}= in {text[:90]!r}")
    assert found >= 5  # the scan sees the messages (pass tau=..., pass model=..., max_dim, ...)
    assert not bad, "\n".join(bad)


def test_the_scan_catches_a_hint_that_cannot_be_followed() -> None:
    assert OPTION.findall("pass a larger max_dim; CLI: --max-dims N") == ["--max-dims"]
    assert "--max-dims" not in _cli_options()
    assert ("max_dim", " to") in KEYWORD.findall("over max_dim=20000; pass a larger max_dim to try")
    assert ("tau", "=") in KEYWORD.findall("and pass tau=...")


@pytest.mark.parametrize("command", sorted(_subcommands(cli._parser())))
def test_every_option_has_help(command: str) -> None:
    sub = _subcommands(cli._parser())[command]
    silent = [a.option_strings or [a.dest] for a in sub._actions
              if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert not silent, f"flowlaws {command}: no help text for {silent}"


def test_analyze_offers_the_options_its_hints_name() -> None:
    options = {s for a in _subcommands(cli._parser())["analyze"]._actions for s in a.option_strings}
    assert {"--max-dim", "--max-degree", "--quiet"} <= options


# -- issue 15: JSON files given to the CLI are read with the checker's limits ------------------
def _cli_error(tmp_path, args, capsys):
    from flowlaws.cli import main

    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_deeply_nested_metric_and_graph_files_are_one_line_errors(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nests more than 64" in _cli_error(tmp_path, ["analyze", "linear:2x2x2", "--metric", str(deep)], capsys)
    assert "nests more than 64" in _cli_error(tmp_path, ["analyze", str(deep)], capsys)


def test_malformed_node_link_files_are_one_line_errors(tmp_path, capsys):
    for name, data in [("n.json", {"nodes": "abc", "edges": []}), ("e.json", {"nodes": [{"id": "x"}], "edges": "abc"}),
                       ("m.json", {"nodes": [1, 2], "edges": []})]:
        path = tmp_path / name
        path.write_text(json.dumps(data))
        assert "must be a list of objects" in _cli_error(tmp_path, ["analyze", str(path)], capsys)


def test_repeated_keys_in_a_metric_file_are_refused(tmp_path, capsys):
    path = tmp_path / "metric.json"
    path.write_text('{"0,0": 1, "0,0": 2}')
    assert "duplicate key '0,0'" in _cli_error(tmp_path, ["analyze", "linear:1x1x1", "--metric", str(path)], capsys)
