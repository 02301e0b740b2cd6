"""Architecture sweeps: many (architecture, flow) analyses on Dask, one certified row each.

* :func:`sweep` runs :func:`flowlaws.analyze` and then the independent checker
  :func:`flowlaws.verify.check_certificate` on Dask workers (a ``LocalCluster``
  by default, any scheduler when given) and streams one row per
  ``(architecture, flow)`` to a CSV (or parquet) table as the tasks finish.
  A rerun with the same ``out`` skips the rows already there.
* :func:`expand_pattern` expands spec patterns such as ``relu:{2..4}x{2..5}x2``;
  :func:`read_specs` reads a file of specs; :func:`random_architectures` draws
  seeded random depth/width families like the papers' experiments.
* :func:`compile_formula` reads an ``--expect`` formula (``r*(r+1)//2``,
  ``sum(hidden)``) with a whitelist of arithmetic on the ``ast`` — never ``eval``.

Rows have the columns :data:`COLUMNS`: ``spec, flow, dim, count, rank,
certified, seconds`` (the CLI contract) then ``params, lower, upper,
check_seconds, error``. ``count`` is the proved upper bound ``dim - rank``;
``certified`` is true when the checker, run on the worker, proved the count
exact. A row the engine refused (a flow it does not support yet, a budget) or
a task over its limits is a row with ``error`` set (``"time limit"``,
``"memory limit"``, ``"worker died"``, ``"InvalidArgument: ..."``), not a crash.

What it does not check: that two sweeps do not append to the same table at the
same time (use one ``out`` per running sweep), that workers of a remote cluster
run the same flowlaws version, or anything about a spec's meaning beyond
:func:`flowlaws.models.parse`.

Examples
--------
>>> expand_pattern("relu:{2..3}x{2,4}x1")
['relu:2x2x1', 'relu:2x4x1', 'relu:3x2x1', 'relu:3x4x1']
>>> compile_formula("r*(r+1)//2")({"r": 3})
6
"""

from __future__ import annotations

import ast
import csv
import io
import itertools
import json
import math
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import CertificateError, FlowlawsError, InvalidArgument
from .models import parse
from .models._model import Model

__all__ = [
    "sweep",
    "SweepResults",
    "expand_pattern",
    "read_specs",
    "random_architectures",
    "compile_formula",
    "Formula",
    "load_results",
    "COLUMNS",
    "KNOWN_FORMULAS",
    "add_parser",
]

#: Columns of a sweep table, in order (the first seven are the CLI contract).
COLUMNS = (
    "spec", "flow", "dim", "count", "rank", "certified", "seconds",
    "params", "lower", "upper", "check_seconds", "error",
)
_INT_COLUMNS = ("dim", "count", "rank", "params", "lower", "upper")
_FLOAT_COLUMNS = ("seconds", "check_seconds")

#: Known counts from the papers, usable as ``expect="relu"`` or ``--expect linear``
#: (gradient flow: one law per hidden ReLU neuron; deep linear nets sum the
#: two-layer count ``r(r+1)/2`` if ``r <= N`` else ``N r - N(N-1)/2`` over the
#: hidden layers, with ``N = n_{i-1} + n_{i+1}``).
KNOWN_FORMULAS = {
    "relu": "sum(hidden)",
    "linear": (
        "sum(r*(r+1)//2 if r <= a+b else (a+b)*r - (a+b)*(a+b-1)//2 "
        "for a, r, b in zip(widths, widths[1:], widths[2:]))"
    ),
}

MAX_SPECS = 100_000
_SPEC_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_+]*)\s*:\s*(\d+(?:x\d+)*)\s*$")


# ---------------------------------------------------------------------------------
# spec patterns, spec files, random families
# ---------------------------------------------------------------------------------
def _group_values(pattern: str, body: str) -> list[str]:
    """The values of one brace group ``{a..b}``, ``{a..b..s}`` or ``{x,y,z}``."""
    if not body.strip():
        raise InvalidArgument(f"pattern {pattern!r}: empty brace group '{{}}'; write a range {{2..5}} or a list {{2,4,8}}")
    items = body.split(",")
    if len(items) == 1 and ".." not in body:
        raise InvalidArgument(
            f"pattern {pattern!r}: brace group {{{body}}} is neither a range {{a..b}} nor a list {{a,b,...}}"
        )
    values: list[str] = []
    for item in items:
        item = item.strip()
        if not item:
            raise InvalidArgument(f"pattern {pattern!r}: empty item in brace group {{{body}}}")
        if ".." in item:
            m = re.fullmatch(r"(-?\d+)\.\.(-?\d+)(?:\.\.(\d+))?", item)
            if not m:
                raise InvalidArgument(
                    f"pattern {pattern!r}: range {item!r} in {{{body}}} must be integers like 2..5 or 2..8..2"
                )
            a, b = int(m.group(1)), int(m.group(2))
            step = int(m.group(3)) if m.group(3) else 1
            if step < 1:
                raise InvalidArgument(f"pattern {pattern!r}: range {item!r} needs a step of at least 1")
            if abs(b - a) // step + 1 > MAX_SPECS:
                raise InvalidArgument(f"pattern {pattern!r}: range {item!r} has more than {MAX_SPECS} values")
            values += [str(v) for v in (range(a, b + 1, step) if a <= b else range(a, b - 1, -step))]
        else:
            if any(c in item for c in "{}"):
                raise InvalidArgument(f"pattern {pattern!r}: brace groups cannot be nested")
            values.append(item)
    return values


