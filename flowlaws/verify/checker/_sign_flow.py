"""Steps ``sign_directions``, ``sign_laws`` and ``conclusion`` of a sign-GD / Adam-type certificate.

``docs/certificate-format.md``, "Sign-GD and Adam-type flows". With
``V(θ) = span{∇φ_i(θ)}`` (the gradients of all losses ``ℓ(φ)``), at the integer
point ``θ0``:

* ``flow = "sign"``: every ``x`` of ``directions`` must lie in ``V(θ0)`` (exact: rows of
  the gradients independent mod ``p`` are independent over Q, and coefficients
  reconstructed from a solution mod ``p`` must combine them into ``x`` exactly over Z)
  and have no zero entry except at the coordinates no ``φ_i`` depends on; then
  ``x = Σ c_i ∇φ_i(θ0)`` keeps its sign pattern near ``θ0`` (same ``c``), so ``sign(x)``
  is an update direction on a neighbourhood, and ``rank`` must be the rank of the
  ``sign(x)`` mod ``p = 2**61 − 1`` (a lower bound of their rank over Q):
  ``#laws ≤ D − rank``;
* ``flow = "adam"``: every coordinate ``a`` of ``directions`` has ``∂_a φ_i(θ0) ≠ 0``
  for some ``i``, so ``P x`` (``P`` positive diagonal) spans ``e_a`` near ``θ0``:
  ``#laws ≤ D − #directions``;
* laws: ``{"kind": "fixed", "a"}`` needs ``∂_a φ_i ≡ 0`` for every ``i`` (``θ_a`` never
  moves); ``{"kind": "parallel", "a", "b", "sign": ε}`` (sign-GD only) needs the
  rows ``R_a = (∂_a φ_i)_i`` and ``R_b`` proportional as polynomials
  (``R_a,j R_b,k − R_a,k R_b,j ≡ 0`` with ``k`` a coordinate where both are non-zero at
  ``θ0``) and ``ε = sign(R_a,k R_b,k)(θ0)``: on the cell around ``θ0`` where those two
  derivatives do not vanish ``sign(x_a) = ε sign(x_b)`` for every ``x ∈ V(θ)``, so the
  linear form ``σθ_a − εσθ_b`` is a law there; ``linear`` must be that form. Laws
  are independent by the rank of their coefficient vectors mod ``p``.

What it does not check: the ``region`` text (information), ``library`` and ``meta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ._model import parse_model, path_budget_problem
from ._polys import Poly
from ._schema import LIMITS, SCHEMA, _bool, _fail, _int, _list, _object

__all__ = ["check_sign_certificate", "rank_mod_p"]

_KEYS = ("schema", "dim", "variables", "model", "flow", "point", "directions", "rank", "laws", "region", "bounds",
         "count", "complete")
_OPTIONAL = ("library", "meta")
MAX_SIGN_DIM = 400              # dense eliminations mod p and exact checks: D columns ...
MAX_SIGN_ENTRIES = 2_000_000    # ... and (coordinates of phi) x D gradient entries


_P = 2**61 - 1  # a prime: ranks mod p are lower bounds of ranks over Q


def rank_mod_p(rows: list[list[int]], p: int = _P) -> int:
    """Rank mod ``p`` of integer rows (a lower bound of the rank over Q).

    >>> rank_mod_p([[1, 1], [1, -1], [2, 0]])
    2
    """
    return len(_independent_mod_p(rows, p)[0])


def _independent_mod_p(rows: list[list[int]], p: int) -> tuple[list[int], list[int]]:
    """Indices of rows independent mod ``p`` (hence over Q) spanning the others mod ``p``, and their pivot columns."""
    basis: list[tuple[int, list[int]]] = []   # (pivot, row with row[pivot] = 1 mod p)
    chosen, pivots = [], []
    width = len(rows[0]) if rows else 0
    for k, row in enumerate(rows):
        v = [x % p for x in row]
        for j, b in basis:
            if v[j]:
                f = v[j]
                v = [(x - f * y) % p for x, y in zip(v, b)]
        j = next((i for i, x in enumerate(v) if x), None)
        if j is not None:
            inv = pow(v[j], -1, p)
            basis.append((j, [x * inv % p for x in v]))
            chosen.append(k)
            pivots.append(j)
            if len(basis) == width:
                break
    return chosen, pivots


def _reconstruct(a: int, p: int) -> Fraction | None:
    """The fraction ``n/d`` with ``|n|, d < sqrt(p/2)`` and ``n ≡ a d`` mod ``p``, if any."""
    bound = math.isqrt(p // 2)
    r0, r1, t0, t1 = p, a % p, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1, t0, t1 = r1, r0 - q * r1, t1, t0 - q * t1
    if t1 == 0 or abs(t1) > bound:
        return None
    return Fraction(r1, t1)


class _Span:
    """Membership in the span over Q of integer rows: exact, fast when a solution has small height.

    Rows independent mod ``p`` are independent over Q; a vector ``x`` is in their span when
    coefficients reconstructed from a solution mod ``p`` combine them into ``x`` exactly over Z
    (else an exact rank over Q with ``x`` decides).
    """

    def __init__(self, rows: list[list[int]], p: int = _P) -> None:
        self.p = p
        chosen, self.cols = _independent_mod_p(rows, p)
        self.rows = [rows[k] for k in chosen]
        r = len(self.rows)
        # inverse mod p of the r×r matrix M[i][k] = rows[k][cols[i]] (solves Σ_k c_k rows[k][cols] = x[cols])
        M = [[self.rows[k][self.cols[i]] % p for k in range(r)] + [int(i == j) for j in range(r)] for i in range(r)]
        for c in range(r):
            piv = next(i for i in range(c, r) if M[i][c])
            M[c], M[piv] = M[piv], M[c]
            inv = pow(M[c][c], -1, p)
            M[c] = [x * inv % p for x in M[c]]
            for i in range(r):
                if i != c and M[i][c]:
                    f = M[i][c]
                    M[i] = [(x - f * y) % p for x, y in zip(M[i], M[c])]
        self.inverse = [row[r:] for row in M]

    def contains(self, x: list[int]) -> bool:
        p, r = self.p, len(self.rows)
        rhs = [x[j] % p for j in self.cols]
        coeffs = [_reconstruct(sum(a * b for a, b in zip(row, rhs)) % p, p) for row in self.inverse]
        if all(c is not None for c in coeffs):
            L = math.lcm(*(c.denominator for c in coeffs)) if coeffs else 1
            ints = [int(c * L) for c in coeffs]
            if all(sum(ints[k] * self.rows[k][j] for k in range(r)) == L * x[j] for j in range(len(x))):
                return True
        return _rank_q(self.rows + [x]) == r


def _rank_q(rows: list[list[int]]) -> int:
    """Exact rank over Q (fractions; the slow fallback)."""
    basis: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        v = [Fraction(x) for x in row]
        for j, b in basis:
            if v[j]:
                f = v[j] / b[j]
                v = [x - f * y for x, y in zip(v, b)]
        j = next((i for i, x in enumerate(v) if x), None)
        if j is not None:
            basis.append((j, v))
    return len(basis)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def check_sign_certificate(cert: Mapping[str, Any]) -> dict[str, Any]:
    """Check a ``"sign"`` or ``"adam"`` certificate; the report has the keys of ``check_certificate``'s."""
    steps: list[dict[str, str]] = []
    _object(cert, "certificate", _KEYS, _OPTIONAL)
    if cert["schema"] != SCHEMA:
        raise _fail(f"schema={cert['schema']!r}: expected {SCHEMA!r}")
    flow = _object(cert["flow"], "flow", ("name",))["name"]
    D = _int(cert["dim"], "dim", lo=1, hi=LIMITS["dim"])
    model = parse_model(cert["model"], D)
    why = path_budget_problem(model)
    if why:
        raise _fail(f"the sign-flow check expands phi: {why}", "generators")
    point = [_int(v, f"point[{j}]", lo=-(2**62), hi=2**62) for j, v in enumerate(_list(cert["point"], "point", length=D))]
    coordinates = model.coordinates()
    if D > MAX_SIGN_DIM or len(coordinates) * D > MAX_SIGN_ENTRIES:
        raise _fail(f"the sign-flow check works on dense exact matrices: D={D} and {len(coordinates)} coordinates of phi "
                    f"exceed MAX_SIGN_DIM={MAX_SIGN_DIM} or MAX_SIGN_ENTRIES={MAX_SIGN_ENTRIES}", "generators")
    rows = [(phi, phi.gradient()) for _, phi in coordinates]
    G = [[grad[a].evaluate(point) if a in grad else 0 for a in range(D)] for _, grad in rows]
    fixed = {a for a in range(D) if not any(a in grad for _, grad in rows)}
    directions = _list(cert["directions"], "directions", max_len=D)
    if flow == "sign":
        span = _Span(G)
        signs = []
        for k, x in enumerate(directions):
            x = [_int(v, f"directions[{k}][{j}]", lo=-(2**200), hi=2**200) for j, v in enumerate(_list(x, f"directions[{k}]", length=D))]
            zero = [a for a in range(D) if x[a] == 0 and a not in fixed]
            if zero:
                raise _fail(f"directions[{k}] has a zero entry at parameter {zero[0]}: its sign may change near the point",
                            "sign_directions")
            if not span.contains(x):
                raise _fail(f"directions[{k}] is not in the span of the gradients of phi at the point", "sign_directions")
            signs.append([_sign(v) for v in x])
        rank = rank_mod_p(signs)  # a lower bound of the rank over Q: the upper bound D − rank stays proved
    else:
        moving = [_int(a, f"directions[{k}]", lo=0, hi=D - 1) for k, a in enumerate(directions)]
        if len(set(moving)) != len(moving):
            raise _fail("directions: a coordinate is listed twice", "sign_directions")
        for a in moving:
            if not any(row[a] for row in G):
                raise _fail(f"directions: no derivative of phi along parameter {a} is non-zero at the point", "sign_directions")
        rank = len(moving)
    if _int(cert["rank"], "rank", lo=0, hi=D) != rank:
        raise _fail(f"rank={cert['rank']} but the directions have rank {rank} (mod 2**61 - 1)", "sign_directions")
    steps.append({"step": "sign_directions", "detail": f"{len(directions)} directions, rank {rank} over Q near the point"})
    vectors = []
    for k, law in enumerate(_list(cert["laws"], "laws", max_len=D)):
        vectors.append(_check_law(law, f"laws[{k}]", flow, rows, G, point, fixed, D))
    if rank_mod_p(vectors) != len(vectors):
        raise _fail(f"the {len(vectors)} laws are not independent (their linear forms have a smaller rank)", "sign_laws")
    steps.append({"step": "sign_laws", "detail": f"{len(vectors)} linear laws, exact on the cell around the point"})
    lower, upper = len(vectors), D - rank
    bounds = _object(cert["bounds"], "bounds", ("lower", "upper"))
    if (bounds["lower"], bounds["upper"], cert["count"]) != (lower, upper, upper) or \
            _bool(cert["complete"], "complete") != (lower == upper):
        raise _fail(f"bounds/count/complete do not match the proof: lower {lower}, upper {upper}", "conclusion")
    steps.append({"step": "conclusion", "detail": f"{lower} <= count <= {upper} near the point"})
    return {"proved": {"upper_bound": upper, "lower_bound": lower, "exact": lower == upper}, "frobenius": False,
            "flow": {"name": flow}, "count": upper, "dim": D, "rank": rank, "laws": lower, "complete": lower == upper,
            "steps": steps, "seconds": {}, "routes": {"words": "sign", "laws": "linear"}}


