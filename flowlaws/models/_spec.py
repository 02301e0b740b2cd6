"""The CLI's architecture spec strings.

``KIND:AxBxC`` with KIND one of ``linear``, ``relu``, ``leaky`` (or
``leaky_relu``), each optionally ``+bias``: a fully connected network with
those widths; ``factorization:NxRxM`` (``U Vᵀ``); ``nmf:NxRxM`` (``U Vᵀ`` with the metric ``diag(θ)``); ``sym:NxR`` (``U Uᵀ``);
``product:D`` (``θ1⋯θD``); ``attention:DxK`` (``Q Kᵀ``, ``V Oᵀ``);
``resnet:WxH`` (a residual block ``W2 σ(W1 x) + x``, add ``+bias`` for biases);
``conv1d:LxK`` or ``conv1d:LxKxC`` (a shared kernel over a length-L input, C channels).

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
from ._builders import MAX_PARAMETERS, MAX_WIDTH, factorization, from_polynomials, mlp, nmf, symmetric_factorization
from ._blocks import conv1d, resnet_block
from ._model import Model
from ._products import attention

__all__ = ["parse", "SPEC_KINDS"]

SPEC_KINDS = ("nmf", "linear", "relu", "leaky", "leaky_relu", "factorization", "sym", "product", "attention", "resnet", "conv1d")
_ACT = {"linear": "linear", "relu": "relu", "leaky": "leaky_relu", "leaky_relu": "leaky_relu"}


def _sizes(spec: str, text: str) -> list[int]:
    if not re.fullmatch(r"[0-9]+(x[0-9]+)*", text):
        raise InvalidArgument(f"spec {spec[:60]!r}: sizes {text[:40]!r} must look like 3x4x3 (ASCII digits)")
    tokens = text.split("x")
    for t in tokens:
        if len(t.lstrip("0")) > len(str(MAX_WIDTH)):
            raise InvalidArgument(f"spec {spec[:60]!r}: size {t[:20]}... is larger than {MAX_WIDTH}")
    return [int(t) for t in tokens]


def parse(spec: str, *, max_parameters: int = MAX_PARAMETERS) -> Model:
    """The model named by a spec string such as ``"relu:3x3x3"`` or ``"linear:2x5x2"``.

    Sizes are ASCII digits; ``max_parameters`` bounds the model's parameter
    count, checked before anything is allocated.

    Raises
    ------
    InvalidArgument
        An unknown kind or malformed sizes, with the list of known kinds.
    BudgetExceeded
        More than ``max_parameters`` parameters.

    Examples
    --------
    >>> parse("relu:99999x99999")
    Traceback (most recent call last):
    ...
    flowlaws.errors.BudgetExceeded: the network 99999x99999 has 9999800001 parameters, more than max_parameters=1000000; raise it with mlp(..., max_parameters=...) if you have the memory
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise InvalidArgument(
            f"spec {spec!r:.80}: expected KIND:SIZES such as relu:3x3x3, linear:2x5x2, relu+bias:2x3x2, sym:3x2"
        )
    kind, _, sizes = spec.strip().partition(":")
    kind = kind.lower()
    bias = kind.endswith("+bias")
    base = kind[: -len("+bias")] if bias else kind
    if base in _ACT:
        widths = _sizes(spec, sizes)
        model = mlp(widths, activation=_ACT[base], bias=bias, max_parameters=max_parameters)
    elif base == "resnet":
        w, h = _expect(spec, _sizes(spec, sizes), 2)
        model = resnet_block(w, h, bias=bias, max_parameters=max_parameters)
    elif bias:
        raise InvalidArgument(f"spec {spec!r}: '+bias' applies to linear, relu, leaky and resnet only")
    elif base == "attention":
        d, k = _expect(spec, _sizes(spec, sizes), 2)
        model = attention(d, k, max_parameters=max_parameters)
    elif base == "conv1d":
        dims = _sizes(spec, sizes)
        if len(dims) not in (2, 3):
            raise InvalidArgument(f"spec {spec!r}: conv1d takes LxK or LxKxC")
        model = conv1d(dims[0], dims[1], channels=dims[2] if len(dims) == 3 else 1, max_parameters=max_parameters)
    elif base == "factorization":
        n, r, m = _expect(spec, _sizes(spec, sizes), 3)
        model = factorization(n, r, m, max_parameters=max_parameters)
    elif base == "nmf":
        n, r, m = _expect(spec, _sizes(spec, sizes), 3)
        model = nmf(n, r, m, max_parameters=max_parameters)
    elif base == "sym":
        n, r = _expect(spec, _sizes(spec, sizes), 2)
        model = symmetric_factorization(n, r, max_parameters=max_parameters)
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