def expand_pattern(pattern: str, *, validate: bool = True, max_specs: int = MAX_SPECS) -> list[str]:
    """The spec strings named by a pattern with brace groups.

    A group ``{a..b}`` is an inclusive integer range (``{5..2}`` counts down,
    ``{2..8..2}`` has a step), ``{x,y,z}`` a list (items may be ranges or words,
    e.g. ``{relu,linear}``). Several groups give their Cartesian product, the
    first group varying slowest. A pattern without braces is one spec.

    Parameters
    ----------
    pattern : str
        For example ``"relu:{2..4}x{2..5}x2"``.
    validate : bool
        Parse every expanded spec with :func:`flowlaws.models.parse` (default).
    max_specs : int
        Refuse patterns that expand to more specs than this.

    Returns
    -------
    list of str
        Without duplicates, in expansion order.

    Raises
    ------
    InvalidArgument
        Unbalanced, nested or empty braces, a malformed range, too many specs,
        or (with ``validate``) an expanded spec that :func:`~flowlaws.models.parse` refuses.

    Examples
    --------
    >>> expand_pattern("linear:2x{3..5}x2")
    ['linear:2x3x2', 'linear:2x4x2', 'linear:2x5x2']
    >>> expand_pattern("{relu,linear}:2x{2,4}x1")
    ['relu:2x2x1', 'relu:2x4x1', 'linear:2x2x1', 'linear:2x4x1']
    >>> expand_pattern("relu:{2..}x2")
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: pattern 'relu:{2..}x2': range '2..' in {2..} must be integers like 2..5 or 2..8..2
    """
    if not isinstance(pattern, str):
        raise InvalidArgument(f"pattern={pattern!r} (type={type(pattern).__name__}): expected a string such as 'relu:{{2..4}}x3'")
    text = pattern.strip()
    if not text:
        raise InvalidArgument("pattern='': expected a spec pattern such as 'relu:{2..4}x3x2'")
    if "\n" in text or "\r" in text:
        raise InvalidArgument(f"pattern {pattern!r}: one pattern per string (no line breaks); use a file of specs for many")
    pieces: list[list[str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "{":
            j = text.find("}", i + 1)
            if j < 0:
                raise InvalidArgument(f"pattern {pattern!r}: unbalanced '{{' at position {i}; brace groups look like {{2..5}} or {{2,4,8}}")
            if "{" in text[i + 1:j]:
                raise InvalidArgument(f"pattern {pattern!r}: brace groups cannot be nested")
            pieces += [["".join(literal)], _group_values(pattern, text[i + 1:j])]
            literal = []
            i = j + 1
        elif c == "}":
            raise InvalidArgument(f"pattern {pattern!r}: unbalanced '}}' at position {i}; brace groups look like {{2..5}} or {{2,4,8}}")
        else:
            literal.append(c)
            i += 1
    pieces.append(["".join(literal)])
    total = math.prod(len(p) for p in pieces)
    if total > max_specs:
        raise InvalidArgument(f"pattern {pattern!r} expands to {total} specs, over max_specs={max_specs}; split it")
    specs = list(dict.fromkeys("".join(parts) for parts in itertools.product(*pieces)))
    if validate:
        for spec in specs:
            try:
                parse(spec)
            except InvalidArgument as err:
                if spec == text:
                    raise
                raise InvalidArgument(f"pattern {pattern!r} expands to {spec!r}: {err}") from err
    return specs


def read_specs(path: str | os.PathLike[str], *, validate: bool = True) -> list[str]:
    """The specs of a text file: one spec or pattern per line, ``#`` starts a comment.

    Raises
    ------
    InvalidArgument
        The file cannot be read, or a line is not a valid pattern (the message
        names the file and the line).

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
    ...     _ = fh.write("# two nets\\nrelu:2x{2,3}x1   # ReLU\\n\\nlinear:2x2x2\\n")
    >>> read_specs(fh.name)
    ['relu:2x2x1', 'relu:2x3x1', 'linear:2x2x2']
    >>> os.remove(fh.name)
    """
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidArgument(f"cannot read the spec file {str(path)!r}: {err}") from err
    specs: list[str] = []
    for lineno, line in enumerate(lines, 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            specs += expand_pattern(line, validate=validate)
        except InvalidArgument as err:
            raise InvalidArgument(f"{path}:{lineno}: {err}") from err
    return list(dict.fromkeys(specs))


def _check_range(name: str, value: Any, minimum: int) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected (low, high) integers, e.g. {name}=(2, 5)")
    lo, hi = value
    if lo < minimum or hi < lo:
        raise InvalidArgument(f"{name}={tuple(value)!r}: need {minimum} <= low <= high")
    return lo, hi


def random_architectures(
    kind: str,
    n: int,
    *,
    depth: tuple[int, int] | int = (3, 5),
    width: tuple[int, int] | int = (2, 5),
    seed: int = 0,
    unique: bool = True,
) -> list[str]:
    """Seeded random fully connected architectures, as spec strings.

    Each draw picks a depth (number of layers of neurons, input and output
    included) uniformly in ``depth`` and then every width uniformly in ``width``,
    like the papers' random depth/width experiments.

    Parameters
    ----------
    kind : str
        A network kind of the spec strings: ``linear``, ``relu``, ``leaky``,
        optionally with ``+bias``.
    n : int
        Number of architectures.
    depth, width : (int, int) or int
        Inclusive ranges (``depth >= 2``, ``width >= 1``).
    seed : int
        The same seed gives the same list (the same shapes for every kind).
    unique : bool
        Draw distinct architectures (default): a sweep keys its rows by spec.

    Raises
    ------
    InvalidArgument
        Unknown kind, bad ranges, or more unique architectures asked than exist.

    Examples
    --------
    >>> random_architectures("relu", 3, seed=1)
    ['relu:2x4x2', 'relu:5x5x5x3', 'relu:5x2x5']
    >>> random_architectures("linear", 3, seed=1)[0]
    'linear:2x4x2'
    """
    import random

    if not isinstance(kind, str):
        raise InvalidArgument(f"kind={kind!r} (type={type(kind).__name__}): expected a network kind such as 'relu'")
    kind = kind.strip().lower()
    base = kind[: -len("+bias")] if kind.endswith("+bias") else kind
    if base not in ("linear", "relu", "leaky", "leaky_relu"):
        raise InvalidArgument(f"kind={kind!r}: random architectures are networks; use linear, relu or leaky (optionally +bias)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise InvalidArgument(f"n={n!r} (type={type(n).__name__}): expected a non-negative integer")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgument(f"seed={seed!r} (type={type(seed).__name__}): expected an integer")
    d_lo, d_hi = _check_range("depth", depth, 2)
    w_lo, w_hi = _check_range("width", width, 1)
    k = w_hi - w_lo + 1
    available = sum(k**d for d in range(d_lo, d_hi + 1))
    if unique and n > available:
        raise InvalidArgument(
            f"n={n}: only {available} distinct architectures have depth {d_lo}..{d_hi} and widths {w_lo}..{w_hi}; "
            "ask for fewer, widen the ranges or pass unique=False"
        )
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[tuple[int, ...]] = set()
    while len(out) < n:
        d = rng.randint(d_lo, d_hi)
        widths = tuple(rng.randint(w_lo, w_hi) for _ in range(d))
        if unique and widths in seen:
            continue
        seen.add(widths)
        out.append(f"{kind}:{'x'.join(map(str, widths))}")
    return out


def _items_from_text(text: str) -> list[str]:
    """A CLI/API string: ``@FILE``, an existing file without ':' , or a pattern."""
    if text.startswith("@"):
        return read_specs(text[1:])
    if ":" not in text and os.path.isfile(text):
        return read_specs(text)
    return expand_pattern(text)


# ---------------------------------------------------------------------------------
# safe formulas
# ---------------------------------------------------------------------------------
_MAX_BITS = 4096
_MAX_ITEMS = 100_000
_MAX_FORMULA = 2_000
_NAME_RE = re.compile(r"n\d+")
#: Names a formula may use (besides n0, n1, ... and comprehension variables).
FORMULA_NAMES = ("D", "dim", "depth", "widths", "hidden", "n", "r", "m")


def _range(*args: Any) -> tuple[int, ...]:
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        raise InvalidArgument("range() takes integers")
    r = range(*args)
    if len(r) > _MAX_ITEMS:
        raise InvalidArgument(f"range() of {len(r)} values is over the formula limit {_MAX_ITEMS}")
    return tuple(r)


def _zip(*args: Any) -> tuple[tuple[Any, ...], ...]:
    if not all(isinstance(a, tuple) for a in args):
        raise InvalidArgument("zip() takes sequences such as widths or hidden")
    return tuple(zip(*args))


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min, "max": max, "sum": sum, "len": len, "abs": abs, "range": _range, "zip": _zip,
}
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
    ast.Div: lambda a, b: Fraction(a) / Fraction(b),
    ast.Pow: lambda a, b: a**b,
}
_CMPOPS: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
    ast.Load, ast.Store, ast.Constant, ast.Tuple, ast.List, ast.Subscript, ast.Slice, ast.GeneratorExp,
    ast.ListComp, ast.comprehension, ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd,
    *_BINOPS, *_CMPOPS,
)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, Fraction)) and not isinstance(x, bool)


