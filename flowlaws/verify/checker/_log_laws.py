"""Rational and logarithmic laws: ``h = P0 + Σ_i c_i·log p_i`` (issue 16).

A certificate may carry ``"log_laws": [{"polynomial": POLY, "logs": [["c", POLY], ...]}, ...]``
with integer ``c_i`` (a rational law ``Π p_i^{c_i}`` is the case ``P0 = 0``). Where every
``p_i ≠ 0``, ``⟨∇h, χ⟩ = ⟨∇P0, χ⟩ + Σ_i c_i ⟨∇p_i, χ⟩ / p_i``, so ``h`` is conserved by a
field ``χ`` exactly when the polynomial

    ``Π_i p_i·⟨∇P0, χ⟩ + Σ_i c_i·⟨∇p_i, χ⟩·Π_{j≠i} p_j``

is zero; the checker expands it over Z for every generator field (``LIMITS["log_law_work"]``
term products, counted before they are made). For independence, the gradient of ``h`` at
the independence point mod ``q`` is ``∇P0 + Σ_i c_i ∇p_i · p_i^{-1}``; a point where some
``p_i ≡ 0`` is refused.

Examples
--------
>>> u, v = Poly({((0, 1),): 1}), Poly({((1, 1),): 1})
>>> law = LogLaw(Poly({}), [(1, u), (-1, v)])          # u/v
>>> law_residue(law, {0: u, 1: v}, [2**20]) is None      # chi = u d/du + v d/dv: the ratio is conserved
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._polys import Field, Poly, inner
from ._schema import LIMITS, _fail, _list, _object, parse_poly

__all__ = ["LogLaw", "parse_log_laws", "law_residue", "gradient_row"]


class LogLaw:
    """``P0 + Σ c_i log p_i`` with integer ``c_i``."""

    def __init__(self, polynomial: Poly, logs: list[tuple[int, Poly]]) -> None:
        self.polynomial = polynomial
        self.logs = logs

    def to_str(self, names: Sequence[str]) -> str:
        parts = [f"{c}*log({p.to_str(list(names), max_terms=3)})" for c, p in self.logs]
        if self.polynomial:
            parts.append(self.polynomial.to_str(list(names), max_terms=3))
        return " + ".join(parts)


def parse_log_laws(x: Any, dim: int) -> list[LogLaw]:
    """Validate ``log_laws`` (``CertificateError`` at step ``schema``)."""
    _list(x, "log_laws", max_len=LIMITS["laws"])
    out = []
    for i, item in enumerate(x):
        where = f"log_laws[{i}]"
        _object(item, where, ("polynomial", "logs"))
        poly = parse_poly(item["polynomial"], f"{where}.polynomial", dim)
        _list(item["logs"], f"{where}.logs", max_len=64)
        if not item["logs"]:
            raise _fail(f"{where}.logs is empty: a law without logarithms is a polynomial law; list it in laws")
        logs = []
        for k, pair in enumerate(item["logs"]):
            _list(pair, f"{where}.logs[{k}]", length=2)
            c, p = pair
            if not isinstance(c, str) or not c.lstrip("-").isdigit() or len(c) > LIMITS["coefficient_digits"]:
                raise _fail(f"{where}.logs[{k}][0]: a coefficient is a decimal integer string such as \"-2\"")
            if int(c) == 0:
                raise _fail(f"{where}.logs[{k}][0]: a zero coefficient; drop the term")
            poly_p = parse_poly(p, f"{where}.logs[{k}][1]", dim)
            if not poly_p or not any(poly_p.terms.keys()) or len(poly_p.terms) == 1 and () in poly_p.terms:
                raise _fail(f"{where}.logs[{k}][1]: log of a constant; p must depend on the variables")
            logs.append((int(c), poly_p))
        out.append(LogLaw(poly, logs))
    return out


def _mul(a: Poly, b: Poly, budget: list[int]) -> Poly:
    budget[0] -= len(a) * len(b)
    if budget[0] < 0:
        raise ValueError("budget")
    return a * b


def law_residue(law: LogLaw, chi: Field, budget: list[int]) -> Poly | None:
    """The polynomial ``Π p_i ⟨∇P0, χ⟩ + Σ c_i ⟨∇p_i, χ⟩ Π_{j≠i} p_j`` when it is not zero, else None.

    ``budget`` (one-element list) is decreased by the term products; ``ValueError("budget")``
    before it would go negative.
    """
    ps = [p for _c, p in law.logs]
    total = Poly({})
    if law.polynomial:
        acc = inner(law.polynomial.gradient(), chi)
        for p in ps:
            acc = _mul(acc, p, budget)
        total = total + acc
    for i, (c, p) in enumerate(law.logs):
        acc = inner(p.gradient(), chi) * c
        for j, q in enumerate(ps):
            if j != i:
                acc = _mul(acc, q, budget)
        total = total + acc
    return total if total else None


def gradient_row(law: LogLaw, point: Sequence[int], q: int) -> dict[int, int] | None:
    """``∇h`` at ``point`` mod ``q`` as a sparse row, or None when some ``p_i(point) ≡ 0``."""
    row = {v: g % q for v, g in law.polynomial.reduce(q).gradient_at(point).items()} if law.polynomial else {}
    for c, p in law.logs:
        pr = p.reduce(q)
        value = pr.evaluate(point) % q
        if not value:
            return None
        scale = c * pow(value, -1, q) % q
        for v, g in pr.gradient_at(point).items():
            row[v] = (row.get(v, 0) + scale * g) % q
    return {v: g for v, g in row.items() if g}
