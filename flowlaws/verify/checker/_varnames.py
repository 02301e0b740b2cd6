"""The names a certificate displays, bound to what it proves; JSON read without duplicate keys.

The proof never depends on a variable's *name*, but users read laws through
those names, so the checker refuses names that could mislead:

- :func:`check_printable_names`: every name is a non-empty string without
  control or format characters (no ANSI escape codes, carriage returns or
  bidirectional overrides that could rewrite a terminal line);
- :func:`check_network_names`: the parameters of a ``network`` model are named
  by their position in the layers — each weight block ``NAME[i,j]`` in row-major
  order (or ``NAME[j,i]``, the transposed layout of factorizations), each bias
  block ``NAME[i]`` in order, one distinct ``NAME`` per block, and a name of the
  form ``W<k>`` / ``b<k>`` only on layer ``k``. Permuted names are rejected;
- :func:`strict_object`: the ``object_pairs_hook`` that refuses a JSON object
  with a repeated key (readers keeping the first and the last value would see
  different claims).

Standard library only, like the rest of the checker. What it does not check:
names of ``polynomials`` and ``graph`` models beyond being printable (they
are the user's own names).

Examples
--------
>>> check_network_names(["W1[0,0]", "W1[0,1]", "W2[0,0]"], (2, 1, 1), False)
>>> check_network_names(["W1[0,1]", "W1[0,0]", "W2[0,0]"], (2, 1, 1), False)
Traceback (most recent call last):
...
flowlaws.errors.CertificateError: [schema] variables[0]='W1[0,1]': the parameter at this position is entry (0,0) of the weights of layer 1 (2 inputs, 1 outputs), named like 'W1[0,0]'; the names must follow the layers' order
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ...errors import CertificateError
from ._jsonlimits import MAX_JSON_DEPTH, json_too_deep

__all__ = ["check_printable_names", "check_network_names", "strict_object", "loads_strict"]

_INDEXED = re.compile(r"^(?P<base>[^\[\]]+)\[(?P<idx>\d+(?:,\d+)*)\]$")
_LAYER_BASE = re.compile(r"^(?P<kind>[Wb])(?P<layer>\d+)$")


def _fail(message: str) -> CertificateError:
    return CertificateError(message, step="schema")


def _unprintable(name: str) -> str | None:
    import unicodedata

    for ch in name:
        cat = unicodedata.category(ch)
        if cat[0] == "C" or cat in ("Zl", "Zp"):  # control, format (bidi overrides), unassigned; line breaks
            return ch
    return None


def check_printable_names(names: Sequence[str], where: str = "variables") -> None:
    """Refuse empty names and names with control, format or line-separator characters.

    >>> check_printable_names(["x0", "W1[0,2]"])
    >>> check_printable_names(["x0", "y\\x1b[2K"])
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] variables[1]='y\\x1b[2K' contains the control character '\\x1b': names are shown to users and must be printable
    """
    if all(name and name.isascii() and name.isprintable() for name in names):  # the usual case, at C speed
        return
    for k, name in enumerate(names):
        if not name:
            raise _fail(f"{where}[{k}] is empty: every variable needs a name")
        bad = _unprintable(name)
        if bad is not None:
            raise _fail(
                f"{where}[{k}]={name[:60]!r} contains the control character {bad!r}: names are shown to users "
                "and must be printable"
            )


def check_network_names(params: Sequence[str], layers: Sequence[int], bias: bool) -> None:
    """The parameter names of a layered network follow its layers (see the module docstring).

    ``params`` are the parameter names only (for a phase flow, without the time
    coordinate and the velocities, whose names are checked against these).
    """
    default = []
    for l in range(1, len(layers)):  # the usual names W{l}[i,j], b{l}[i]: one comparison at C speed
        default += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
        default += [f"b{l}[{i}]" for i in range(layers[l])] if bias else []
    if list(params) == default:
        return
    del default
    pos = 0
    seen: dict[str, int] = {}
    for l in range(1, len(layers)):
        rows, cols = layers[l], layers[l - 1]
        block = list(params[pos : pos + rows * cols])
        _block(block, pos, l, rows, cols, seen, "W")
        pos += rows * cols
        if bias:
            _block(list(params[pos : pos + rows]), pos, l, rows, None, seen, "b")
            pos += rows
    if pos != len(params):
        raise _fail(f"variables: {len(params)} parameter names for a network with {pos} parameters")


def _block(names: list[str], start: int, l: int, rows: int, cols: int | None, seen: dict[str, int], kind: str) -> None:
    what = (f"the weights of layer {l} ({cols} inputs, {rows} outputs)" if cols is not None
            else f"the bias of layer {l} ({rows} entries)")
    parsed = []
    for k, name in enumerate(names):
        m = _INDEXED.match(name)
        if m is None:
            raise _fail(f"variables[{start + k}]={name[:60]!r}: a parameter of {what} is named NAME[i,j] or NAME[i]")
        parsed.append((m["base"], tuple(int(x) for x in m["idx"].split(","))))
    base = parsed[0][0]
    lb = _LAYER_BASE.match(base)
    if lb is not None and (int(lb["layer"]) != l or lb["kind"] != kind):
        raise _fail(
            f"variables[{start}]={names[0][:60]!r}: {base!r} names {what}; the names W<k> and b<k> belong to "
            f"the weights and bias of layer k"
        )
    if base in seen:
        raise _fail(f"variables[{start}]={names[0][:60]!r}: {base!r} already names the block at variables[{seen[base]}]")
    seen[base] = start
    if cols is None:
        orders = [[(i,) for i in range(rows)]]
    else:
        order = [(i, j) for i in range(rows) for j in range(cols)]
        orders = [order, [(j, i) for i, j in order]]
    got = [idx for _, idx in parsed]
    if any(all(b == base for b, _ in parsed) and got == want for want in orders):
        return
    want = orders[0]
    for k, ((b, idx), w) in enumerate(zip(parsed, want)):
        if b != base or (idx != w and (len(orders) == 1 or idx != orders[1][k])):
            entry = ",".join(map(str, w))
            raise _fail(
                f"variables[{start + k}]={names[k][:60]!r}: the parameter at this position is entry ({entry}) of "
                f"{what}, named like {f'{base}[{entry}]'!r}; the names must follow the layers' order"
            )
    raise _fail(f"variables[{start}]: the names of {what} mix the row-major and transposed orders")


def strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads(..., object_pairs_hook=strict_object)``: an object, refusing a repeated key.

    >>> import json
    >>> json.loads('{"count": 1, "count": 9}', object_pairs_hook=strict_object)
    Traceback (most recent call last):
    ...
    ValueError: duplicate key 'count' in a JSON object: each key may appear once (another reader could keep a different value)
    """
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key[:60]!r} in a JSON object: each key may appear once (another reader could keep a different value)")
        out[key] = value
    return out


def loads_strict(text: str) -> Any:
    """``json.loads`` refusing repeated keys and nesting deeper than ``MAX_JSON_DEPTH`` (``ValueError``).

    >>> loads_strict('{"a": [1, {"b": 2}]}')
    {'a': [1, {'b': 2}]}
    >>> loads_strict("[" * 100000)
    Traceback (most recent call last):
    ...
    ValueError: the JSON nests more than 64 brackets (at offset 64); a certificate is never that deep
    """
    import json

    deep = json_too_deep(text, MAX_JSON_DEPTH)
    if deep is not None:
        raise ValueError(f"the JSON nests more than {MAX_JSON_DEPTH} brackets (at offset {deep}); "
                         "a certificate is never that deep")
    import gc

    enabled = gc.isenabled()
    gc.disable()  # millions of small lists (a large network's laws): the cyclic GC would rescan them all, 5-8x slower
    try:
        return json.loads(text, object_pairs_hook=strict_object)
    finally:
        if enabled:
            gc.enable()
