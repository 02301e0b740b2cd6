"""The ``flowlaws sweep`` command: its sub-parser and what it runs.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="flowlaws")
>>> p = add_parser(parser.add_subparsers())
>>> args = parser.parse_args(["sweep", "relu:{2..4}x3x2", "--flows", "gradient,momentum", "--out", "rows.csv"])
>>> args.patterns, args.flows, args.out, args.func is _cli
(['relu:{2..4}x3x2'], 'gradient,momentum', 'rows.csv', True)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidArgument
from ..models._model import Model
from .patterns import items_from_text, random_architectures
from .runner import SweepInterrupted, sweep

__all__ = ["add_parser"]


def _random_option(text: str) -> tuple[str, int]:
    kind, sep, n = text.rpartition(":")
    if not sep or not n.strip().isdigit() or not kind.strip():
        raise InvalidArgument(f"--random {text!r}: expected KIND:N such as relu:50 or linear+bias:20")
    return kind.strip(), int(n)


def _range_option(name: str, text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?", text)
    if not m:
        raise InvalidArgument(f"--{name} {text!r}: expected LOW..HIGH such as 2..5, or one number")
    lo = int(m.group(1))
    return lo, int(m.group(2)) if m.group(2) else lo


def _format_table(rows: Sequence[Mapping[str, Any]]) -> str:
    cols = ("spec", "flow", "dim", "count", "rank", "certified", "seconds", "error")
    cells = [[("" if r.get(c) is None else (f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r[c]))) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def _cli(args: Any) -> int:
    """``flowlaws sweep``: exit 0, 1 when ``--expect`` finds rows that differ, 130 on Ctrl-C."""
    items: list[str | Model] = []
    try:
        for text in args.patterns:
            items += items_from_text(text)
        for spec in args.random or ():
            kind, n = _random_option(spec)
            items += random_architectures(kind, n, depth=_range_option("depth", args.depth),
                                          width=_range_option("width", args.width), seed=args.seed)
        if not items:
            raise InvalidArgument("sweep: give at least one PATTERN (e.g. 'relu:{2..4}x3x2') or --random KIND:N")
        res = sweep(
            items, flows=args.flows, scheduler=args.scheduler, workers=args.workers, out=args.out,
            expect=args.expect, time_limit=args.time_limit, memory_limit=args.memory_limit, seed=args.seed,
            progress=not args.quiet, certificates=args.certificates, plot=not args.no_plot,
            redo_errors=args.redo_errors,
        )
    except SweepInterrupted as err:
        print(f"flowlaws: {err.describe(again='rerun the same command', give_out='--out FILE')}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("flowlaws: sweep interrupted before any task started; nothing was written", file=sys.stderr)
        return 130
    if args.out is None:
        print(_format_table(res))
    print(res.summary())
    return 1 if res.mismatches else 0


def add_parser(subparsers: Any) -> Any:
    """Register ``flowlaws sweep`` on an ``argparse`` sub-parser set; returns the parser."""
    p = subparsers.add_parser(
        "sweep",
        help="analyse and certify families of architectures on Dask (one row per architecture and flow)",
        description=(
            "Run analyze + the independent checker for every (architecture, flow) on Dask and stream one row each "
            "(spec, flow, dim, count, rank, certified, seconds, ...) to --out as they finish; rerunning with the "
            "same --out skips rows already there. Exit status 1 when --expect finds rows that differ."
        ),
    )
    p.add_argument("patterns", nargs="*", metavar="PATTERN",
                   help="spec pattern such as 'relu:{2..4}x{2..5}x2' or 'linear:2x{2,4,8}x2', or @FILE of specs")
    p.add_argument("--flows", default="gradient", help="comma-separated flows (default gradient): gradient, momentum, nesterov, sign, adam")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="local cluster workers (default 2)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.1:8786")
    p.add_argument("--out", default=None, metavar="FILE", help="results table, .csv or .parquet (default: print a table)")
    p.add_argument("--expect", action="append", default=None, metavar="[FLOW=]FORMULA",
                   help="expected count, e.g. 'r*(r+1)//2', 'sum(hidden)', 'momentum=0' (names n0.., widths, hidden, "
                        "depth, D, dim, n, r, m; 'relu' and 'linear' are the papers' gradient-flow formulas); repeatable")
    p.add_argument("--certificates", default=None, metavar="DIR", help="write each certificate to DIR")
    p.add_argument("--time-limit", type=float, default=None, metavar="S", help="seconds per task")
    p.add_argument("--memory-limit", default=None, metavar="BYTES", help="memory per task, e.g. 2GB")
    p.add_argument("--seed", type=int, default=0, help="seed of the analyses and of --random draws")
    p.add_argument("--random", action="append", metavar="KIND:N", help="add N random architectures, e.g. relu:50")
    p.add_argument("--depth", default="3..5", help="depth range of --random (layers of neurons), default 3..5")
    p.add_argument("--width", default="2..5", help="width range of --random, default 2..5")
    p.add_argument("--redo-errors", action="store_true", help="recompute rows of --out that have an error")
    p.add_argument("--no-plot", action="store_true", help="do not write the plot next to --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cli)
    return p