def _bounded(x: Any) -> Any:
    if isinstance(x, int) and x.bit_length() > _MAX_BITS:
        raise InvalidArgument(f"an intermediate value has more than {_MAX_BITS} bits")
    if isinstance(x, Fraction):
        if x.numerator.bit_length() > _MAX_BITS or x.denominator.bit_length() > _MAX_BITS:
            raise InvalidArgument(f"an intermediate value has more than {_MAX_BITS} bits")
        if x.denominator == 1:
            return int(x)
    return x


class Formula:
    """A compiled ``--expect`` formula; call it with a mapping of names.

    Built by :func:`compile_formula`. Attributes: ``text`` and ``names`` (the
    free names it reads).
    """

    def __init__(self, text: str, tree: ast.Expression, names: frozenset[str]) -> None:
        self.text = text
        self._tree = tree
        self.names = names

    def __repr__(self) -> str:
        return f"Formula({self.text!r})"

    def __call__(self, names: Mapping[str, Any]) -> int | Fraction:
        """The value for one row's names (``int``, or ``Fraction`` for ``/``).

        Raises
        ------
        InvalidArgument
            A name the row does not define, a non-numeric result, or an
            arithmetic error (division by zero, a value too large).
        """
        try:
            value = self._eval(self._tree.body, dict(names))
        except InvalidArgument:
            raise
        except (ArithmeticError, TypeError, ValueError, IndexError, RecursionError) as err:
            raise InvalidArgument(f"formula {self.text!r}: {type(err).__name__}: {err}") from err
        if not _is_number(value):
            raise InvalidArgument(f"formula {self.text!r} gives {value!r}, not a number")
        return _bounded(value)

    def _eval(self, node: ast.AST, env: dict[str, Any]) -> Any:
        ev = self._eval
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in _FUNCTIONS:
                raise InvalidArgument(f"formula {self.text!r}: {node.id} is a function; call it, e.g. {node.id}(hidden)")
            raise InvalidArgument(f"formula {self.text!r}: name {node.id!r} is not defined for this row")
        if isinstance(node, ast.BinOp):
            a, b = ev(node.left, env), ev(node.right, env)
            if not (_is_number(a) and _is_number(b)):
                raise InvalidArgument(f"formula {self.text!r}: arithmetic needs numbers, got {type(a).__name__} and {type(b).__name__}")
            if isinstance(node.op, ast.Pow):
                if not isinstance(b, int) or b < 0:
                    raise InvalidArgument(f"formula {self.text!r}: exponents must be non-negative integers")
                size = max(Fraction(a).numerator.bit_length(), Fraction(a).denominator.bit_length())
                if b > _MAX_BITS or (abs(a) != 1 and a != 0 and size * b > _MAX_BITS):
                    raise InvalidArgument(f"formula {self.text!r}: {a}**{b} is too large")
            return _bounded(_BINOPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = ev(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not v
            if not _is_number(v):
                raise InvalidArgument(f"formula {self.text!r}: unary minus needs a number")
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BoolOp):
            want = isinstance(node.op, ast.Or)  # the value that stops the scan
            acc: Any = not want
            for sub in node.values:
                acc = ev(sub, env)
                if bool(acc) is want:
                    return acc
            return acc
        if isinstance(node, ast.Compare):
            left = ev(node.left, env)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp, env)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body, env) if ev(node.test, env) else ev(node.orelse, env)
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            args = [ev(a, env) for a in node.args]
            return _bounded(_FUNCTIONS[node.func.id](*args))
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(ev(e, env) for e in node.elts)
        if isinstance(node, ast.Subscript):
            seq = ev(node.value, env)
            if not isinstance(seq, tuple):
                raise InvalidArgument(f"formula {self.text!r}: only sequences such as widths can be indexed")
            if isinstance(node.slice, ast.Slice):
                parts = [None if p is None else ev(p, env) for p in (node.slice.lower, node.slice.upper, node.slice.step)]
                if not all(p is None or (isinstance(p, int) and not isinstance(p, bool)) for p in parts):
                    raise InvalidArgument(f"formula {self.text!r}: slice bounds must be integers")
                return seq[slice(*parts)]
            idx = ev(node.slice, env)
            if isinstance(idx, bool) or not isinstance(idx, int):
                raise InvalidArgument(f"formula {self.text!r}: indices must be integers")
            return seq[idx]
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return tuple(self._comprehension(node.elt, list(node.generators), env))
        raise InvalidArgument(f"formula {self.text!r}: {type(node).__name__} is not allowed")  # pragma: no cover

    def _comprehension(self, elt: ast.AST, gens: list[ast.comprehension], env: dict[str, Any]) -> list[Any]:
        gen, rest = gens[0], gens[1:]
        seq = self._eval(gen.iter, env)
        if not isinstance(seq, tuple):
            raise InvalidArgument(f"formula {self.text!r}: a comprehension runs over a sequence such as hidden or zip(...)")
        out: list[Any] = []
        for value in seq:
            inner = dict(env)
            _bind(gen.target, value, inner, self.text)
            if all(self._eval(cond, inner) for cond in gen.ifs):
                out += self._comprehension(elt, rest, inner) if rest else [self._eval(elt, inner)]
            if len(out) > _MAX_ITEMS:
                raise InvalidArgument(f"formula {self.text!r}: more than {_MAX_ITEMS} items")
        return out


def _bind(target: ast.AST, value: Any, env: dict[str, Any], text: str) -> None:
    if isinstance(target, ast.Name):
        env[target.id] = value
        return
    assert isinstance(target, ast.Tuple)
    if not isinstance(value, tuple) or len(value) != len(target.elts):
        raise InvalidArgument(f"formula {text!r}: cannot unpack {value!r} into {len(target.elts)} names")
    for t, v in zip(target.elts, value):
        _bind(t, v, env, text)


def _bound_names(target: ast.AST, text: str) -> set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Tuple):
        return set().union(*(_bound_names(t, text) for t in target.elts))
    raise InvalidArgument(f"formula {text!r}: a comprehension variable must be a name or a tuple of names")


