"""Which architectures a sweep runs: spec patterns, spec files, random families.

* :func:`expand_pattern` expands brace groups (``relu:{2..4}x{2..5}x2``);
* :func:`read_specs` reads a file of patterns, one per line;
* :func:`random_architectures` draws seeded random depth/width families like
  the papers' experiments;
* :func:`collect` turns what :func:`flowlaws.sweep` accepts into its list of
  items, keyed by :func:`key_of`.

What it does not check: anything about a spec's meaning beyond
:func:`flowlaws.models.parse`.

Examples
--------
>>> expand_pattern("relu:{2..3}x{2,4}x1")
['relu:2x2x1', 'relu:2x4x1', 'relu:3x2x1', 'relu:3x4x1']
"""

from __future__ import annotations

import itertools
import math
import os
import re
from typing import Any

from ..errors import InvalidArgument
from ..models import parse
from ..models._model import Model

__all__ = [
    "MAX_SPECS",
    "expand_pattern",
    "read_specs",
    "random_architectures",
    "items_from_text",
    "collect",
    "key_of",
]

MAX_SPECS = 100_000


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


def items_from_text(text: str) -> list[str]:
    """The specs of a CLI/API string: ``@FILE``, an existing file name without ``:``, or a pattern.

    Examples
    --------
    >>> items_from_text("linear:{2,3}x2")
    ['linear:2x2', 'linear:3x2']
    """
    if text.startswith("@"):
        return read_specs(text[1:])
    if ":" not in text and os.path.isfile(text):
        return read_specs(text)
    return expand_pattern(text)


def key_of(item: str | Model) -> str:
    """The key of a sweep row for an item: the spec, or the model's ``.name``."""
    return item.name if isinstance(item, Model) else item


def collect(models_or_specs: Any) -> list[str | Model]:
    """The items of a sweep: patterns and spec files expanded, models kept, keys checked unique.

    Parameters
    ----------
    models_or_specs : str, Model or iterable of them
        What :func:`flowlaws.sweep` accepts (see :func:`items_from_text` for strings).

    Returns
    -------
    list of str or Model
        Without duplicates, in order; a row's key is the spec or the model's ``.name``.

    Raises
    ------
    InvalidArgument
        An item that is neither a string nor a Model, two models with one name,
        a name that is not one line, or nothing at all.

    Examples
    --------
    >>> collect(["relu:2x{2,3}x1", "relu:2x2x1"])
    ['relu:2x2x1', 'relu:2x3x1']
    """
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
            items += items_from_text(x)
        elif isinstance(x, Model):
            items.append(x)
        else:
            raise InvalidArgument(f"{x!r} (type={type(x).__name__}): expected a spec string or a flowlaws Model")
    seen: dict[str, str | Model] = {}
    for x in items:
        key = key_of(x)
        if not isinstance(key, str) or not key.strip() or any(c in key for c in "\r\n"):
            raise InvalidArgument(f"model name {key!r}: a sweep row needs a one-line name; set model.name")
        if key in seen and seen[key] is not x and not (isinstance(x, str) and isinstance(seen[key], str)):
            raise InvalidArgument(f"two models are named {key!r}; give them distinct .name values (rows are keyed by name)")
        seen.setdefault(key, x)
    if not seen:
        raise InvalidArgument("models_or_specs is empty: give at least one spec or model")
    return list(seen.values())
