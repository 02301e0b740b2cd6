"""Regenerate docs/cli.md, the command-line reference, from the argparse parser of flowlaws.cli.

Run:  python docs/scripts/cli_reference.py   (instant; rewrites docs/cli.md)

Every subcommand gets its usage line, description, options (with their help text) and epilog
(``check``'s exit status); the runtime table at the end is measured by hand (see RUNTIMES) and
kept here so that regenerating the page does not lose it. tests/docs/test_docs_cli_reference.py
checks that every subcommand and option of the parser appears in docs/cli.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from flowlaws import cli  # noqa: E402

OUT = ROOT / "docs" / "cli.md"

#: (command, wall time with the CLI's start-up, what dominates). Measured on a 2-core machine
#: (python -m flowlaws ... --quiet, output to /dev/null).
RUNTIMES = [
    ("flowlaws demo", "0.2 s", "relu:3x4x3, analysed and checked"),
    ("flowlaws compare relu:3x3x3", "0.3 s", "four flows"),
    ("flowlaws analyze relu:30x40x40x40x30", "4.3 s", "D = 4,800; structural laws, then the bracket rank"),
    ("flowlaws analyze relu:20x30x30x20 --flow momentum", "4.1 s", "D = 9,601 phase-space coordinates"),
    ("flowlaws check CERT.json (relu:30x40x40x40x30)", "4.6 s", "the independent checker's own rank"),
    ("flowlaws bias-lab --out DIR (defaults)", "82 s",
     "training 5 scales 12 s, step-size drift 33 s, two gradient-flow ODE solves 35 s"),
]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _summaries(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {a.dest: a.help or "" for a in action._choices_actions}
    return {}


def _option_rows(sub: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | help |", "|---|---|"]
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            name = ", ".join(action.option_strings)
            if action.nargs != 0:
                name += " " + (action.metavar or action.dest.upper())
        else:
            name = action.metavar or action.dest
        text = (action.help or "").replace("|", "\\|")
        rows.append(f"| `{name.replace('|', chr(92) + '|')}` | {text} |")
    return rows


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "." if text else ""


def render() -> str:
    parser = cli._parser()
    summaries = _summaries(parser)
    lines = [
        "# Command-line reference",
        "",
        "Generated from the parser by `docs/scripts/cli_reference.py`; `flowlaws COMMAND --help` prints the same.",
        "Every user error prints one line on stderr and exits with status 2; `--debug` (before or after the",
        "command) shows the traceback. On a terminal, long commands show a progress line on stderr",
        "(stage and elapsed time); `--quiet` turns it off, and nothing is shown when stderr is not a terminal.",
        "",
    ]
    for name, sub in _subcommands(parser).items():
        sub.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=100)
        usage = sub.format_usage().strip().removeprefix("usage: ")
        lines += [f"## flowlaws {name}", "", _sentence(summaries.get(name, "")), "",
                  "```", usage, "```", ""]
        lines += _option_rows(sub) + [""]
        if sub.epilog:
            lines += ["```", sub.epilog.strip(), "```", ""]
    lines += [
        "## Runtimes",
        "",
        "Rough wall times of the long commands, measured on a 2-core machine (they include about",
        "0.2 s of start-up):",
        "",
        "| command | time | what takes it |",
        "|---|---|---|",
    ]
    lines += [f"| `{c}` | {t} | {what} |" for c, t, what in RUNTIMES]
    return "\n".join(lines) + "\n"


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
