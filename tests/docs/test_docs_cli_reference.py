"""docs/cli.md (written by docs/scripts/cli_reference.py) covers every subcommand and option of the parser."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from flowlaws import cli

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"


def _script():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs" / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_every_subcommand_and_option_is_in_the_cli_reference():
    text = PAGE.read_text(encoding="utf-8")
    missing = []
    for name, sub in _script()._subcommands(cli._parser()).items():
        if f"## flowlaws {name}\n" not in text:
            missing.append(f"flowlaws {name}")
            continue
        section = text.split(f"## flowlaws {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for option in action.option_strings or [action.metavar or action.dest]:
                if f"`{option}" not in section.replace("\\|", "|"):
                    missing.append(f"flowlaws {name} {option}")
    assert not missing, f"{missing}: run python docs/scripts/cli_reference.py"


def test_the_reference_has_the_check_exit_codes_and_a_runtime_table():
    text = PAGE.read_text(encoding="utf-8")
    assert cli._CHECK_EPILOG.strip() in text
    assert "## Runtimes" in text
    for command, seconds, _ in _script().RUNTIMES:
        assert f"| `{command}` | {seconds} |" in text

