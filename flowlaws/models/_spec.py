"""The CLI's architecture spec strings.

``KIND:AxBxC`` with KIND one of ``linear``, ``relu``, ``leaky`` (or
``leaky_relu``), each optionally ``+bias``: a fully connected network with
those widths; ``factorization:NxRxM`` (``U Vᵀ``); ``sym:NxR`` (``U Uᵀ``);
``product:D`` (``θ1⋯θD``).

Examples
--------
>>> parse("relu:3x3x3").dim
18
>>> parse("relu+bias:2x3x2").dim
17
"""

from __future__ import annotations

import re

from ..errors import InvalidArgument
from ._builders import factorization, from_polynomials, mlp, symmetric_factorization
from ._model import Model

__all__ = ["parse", "SPEC_KINDS"]

SPEC_KINDS = ("linear", "relu", "leaky", "leaky_relu", "factorization", "sym", "product")
_ACT = {"linear": "linear", "relu": "relu", "leaky": "leaky_relu", "leaky_relu": "leaky_relu"}


def _sizes(spec: str, text: str) -> list[int]:
    if not re.fullmatch(r"\d+(x\d+)*", text):
        raise InvalidArgument(f"spec {spec!r}: sizes {text!r} must look like 3x4x3")
    return [int(t) for t in text.split("x")]


def parse(spec: str) -> Model:
    """The model named by a spec string such as ``"relu:3x3x3"`` or ``"linear:2x5x2"``.

    Raises
    ------
    InvalidArgument
        An unknown kind or malformed sizes, with the list of known kinds.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidArgument(
            f"spec {spec!r}: expected KIND:SIZES such as relu:3x3x3, linear:2x5x2, relu+bias:2x3x2, sym:3x2"
        )
    kind, _, sizes = spec.strip().partition(":")
    kind = kind.lower()
    bias = kind.endswith("+bias")
    base = kind[: -len("+bias")] if bias else kind
    if base in _ACT:
        widths = _sizes(spec, sizes)
        model = mlp(widths, activation=_ACT[base], bias=bias)
    elif bias:
        raise InvalidArgument(f"spec {spec!r}: '+bias' applies to linear, relu and leaky networks only")
    elif base == "factorization":
        n, r, m = _expect(spec, _sizes(spec, sizes), 3)
        model = factorization(n, r, m)
    elif base == "sym":
        n, r = _expect(spec, _sizes(spec, sizes), 2)
        model = symmetric_factorization(n, r)
    elif base == "product":
        (d,) = _expect(spec, _sizes(spec, sizes), 1)
        if d < 1 or d > 64:
            raise InvalidArgument(f"spec {spec!r}: product:D needs 1 <= D <= 64")
        names = [f"x{i}" for i in range(d)]
        model = from_polynomials(["*".join(names)], variables=names)
    else:
        raise InvalidArgument(f"spec {spec!r}: unknown kind {kind!r}; known kinds: {', '.join(SPEC_KINDS)} (+bias for networks)")
    model.name = spec.strip()
    return model


def _expect(spec: str, sizes: list[int], n: int) -> list[int]:
    if len(sizes) != n:
        raise InvalidArgument(f"spec {spec!r}: expected {n} sizes, got {len(sizes)}")
    return sizes