def _check_law(law: Any, where: str, flow: str, rows: list, G: list[list[int]], point: list[int], fixed: set[int],
               D: int) -> list[int]:
    kind = law.get("kind") if isinstance(law, Mapping) else None
    if kind == "fixed":
        _object(law, where, ("kind", "a"))
        a = _int(law["a"], f"{where}.a", lo=0, hi=D - 1)
        if a not in fixed:
            raise _fail(f"{where}: phi depends on parameter {a}, so it moves", "sign_laws")
        return [1 if j == a else 0 for j in range(D)]
    if kind != "parallel" or flow != "sign":
        raise _fail(f"{where}.kind: {kind!r} is not 'fixed'{' or parallel' if flow == 'sign' else ''}", "sign_laws")
    _object(law, where, ("kind", "a", "b", "sign", "linear"))
    a, b = (_int(law[k], f"{where}.{k}", lo=0, hi=D - 1) for k in ("a", "b"))
    eps = _int(law["sign"], f"{where}.sign", lo=-1, hi=1)
    k = next((i for i, row in enumerate(G) if row[a] and row[b]), None)
    if a == b or k is None:
        raise _fail(f"{where}: no coordinate of phi has non-zero derivatives along parameters {a} and {b} at the point", "sign_laws")
    zero = Poly({})
    ga, gb = rows[k][1][a], rows[k][1][b]
    for j, (_, grad) in enumerate(rows):
        if grad.get(a, zero) * gb != ga * grad.get(b, zero):
            raise _fail(f"{where}: the derivatives along parameters {a} and {b} are not proportional (coordinate {j})", "sign_laws")
    if eps != _sign(G[k][a] * G[k][b]):
        raise _fail(f"{where}.sign={eps} but parameters {a} and {b} move with sign {_sign(G[k][a] * G[k][b])} relative "
                    "to each other near the point", "sign_laws")
    sa = _sign(point[a]) or 1
    if law["linear"] != [[a, sa], [b, -eps * sa]]:
        raise _fail(f"{where}.linear must be {[[a, sa], [b, -eps * sa]]} (sign(theta0_a)*(theta_a - sign*theta_b))", "sign_laws")
    return [sa if j == a else (-eps * sa if j == b else 0) for j in range(D)]