def compile_formula(text: str) -> Formula:
    """Read a formula for the expected count, safely (``ast`` whitelist, no ``eval``).

    Allowed: integers, ``+ - * // % ** /`` (``/`` is exact, a ``Fraction``),
    comparisons, ``and``/``or``/``not``, ``x if c else y``, indexing and slicing
    of sequences, comprehensions (``sum(a*b for a, b in zip(widths, widths[1:]))``)
    and the functions ``min max sum len abs range zip``. Names: ``n0, n1, ...``
    (the widths of the spec, input first), ``widths``, ``hidden``
    (``widths[1:-1]``), ``depth`` (``len(widths)``), ``D`` (number of
    parameters), ``dim`` (dimension of the phase space) and ``n, r, m`` (the
    sizes of ``factorization:NxRxM`` / ``sym:NxR``, and of a network with three
    widths). A name of :data:`KNOWN_FORMULAS` (``"relu"``, ``"linear"``) stands
    for the papers' formula.

    Raises
    ------
    InvalidArgument
        Syntax errors, floats, unknown names, attribute access, calls of
        anything but the functions above, keyword arguments, lambdas, ...

    Examples
    --------
    >>> f = compile_formula("sum(hidden)")
    >>> f({"hidden": (3, 4)})
    7
    >>> compile_formula("linear")({"widths": (2, 5, 2)})   # r=5 > N=4: 4*5 - 4*3/2
    14
    >>> compile_formula("__import__('os').system('ls')")
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: formula "__import__('os').system('ls')": attribute access (.system) is not allowed; use only arithmetic on the row's names
    """
    if not isinstance(text, str):
        raise InvalidArgument(f"formula={text!r} (type={type(text).__name__}): expected a string such as 'r*(r+1)//2'")
    text = KNOWN_FORMULAS.get(text.strip(), text).strip()
    if not text:
        raise InvalidArgument("formula='': expected an expression such as 'r*(r+1)//2' or 'sum(hidden)'")
    if len(text) > _MAX_FORMULA:
        raise InvalidArgument(f"formula of {len(text)} characters is over the limit {_MAX_FORMULA}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as err:
        raise InvalidArgument(f"formula {text!r} is not a valid expression: {err}") from err
    free: set[str] = set()

    def visit(node: ast.AST, bound: frozenset[str]) -> None:
        if isinstance(node, ast.Attribute):
            raise InvalidArgument(f"formula {text!r}: attribute access (.{node.attr}) is not allowed; use only arithmetic on the row's names")
        if not isinstance(node, _ALLOWED):
            raise InvalidArgument(f"formula {text!r}: {type(node).__name__} is not allowed; use arithmetic, comparisons, x if c else y and min/max/sum/len/abs/range/zip")
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool) or not isinstance(node.value, int)):
            raise InvalidArgument(f"formula {text!r}: constant {node.value!r} is not an integer; counts are exact (use // or /)")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                visit(node.func, bound)
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.func.id in bound:
                what = node.func.id if isinstance(node.func, ast.Name) else type(node.func).__name__
                raise InvalidArgument(f"formula {text!r}: calling {what!r} is not allowed; functions: {', '.join(_FUNCTIONS)}")
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise InvalidArgument(f"formula {text!r}: keyword and * arguments are not allowed")
            for a in node.args:
                visit(a, bound)
            return
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            inner = set(bound)
            for gen in node.generators:
                if gen.is_async:
                    raise InvalidArgument(f"formula {text!r}: async comprehensions are not allowed")
                visit(gen.iter, frozenset(inner))
                names = _bound_names(gen.target, text)
                bad = [n for n in names if n.startswith("_")]
                if bad:
                    raise InvalidArgument(f"formula {text!r}: names starting with '_' are not allowed ({bad[0]})")
                inner |= names
                for cond in gen.ifs:
                    visit(cond, frozenset(inner))
            visit(node.elt, frozenset(inner))
            return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            if node.id.startswith("_") or not (node.id in FORMULA_NAMES or _NAME_RE.fullmatch(node.id) or node.id in _FUNCTIONS):
                raise InvalidArgument(
                    f"formula {text!r}: unknown name {node.id!r}; names: n0, n1, ..., {', '.join(FORMULA_NAMES)}"
                )
            if node.id not in _FUNCTIONS:
                free.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child, bound)

    try:
        visit(tree, frozenset())
    except RecursionError as err:
        raise InvalidArgument(f"formula {text!r} is nested too deeply") from err
    return Formula(text, tree, frozenset(free))


def _sizes_of(spec: str, model: Model | None = None) -> tuple[str | None, tuple[int, ...] | None]:
    m = _SPEC_RE.match(spec)
    if m:
        return m.group(1).lower(), tuple(int(t) for t in m.group(2).split("x"))
    if model is not None and model.kind == "network" and model.layers:
        return None, tuple(int(v) for v in model.layers)
    return None, None


def formula_names(spec: str, *, params: int | None, dim: int | None, model: Model | None = None) -> dict[str, Any]:
    """The names a formula sees for one row (see :func:`compile_formula`).

    Examples
    --------
    >>> sorted(formula_names("relu:2x3x4", params=18, dim=18).items())
    [('D', 18), ('depth', 3), ('dim', 18), ('hidden', (3,)), ('m', 4), ('n', 2), ('n0', 2), ('n1', 3), ('n2', 4), ('r', 3), ('widths', (2, 3, 4))]
    """
    names: dict[str, Any] = {}
    if params is not None:
        names["D"] = params
    if dim is not None:
        names["dim"] = dim
    kind, sizes = _sizes_of(spec, model)
    if sizes is None:
        return names
    names.update(widths=sizes, depth=len(sizes), hidden=sizes[1:-1])
    names.update({f"n{i}": v for i, v in enumerate(sizes)})
    base = (kind or "").replace("+bias", "")
    if base in ("factorization",) or (base not in ("sym", "product") and len(sizes) == 3):
        names.update(n=sizes[0], r=sizes[1], m=sizes[2])
    elif base == "sym" and len(sizes) == 2:
        names.update(n=sizes[0], r=sizes[1])
    return names


# ---------------------------------------------------------------------------------
# what runs on a worker
# ---------------------------------------------------------------------------------
def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text[:400]


