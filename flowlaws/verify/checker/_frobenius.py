"""The Frobenius step: the count proved without listing every law (issue 16).

A certificate may carry ``"frobenius": {"q": POLY, "generators": [[POLY × r], ...],
"brackets": [[POLY × r], ...]}``, with ``r = rank.value = len(rank.words)``. Write
``Y_1..Y_r`` for the fields of the rank words (brackets of the generators, so in
the generated Lie algebra) and ``Z`` for a generator field (index ``k`` of
:func:`~._flows.law_fields`: the coordinate fields, and ``χ_0`` first for a flow
with a drift) or a bracket ``[Y_i, Y_j]`` (pairs ``i < j`` in lexicographic
order). The checker verifies, exactly over Z,

    ``q·Z = Σ_l p_l·Y_l``  (every component)

with the listed ``p_l``, and that ``q`` is not the zero polynomial. On the dense
open set where ``q ≠ 0`` and the ``Y`` are independent (the rank step shows the
``Y`` are independent at a point, so that set is not empty), the ``Y`` span an
involutive rank-``r`` distribution that contains every generator; so the Lie
algebra has rank exactly ``r`` there, and by Frobenius' theorem there are exactly
``dim − r`` independent local conservation laws, polynomial or not: the count is
proved even when fewer explicit laws are listed.

Work: the words' fields are built within ``LIMITS["bracket_work"]`` and the
identities within ``LIMITS["frobenius_work"]`` term products, both counted before
the products are made.

Examples
--------
>>> x = Poly({((0, 1),): 1})
>>> identity_residue(Poly({(): 1}), {0: x}, [Poly({(): 1})], [{0: x}])
{}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._polys import Field, Poly, WorkLimitExceeded, bracket_field, bracket_work, mul_add_into
from ._schema import LIMITS, _fail, _list, _object, parse_poly

__all__ = ["FrobeniusClaim", "parse_frobenius", "word_fields", "identity_residue", "check_frobenius"]


class FrobeniusClaim:
    """The parsed ``frobenius`` object: ``q`` and the coefficient lists of every target."""

    def __init__(self, q: Poly, generators: list[list[Poly]], brackets: list[list[Poly]]) -> None:
        self.q = q
        self.generators = generators
        self.brackets = brackets


def parse_frobenius(x: Any, dim: int, r: int) -> FrobeniusClaim:
    """Validate the ``frobenius`` object's shape (``CertificateError`` at step ``schema``)."""
    _object(x, "frobenius", ("q", "generators", "brackets"), ())
    terms = [0]

    def poly(v: Any, where: str) -> Poly:
        h = parse_poly(v, where, dim)
        terms[0] += len(h)
        if terms[0] > LIMITS["terms_total"]:
            raise _fail(f"{where}: the frobenius polynomials have more than {LIMITS['terms_total']} terms")
        return h

    def rows(v: Any, where: str, count: int | None) -> list[list[Poly]]:
        _list(v, where, length=count, max_len=LIMITS["words"] ** 2)
        out = []
        for i, row in enumerate(v):
            _list(row, f"{where}[{i}]", length=r)
            out.append([poly(h, f"{where}[{i}][{l}]") for l, h in enumerate(row)])
        return out

    q = poly(x["q"], "frobenius.q")
    if not q:
        raise _fail("frobenius.q is the zero polynomial; the identities q*Z = sum p_l*Y_l need q != 0")
    return FrobeniusClaim(q, rows(x["generators"], "frobenius.generators", None),
                          rows(x["brackets"], "frobenius.brackets", r * (r - 1) // 2))


def word_fields(words: Sequence[Any], leaves: Mapping[int, Field], max_work: int) -> list[Field]:
    """Exact polynomial fields of bracket words over Z (leaf ``k`` is ``leaves[k]``).

    Raises :class:`~._polys.WorkLimitExceeded` before a bracket that would take the
    term products past ``max_work``.
    """
    memo: dict[Any, Field] = {}
    work = [0]

    def field(w: Any) -> Field:
        if isinstance(w, int):
            return leaves[w]
        key = repr(w)
        if key not in memo:
            u, v = field(w[0]), field(w[1])
            work[0] += bracket_work(u, v)
            if work[0] > max_work:
                raise WorkLimitExceeded(f"the words' brackets need more than {max_work} term products")
            memo[key] = bracket_field(u, v, None)
        return memo[key]

    return [field(w) for w in words]


def identity_residue(q: Poly, Z: Field, p: Sequence[Poly], Y: Sequence[Field], budget: list[int] | None = None) -> Field:
    """``q·Z − Σ_l p_l·Y_l`` over Z, its non-zero components only (``{}`` when the identity holds).

    ``budget`` (a one-element list) is decreased by the term products before they
    are made; :class:`~._polys.WorkLimitExceeded` when it would go below zero.
    """
    out: Field = {}
    for var in sorted(set(Z).union(*(set(y) for y in Y))):
        parts = [(q, Z.get(var), 1)] + [(pl, y.get(var), -1) for pl, y in zip(p, Y)]
        cost = sum(len(a) * len(b) for a, b, _ in parts if b is not None)
        if budget is not None:
            budget[0] -= cost
            if budget[0] < 0:
                raise WorkLimitExceeded("the identities need more term products than allowed")
        acc: dict = {}
        for a, b, sign in parts:
            if b is None or not a or not b:
                continue
            for m, c in a.terms.items():
                mul_add_into(acc, b.terms, m, sign * c, None)
        if acc:
            out[var] = Poly(acc)
    return out


def check_frobenius(claim: FrobeniusClaim, words: Sequence[Any], fields: Sequence[tuple[int, str, Field]],
                    names: Sequence[str]) -> str:
    """Verify every identity of ``claim`` (``CertificateError`` at step ``frobenius``); returns the step's detail."""
    leaves = {index: chi for index, _label, chi in fields}
    if len(claim.generators) != len(fields):
        raise _fail(f"frobenius.generators has {len(claim.generators)} rows but the flow has {len(fields)} generator "
                    "fields (one row per field, in the order of the word leaves)", "frobenius")
    try:
        Y = word_fields(words, leaves, LIMITS["bracket_work"])
    except WorkLimitExceeded as err:
        raise _fail(f"the rank words' fields are not built: {err} (LIMITS['bracket_work'])", "frobenius") from None
    budget = [LIMITS["frobenius_work"]]
    targets: list[tuple[str, Field, list[Poly]]] = [
        (label, chi, claim.generators[i]) for i, (_index, label, chi) in enumerate(fields)
    ]
    pairs = [(i, j) for i in range(len(Y)) for j in range(i + 1, len(Y))]
    try:
        for (i, j), p in zip(pairs, claim.brackets):
            work = bracket_work(Y[i], Y[j])
            budget[0] -= work
            if budget[0] < 0:
                raise WorkLimitExceeded("the brackets [Y_i, Y_j] need more term products than allowed")
            targets.append((f"[Y_{i}, Y_{j}]", bracket_field(Y[i], Y[j], None), p))
        for label, Z, p in targets:
            residue = identity_residue(claim.q, Z, p, Y, budget)
            if residue:
                var = min(residue)
                shown = residue[var].to_str(list(names), max_terms=4)
                raise _fail(f"q*Z - sum p_l*Y_l is not 0 for Z = {label}: component {names[var]} is {shown}",
                            "frobenius")
    except WorkLimitExceeded as err:
        raise _fail(f"{err} (LIMITS['frobenius_work'] = {LIMITS['frobenius_work']})", "frobenius") from None
    return (f"q*Z = sum p_l*Y_l over Z for the {len(fields)} generator fields and the {len(pairs)} brackets "
            f"[Y_i, Y_j] of the {len(Y)} rank words, q != 0: the generated algebra has rank exactly {len(Y)} "
            "on a dense open set (Frobenius)")