def _empty_row(spec: str, flow: str, params: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(spec=spec, flow=flow, certified=False, params=params)
    return row


def _key_of(item: str | Model) -> str:
    return item.name if isinstance(item, Model) else item


def _compute(item: str | Model, flow: str, seed: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """analyze + check_certificate for one (architecture, flow): ``(row, certificate)``."""
    from ._analyze import analyze
    from .verify import check_certificate

    row = _empty_row(_key_of(item), flow)
    try:
        model = item if isinstance(item, Model) else parse(item)
        row["params"] = model.dim
        t = time.perf_counter()
        res = analyze(model, flow=flow, seed=seed)
        row["seconds"] = round(time.perf_counter() - t, 4)
    except MemoryError:
        row["error"] = "memory limit"
        return row, None
    except FlowlawsError as err:
        row["error"] = _one_line(err)
        return row, None
    lo, hi = res.bounds
    row.update(dim=res.dim, count=res.count, rank=res.rank, lower=lo, upper=hi)
    cert = json.loads(json.dumps(res.certificate))  # exactly what a file would hold
    t = time.perf_counter()
    try:
        report = check_certificate(cert)
        proved = report["proved"]
        row["certified"] = bool(
            proved["exact"] and proved["upper_bound"] == res.count and proved["lower_bound"] == lo
        )
    except CertificateError as err:
        row["error"] = f"certificate not proved: {_one_line(err)}"
    except MemoryError:
        row["error"] = "memory limit"
    row["check_seconds"] = round(time.perf_counter() - t, 4)
    return row, cert


def _task(item: str | Model, flow: str, seed: int, time_limit: float | None, memory_limit: int | None) -> dict[str, Any]:
    """The Dask task: a row and its certificate (limits: in a supervised child process)."""
    if time_limit is None and memory_limit is None:
        try:
            row, cert = _compute(item, flow, seed)
        except MemoryError:
            row, cert = _empty_row(_key_of(item), flow), None
            row["error"] = "memory limit"
        except Exception as err:  # an engine bug must not stop the sweep: record it
            row, cert = _empty_row(_key_of(item), flow), None
            row["error"] = f"crashed: {_one_line(err)}"
        return {"row": row, "certificate": cert}
    return _run_in_child(item, flow, seed, time_limit, memory_limit)


_STARTUP_TIMEOUT = 120.0
_POLL = 0.02


def _run_in_child(item: str | Model, flow: str, seed: int, time_limit: float | None, memory_limit: int | None) -> dict[str, Any]:
    """Run one task in a fresh process, killed past ``time_limit`` s or ``memory_limit`` bytes of RSS."""
    import pickle
    import subprocess

    import cloudpickle
    import psutil

    payload = cloudpickle.dumps((item, flow, seed, memory_limit))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from flowlaws._sweep import _child_main; _child_main()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout, proc.stderr
    ready = threading.Event()
    chunks: dict[str, Any] = {"out": b"", "err": b"", "ready_at": None}

    def read_out() -> None:
        first = out.read(1)
        chunks["ready_at"] = time.monotonic()
        ready.set()
        if first:
            chunks["out"] = out.read()

    def read_err() -> None:
        chunks["err"] = err.read()[-4000:]

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    started = time.monotonic()
    verdict = None
    try:
        proc.stdin.write(payload)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    ps = psutil.Process(proc.pid)
    while proc.poll() is None:
        now = time.monotonic()
        if ready.is_set():
            if time_limit is not None and now - chunks["ready_at"] > time_limit:
                verdict = "time limit"
        elif now - started > _STARTUP_TIMEOUT:
            verdict = f"crashed: the task process did not start in {_STARTUP_TIMEOUT:.0f} s"
        if verdict is None and memory_limit is not None:
            try:
                if ps.memory_info().rss > memory_limit:
                    verdict = "memory limit"
            except psutil.Error:
                pass
        if verdict is not None:
            proc.kill()
            break
        time.sleep(_POLL)
    proc.wait()
    for r in readers:
        r.join(timeout=10)
    if verdict is None and chunks["out"]:
        try:
            result = pickle.loads(chunks["out"])
            if isinstance(result, dict) and "row" in result:
                return result
        except Exception:  # a truncated answer: the process died while writing
            pass
    row = _empty_row(_key_of(item), flow)
    if verdict is None:
        died_by_signal = proc.returncode is not None and proc.returncode < 0
        if memory_limit is not None and died_by_signal:
            verdict = "memory limit"
        else:
            tail = chunks["err"].decode("utf-8", "replace").strip().splitlines()
            verdict = f"crashed: task process exited with status {proc.returncode}" + (f": {tail[-1][:300]}" if tail else "")
    row["error"] = verdict
    return {"row": row, "certificate": None}


def _child_main() -> None:  # pragma: no cover - runs in the task's own process
    """Entry point of a task process: pickled task on stdin, pickled result on stdout."""
    import pickle

    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the engine prints goes to stderr, not into the answer
    item, flow, seed, memory_limit = pickle.loads(sys.stdin.buffer.read())
    from . import _analyze  # noqa: F401  (import before the clock starts)
    from . import verify  # noqa: F401

    if memory_limit is not None:
        try:  # a hard backstop for allocations faster than the parent's polling
            import resource

            import psutil

            vms = psutil.Process().memory_info().vms
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = vms + 2 * memory_limit + (256 << 20)
            if hard == resource.RLIM_INFINITY or limit < hard:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
        except (ImportError, ValueError, OSError):
            pass
    channel.write(b"R")
    channel.flush()
    try:
        result = _task(item, flow, seed, None, None)
    except MemoryError:
        row = _empty_row(_key_of(item), flow)
        row["error"] = "memory limit"
        result = {"row": row, "certificate": None}
    channel.write(pickle.dumps(result))
    channel.flush()
    channel.close()
    os._exit(0)


# ---------------------------------------------------------------------------------
# result tables (append + flush per row)
# ---------------------------------------------------------------------------------
def _fmt(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return value


def _coerce(raw: Mapping[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in COLUMNS:
        v = raw.get(c)
        if isinstance(v, str):
            v = v.strip()
            if v == "":
                v = None
        if v is None:
            row[c] = False if c == "certified" else None
        elif c in _INT_COLUMNS:
            row[c] = int(v)
        elif c in _FLOAT_COLUMNS:
            row[c] = float(v)
        elif c == "certified":
            row[c] = v if isinstance(v, bool) else str(v).lower() in ("true", "1")
        else:
            row[c] = str(v)
    return row


class _CsvTable:
    """A CSV table that survives kills: complete lines only, one flushed line per row."""

    def __init__(self, path: Path, *, repair: bool = True) -> None:
        self.path = path
        self._fh: Any = None
        self._writer: Any = None
        self.rows = self._load(repair)

    def _load(self, repair: bool) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # a line cut by a kill: drop it, it is recomputed
            cut = data.rfind(b"\n") + 1
            if repair:
                with open(self.path, "r+b") as fh:
                    fh.truncate(cut)
            data = data[:cut]
        if not data.strip():
            return []
        reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
        header = tuple(reader.fieldnames or ())
        if header != COLUMNS:
            raise InvalidArgument(
                f"out={str(self.path)!r} exists with columns {list(header)[:6]}..., not a flowlaws sweep table "
                f"({', '.join(COLUMNS[:7])}, ...); choose another file"
            )
        try:
            return [_coerce(r) for r in reader]
        except (TypeError, ValueError) as err:
            raise InvalidArgument(f"out={str(self.path)!r}: a row is malformed ({err}); fix or move the file") from err

    def append(self, row: Mapping[str, Any]) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", newline="", encoding="utf-8")
            self._writer = csv.writer(self._fh, lineterminator="\n")
            if self._fh.tell() == 0:
                self._writer.writerow(COLUMNS)
        self._writer.writerow([_fmt(row.get(c)) for c in COLUMNS])
        self._fh.flush()

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.close()
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COLUMNS)
            for row in rows:
                w.writerow([_fmt(row.get(c)) for c in COLUMNS])
        os.replace(tmp, self.path)
        self.rows = [dict(r) for r in rows]

    def finish(self) -> None:
        self.close()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _parquet_schema() -> Any:
    import pyarrow as pa

    types = {c: pa.int64() for c in _INT_COLUMNS}
    types.update({c: pa.float64() for c in _FLOAT_COLUMNS})
    types.update(spec=pa.string(), flow=pa.string(), error=pa.string(), certified=pa.bool_())
    return pa.schema([(c, types[c]) for c in COLUMNS])


class _ParquetTable:
    """Parquet output: rows stream to ``OUT.partial.csv`` and the parquet file is written at the end."""

    def __init__(self, path: Path, *, repair: bool = True) -> None:
        self.path = path
        self.journal = _CsvTable(path.with_name(path.name + ".partial.csv"), repair=repair)
        self.rows = self._load() + self.journal.rows

    def _load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except Exception as err:
            raise InvalidArgument(f"out={str(self.path)!r} is not a readable parquet file: {err}") from err
        if tuple(table.column_names) != COLUMNS:
            raise InvalidArgument(f"out={str(self.path)!r} has columns {table.column_names[:6]}..., not a flowlaws sweep table")
        return [_coerce(r) for r in table.to_pylist()]

    def append(self, row: Mapping[str, Any]) -> None:
        self.rows.append(dict(row))
        self.journal.append(row)

    def rewrite(self, rows: Iterable[Mapping[str, Any]]) -> None:
        self.rows = [dict(r) for r in rows]
        self.journal.rewrite([])
        self.finish()

    def finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.journal.close()
        latest = {(r["spec"], r["flow"]): r for r in self.rows}
        table = pa.Table.from_pylist([{c: r.get(c) for c in COLUMNS} for r in latest.values()], schema=_parquet_schema())
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)
        if self.journal.path.exists():
            self.journal.path.unlink()

    def close(self) -> None:
        self.journal.close()


def _open_table(out: str | os.PathLike[str], *, repair: bool = True) -> _CsvTable | _ParquetTable:
    path = Path(out)
    if path.suffix.lower() == ".parquet":
        try:
            import pyarrow  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except ImportError as err:
            raise InvalidArgument(
                f"out={str(out)!r}: writing parquet needs pyarrow, which cannot be imported ({err}); "
                "install it (pip install pyarrow) or write a .csv file"
            ) from err
        return _ParquetTable(path, repair=repair)
    if path.is_dir():
        raise InvalidArgument(f"out={str(out)!r} is a directory; give a file such as results.csv")
    return _CsvTable(path, repair=repair)


def load_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a sweep table (CSV, or parquet with pyarrow), typed; the last row per key wins.

    A last line cut by a killed sweep is ignored (the file is not modified).

    Raises
    ------
    InvalidArgument
        Not a sweep table, or parquet without pyarrow.
    """
    if not Path(path).exists():
        raise InvalidArgument(f"path={str(path)!r}: no such sweep table")
    table = _open_table(path, repair=False)
    table.close()
    return list({(r["spec"], r["flow"]): r for r in table.rows}.values())


# ---------------------------------------------------------------------------------
# results, plot
# ---------------------------------------------------------------------------------
class SweepResults(list):  # type: ignore[type-arg]
    """The rows of a sweep (a ``list`` of dicts, in request order) and what was found.

    Attributes
    ----------
    computed, skipped : int
        Rows computed now / already in ``out``.
    checked : int
        Rows whose count was compared with ``expect``.
    mismatches : list of dict
        With ``expect``: rows whose count differs from the formula (``expected``
        set) or where it cannot be evaluated (``problem`` set).
    errors : list of dict
        Rows with ``error`` set.
    out, plot : str or None
        The table and the plot written.
    expect : str or None
    seconds : float
        Wall time of the sweep.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(rows)
        self.computed = 0
        self.skipped = 0
        self.checked = 0
        self.mismatches: list[dict[str, Any]] = []
        self.out: str | None = None
        self.plot: str | None = None
        self.expect: str | None = None
        self.seconds = 0.0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self if r.get("error")]

    def summary(self) -> str:
        """A few lines: rows, certified, errors, and the formula check."""
        certified = sum(1 for r in self if r.get("certified"))
        lines = [
            f"{len(self)} rows ({self.computed} computed, {self.skipped} already in the table) in {self.seconds:.1f} s; "
            f"{certified} certified, {len(self.errors)} with an error"
        ]
        for r in self.errors[:10]:
            lines.append(f"  error  {r['spec']} [{r['flow']}]: {r['error']}")
        if len(self.errors) > 10:
            lines.append(f"  ... {len(self.errors) - 10} more errors")
        if self.expect is not None:
            total = self.checked + sum(1 for r in self.mismatches if r.get("problem"))
            what = f"({self.expect})" if ";" in self.expect else self.expect
            lines.append(f"expect {what}: {total - len(self.mismatches)} of {total} rows match")
            for r in self.mismatches[:20]:
                if r.get("problem"):
                    lines.append(f"  cannot check {r['spec']} [{r['flow']}]: {r['problem']}")
                else:
                    lines.append(f"  differs {r['spec']} [{r['flow']}]: count {r['count']}, expected {r['expected']}")
            if len(self.mismatches) > 20:
                lines.append(f"  ... {len(self.mismatches) - 20} more")
        if self.out:
            lines.append(f"table: {self.out}" + (f"; plot: {self.plot}" if self.plot else ""))
        return "\n".join(lines)


def _plot(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> str | None:
    from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone (Agg canvas)

    good = [r for r in rows if not r.get("error") and r.get("count") is not None and r.get("params") is not None]
    if not good:
        return None
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    flows = list(dict.fromkeys(r["flow"] for r in good))
    for i, flow in enumerate(flows):
        color = f"C{i % 10}"
        for certified, marker in ((True, "o"), (False, "x")):
            pts = [(r["params"], r["count"]) for r in good if r["flow"] == flow and bool(r["certified"]) is certified]
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, c=color, marker=marker, alpha=0.7,
                           label=f"{flow}" + ("" if certified else " (not certified)"))
    ax.set_xlabel("number of parameters D")
    ax.set_ylabel("number of conservation laws")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return str(path)


def _cert_filename(spec: str, flow: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._+-]", "_", spec)
    return f"{safe}__{flow}.json"


# ---------------------------------------------------------------------------------
# sweep
# ---------------------------------------------------------------------------------
def _check_flows(flows: Any) -> list[str]:
    from ._flows import FLOWS

    if isinstance(flows, str):
        flows = [f for f in flows.split(",")]
    if not isinstance(flows, (list, tuple)) or not flows:
        raise InvalidArgument(f"flows={flows!r}: expected flow names such as ('gradient', 'momentum')")
    out: list[str] = []
    for f in flows:
        name = f.strip().lower() if isinstance(f, str) else f
        if name not in FLOWS:
            raise InvalidArgument(f"flows: unknown flow {f!r}; known flows: {', '.join(FLOWS)}")
        out.append(name)
    return list(dict.fromkeys(out))


def _check_limit(name: str, value: Any, *, unit: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and unit == "bytes":
        from dask.utils import parse_bytes

        try:
            value = parse_bytes(value)
        except (ValueError, TypeError) as err:
            raise InvalidArgument(f"{name}={value!r}: not a size; write bytes or e.g. '2GB'") from err
    if isinstance(value, str) and unit == "s":
        from dask.utils import parse_timedelta

        try:
            value = parse_timedelta(value)
        except (ValueError, TypeError, KeyError) as err:
            raise InvalidArgument(f"{name}={value!r}: not a duration; write seconds or e.g. '5min'") from err
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected a positive number of {unit}")
    return int(value) if unit == "bytes" else float(value)


_FLOW_PREFIX = re.compile(r"^\s*([A-Za-z_]+)\s*=(?!=)\s*(.*)$", re.S)


def _expectations(expect: Any, flows: Sequence[str]) -> dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]]:
    """``{flow or "*": (description, formula)}`` from a formula, a callable, a mapping or ``FLOW=FORMULA`` strings."""
    from ._flows import FLOWS

    if expect is None:
        return {}
    if isinstance(expect, Mapping):
        pairs = list(expect.items())
    elif isinstance(expect, str) or callable(expect):
        pairs = [("*", expect)]
    elif isinstance(expect, (list, tuple)):
        pairs = []
        for text in expect:
            if not isinstance(text, str):
                raise InvalidArgument(f"expect item {text!r} (type={type(text).__name__}): expected 'FORMULA' or 'FLOW=FORMULA'")
            m = _FLOW_PREFIX.match(text)
            pairs.append((m.group(1).lower(), m.group(2)) if m and m.group(1).lower() in FLOWS else ("*", text))
    else:
        raise InvalidArgument(
            f"expect={expect!r} (type={type(expect).__name__}): expected a formula string, a callable or a dict {{flow: formula}}"
        )
    out: dict[str, tuple[str, Callable[[Mapping[str, Any]], Any]]] = {}
    for flow, f in pairs:
        if flow != "*" and flow not in FLOWS:
            raise InvalidArgument(f"expect: unknown flow {flow!r}; known flows: {', '.join(FLOWS)}")
        if flow in out:
            raise InvalidArgument(f"expect: two formulas for {'every flow' if flow == '*' else 'flow ' + repr(flow)}")
        if callable(f):
            out[flow] = (getattr(f, "__name__", "callable"), f)
        else:
            compiled = compile_formula(f)
            out[flow] = (compiled.text, compiled)
    return out


def _collect(models_or_specs: Any) -> list[str | Model]:
    raw = [models_or_specs] if isinstance(models_or_specs, (str, Model)) else models_or_specs
    try:
        raw = list(raw)
    except TypeError:
        raise InvalidArgument(
            f"models_or_specs={models_or_specs!r} (type={type(models_or_specs).__name__}): "
            "expected a spec pattern, a Model, or a list of them"
        ) from None
    items: list[str | Model] = []
    for x in raw:
        if isinstance(x, str):
            items += _items_from_text(x)
        elif isinstance(x, Model):
            items.append(x)
        else:
            raise InvalidArgument(f"{x!r} (type={type(x).__name__}): expected a spec string or a flowlaws Model")
    seen: dict[str, str | Model] = {}
    for x in items:
        key = _key_of(x)
        if not isinstance(key, str) or not key.strip() or any(c in key for c in "\r\n"):
            raise InvalidArgument(f"model name {key!r}: a sweep row needs a one-line name; set model.name")
        if key in seen and seen[key] is not x and not (isinstance(x, str) and isinstance(seen[key], str)):
            raise InvalidArgument(f"two models are named {key!r}; give them distinct .name values (rows are keyed by name)")
        seen.setdefault(key, x)
    if not seen:
        raise InvalidArgument("models_or_specs is empty: give at least one spec or model")
    return list(seen.values())


def _connect(scheduler: Any, workers: int | None) -> tuple[Any, Any, bool]:
    """``(client, cluster we started or None, whether we close the client)``."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler is None:
        try:
            with dask.config.set({
                "distributed.scheduler.allowed-failures": 1,  # a task whose worker dies is retried once
                "distributed.scheduler.worker-saturation": 1.0,
            }):
                cluster = LocalCluster(
                    n_workers=workers or 2, threads_per_worker=1, processes=True,
                    dashboard_address=":0", silence_logs=logging.ERROR,
                )
        except RuntimeError as err:
            raise InvalidArgument(
                f"could not start a local Dask cluster ({err}); when calling flowlaws.sweep from a script, "
                "put the call under `if __name__ == '__main__':`"
            ) from err
        return Client(cluster), cluster, True
    if isinstance(scheduler, Client):
        return scheduler, None, False
    if hasattr(scheduler, "scheduler_address"):
        return Client(scheduler), None, True
    if not isinstance(scheduler, str):
        raise InvalidArgument(
            f"scheduler={scheduler!r} (type={type(scheduler).__name__}): expected an address such as "
            "'tcp://10.0.0.1:8786', a distributed.Client or a cluster object"
        )
    try:  # the connect timeout is Dask's: distributed.comm.timeouts.connect
        return Client(scheduler), None, True
    except (OSError, TimeoutError, ValueError) as err:
        raise InvalidArgument(
            f"cannot connect to the Dask scheduler at {scheduler!r}: {_one_line(err)}; start one with "
            "`dask scheduler` (and `dask worker ADDRESS`) or leave the scheduler out to run locally"
        ) from err


def _killed_reason(client: Any, err: BaseException) -> str:
    address = getattr(getattr(err, "last_worker", None), "address", None)
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:
        events = ()
    for _, msg in events or ():
        if isinstance(msg, Mapping) and msg.get("worker") == address:
            return "memory limit"
    return "worker died"


def sweep(
    models_or_specs: str | Model | Iterable[str | Model],
    *,
    flows: str | Sequence[str] = ("gradient",),
    scheduler: Any = None,
    workers: int | None = None,
    out: str | os.PathLike[str] | None = None,
    expect: str | Callable[[Mapping[str, Any]], Any] | Mapping[str, Any] | Sequence[str] | None = None,
    time_limit: float | str | None = None,
    memory_limit: int | str | None = None,
    seed: int = 0,
    progress: bool = True,
    certificates: str | os.PathLike[str] | None = None,
    plot: bool = True,
    redo_errors: bool = False,
) -> SweepResults:
    """Analyse and certify many architectures under several flows, on Dask.

    Each ``(architecture, flow)`` is one Dask task that runs
    :func:`flowlaws.analyze` and then the independent checker
    :func:`flowlaws.verify.check_certificate` on the worker and returns its row
    and certificate. Rows are appended (and flushed) to ``out`` as tasks finish,
    so a killed worker or a killed sweep loses no finished row, and a rerun
    with the same ``out`` computes only the missing rows.

    Parameters
    ----------
    models_or_specs : str, Model or iterable of them
        Spec patterns (``"relu:{2..4}x{2..5}x2"``, see :func:`expand_pattern`),
        ``"@FILE"`` (or a file name without ``:``) of specs, one per line,
        or :class:`~flowlaws.models.Model` objects (keyed by ``.name``).
    flows : str or sequence of str
        ``"gradient"``, ``"momentum"``, ``"nesterov"`` or a comma-separated string.
        A flow the engine refuses gives rows with ``error`` set.
    scheduler : str, distributed.Client or cluster, optional
        Where to run; by default a ``LocalCluster`` of processes with one thread
        each, closed at the end (a task whose worker dies is retried once).
    workers : int, optional
        Workers of the local cluster (default 2); not with ``scheduler``.
    out : path, optional
        The table: CSV, or parquet when it ends in ``.parquet`` (needs pyarrow;
        rows stream to ``OUT.partial.csv`` until the parquet file is written).
    expect : str, callable, dict or list of str, optional
        The expected count per row: a formula for :func:`compile_formula`
        (e.g. ``"r*(r+1)//2"``, ``"sum(hidden)"``, ``"linear"``) or a callable of
        the row's names, for every flow; or per flow, ``{"gradient": "sum(hidden)",
        "momentum": "0"}`` or ``["gradient=sum(hidden)", "momentum=0"]``.
        Rows that differ are in ``.mismatches``.
    time_limit : float or str, optional
        Wall seconds per task (analysis and check). With a time or memory limit
        every task runs in its own supervised process (about 0.5 s more per task)
        and is killed past its limit: its row says ``error="time limit"`` or
        ``"memory limit"``; it is not retried.
    memory_limit : int or str, optional
        Resident memory of a task's process in bytes (or ``"2GB"``), the
        interpreter's ~40 MB included.
    seed : int
        Seed of every analysis (points, primes' combinations).
    progress : bool
        Show a tqdm progress bar on stderr.
    certificates : path, optional
        Directory where each computed row's certificate is written as
        ``SPEC__FLOW.json`` (before its row, so a row in the table has its file).
    plot : bool
        Write a plot of count vs number of parameters, coloured by flow, next
        to ``out`` (``results.csv`` → ``results.png``).
    redo_errors : bool
        Recompute rows of ``out`` that have an ``error`` (their old rows are
        removed first); by default every row already present is kept.

    Returns
    -------
    SweepResults
        A list of row dicts (:data:`COLUMNS`, plus ``expected`` with ``expect``)
        in request order, with ``.computed``, ``.skipped``, ``.mismatches``,
        ``.errors``, ``.plot`` and ``.summary()``.

    Raises
    ------
    InvalidArgument
        Bad patterns, flows, limits, formula, output file, or no scheduler at
        ``scheduler``; all checked before any task starts.

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.sweep("relu:2x{2,3}x1", flows="gradient,momentum", out="sweep.csv",
    ...                expect="sum(hidden)", progress=False)          # doctest: +SKIP
    >>> [(r["spec"], r["flow"], r["count"], r["certified"]) for r in res]   # doctest: +SKIP
    [('relu:2x2x1', 'gradient', 2, True), ('relu:2x2x1', 'momentum', None, False),
     ('relu:2x3x1', 'gradient', 3, True), ('relu:2x3x1', 'momentum', None, False)]
    >>> res.mismatches                                                # doctest: +SKIP
    []
    """
    t_start = time.perf_counter()
    items = _collect(models_or_specs)
    flow_names = _check_flows(flows)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} (type={type(seed).__name__}): expected a non-negative integer")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidArgument(f"workers={workers!r} (type={type(workers).__name__}): expected a positive integer")
    if workers is not None and scheduler is not None:
        raise InvalidArgument(f"workers={workers}: the number of workers applies to the local cluster; the cluster at scheduler= has its own")
    t_limit = _check_limit("time_limit", time_limit, unit="s")
    m_limit = _check_limit("memory_limit", memory_limit, unit="bytes")
    expectations = _expectations(expect, flow_names)
    cert_dir = Path(certificates) if certificates is not None else None
    if cert_dir is not None and cert_dir.exists() and not cert_dir.is_dir():
        raise InvalidArgument(f"certificates={str(certificates)!r} is a file; give a directory")
    models: dict[str, Model] = {}
    for x in items:
        models[_key_of(x)] = x if isinstance(x, Model) else parse(x)
    table = _open_table(out) if out is not None else None
    if cert_dir is not None:
        cert_dir.mkdir(parents=True, exist_ok=True)
    try:
        existing = {(r["spec"], r["flow"]): r for r in table.rows} if table is not None else {}
        if redo_errors and table is not None and any(r.get("error") for r in existing.values()):
            existing = {k: r for k, r in existing.items() if not r.get("error")}
            table.rewrite(list(existing.values()))
        wanted = [(_key_of(x), x, f) for x in items for f in flow_names]
        todo = [(k, x, f) for k, x, f in wanted if (k, f) not in existing]
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        if todo:
            rows = _run(todo, table, scheduler, workers, t_limit, m_limit, seed, progress, cert_dir, models)
    finally:
        if table is not None:
            table.finish()
    results = SweepResults()
    for k, _x, f in wanted:
        row = dict(rows.get((k, f)) or existing[(k, f)])
        if not row.get("params") and k in models:
            row["params"] = models[k].dim
        results.append(row)
    results.computed = len(todo)
    results.skipped = len(wanted) - len(todo)
    results.out = str(out) if out is not None else None
    if expectations:
        results.expect = "; ".join(
            f"{desc}" if flow == "*" else f"{flow}: {desc}" for flow, (desc, _f) in expectations.items()
        )
        for row in results:
            chosen = expectations.get(row["flow"]) or expectations.get("*")
            if row.get("error") or chosen is None:
                continue
            names = formula_names(row["spec"], params=row.get("params"), dim=row.get("dim"), model=models.get(row["spec"]))
            try:
                value = chosen[1](names)
            except (InvalidArgument, ArithmeticError, TypeError, ValueError, KeyError, IndexError) as err:
                results.mismatches.append({**row, "problem": str(err)})
                continue
            row["expected"] = value
            results.checked += 1
            if value != row["count"]:
                results.mismatches.append(row)
    if plot and out is not None:
        png = Path(out).with_suffix(".png")
        results.plot = _plot(results, png, f"flowlaws sweep: {len(results)} rows")
    results.seconds = time.perf_counter() - t_start
    return results


def _run(
    todo: list[tuple[str, str | Model, str]],
    table: _CsvTable | _ParquetTable | None,
    scheduler: Any,
    workers: int | None,
    time_limit: float | None,
    memory_limit: int | None,
    seed: int,
    progress: bool,
    cert_dir: Path | None,
    models: Mapping[str, Model],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Submit the tasks and stream their rows to ``table`` as they finish."""
    import uuid

    from distributed import as_completed
    from tqdm import tqdm

    from distributed.scheduler import KilledWorker

    client, cluster, own_client = _connect(scheduler, workers)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    token = uuid.uuid4().hex[:8]
    try:
        meta: dict[Any, tuple[str, str]] = {}
        futures = []
        for i, (key, item, flow) in enumerate(todo):
            payload = item if isinstance(item, Model) else key
            fut = client.submit(_task, payload, flow, seed, time_limit, memory_limit,
                                key=f"flowlaws-sweep-{token}-{i}", pure=False, retries=0)
            meta[fut.key] = (key, flow)
            futures.append(fut)
        bar = tqdm(total=len(todo), desc="sweep", unit="row", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        n_errors = 0
        try:
            done = as_completed(futures)
            del futures  # as_completed holds them; each is released once its row is written
            for fut in done:
                key, flow = meta[fut.key]
                cert = None
                try:
                    answer = fut.result()
                    row, cert = dict(answer["row"]), answer["certificate"]
                except KilledWorker as err:
                    row = _empty_row(key, flow)
                    row["error"] = _killed_reason(client, err)
                except Exception as err:
                    row = _empty_row(key, flow)
                    row["error"] = f"task failed: {_one_line(err)}"
                fut.release()
                if row.get("params") is None:
                    row["params"] = models[key].dim
                if cert is not None and cert_dir is not None:
                    with open(cert_dir / _cert_filename(key, flow), "w", encoding="utf-8") as fh:
                        json.dump(cert, fh, indent=1)
                if table is not None:
                    table.append(row)
                rows[(key, flow)] = row
                n_errors += bool(row.get("error"))
                bar.update(1)
                if n_errors:
                    bar.set_postfix(errors=n_errors, refresh=False)
        finally:
            bar.close()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
    return rows


# ---------------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------------
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
    items: list[str | Model] = []
    for text in args.patterns:
        items += _items_from_text(text)
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
    p.add_argument("--flows", default="gradient", help="comma-separated flows (default gradient), e.g. gradient,momentum")
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
