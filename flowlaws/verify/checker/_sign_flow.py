"""Steps ``sign_directions``, ``sign_laws`` and ``conclusion`` of a sign-GD / Adam-type certificate.

``docs/certificate-format.md``, "Sign-GD and Adam-type flows". With
``V(θ) = span{∇φ_i(θ)}`` (the gradients of all losses ``ℓ(φ)``), at the integer
point ``θ0``:

* ``flow = "sign"``: every ``x`` of ``directions`` must lie in ``V(θ0)`` (exact
  rank over Q of the integer gradients with and without ``x``) and have no zero
  entry except at the coordinates no ``φ_i`` depends on; then ``x = Σ c_i ∇φ_i(θ0)``
  keeps its sign pattern near ``θ0`` (same ``c``), so ``sign(x)`` is an update
  direction on a neighbourhood and ``rank = rank_Q{sign(x)}`` gives
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
  are independent by the exact rank of their coefficient vectors.

What it does not check: the ``region`` text (information), ``library`` and ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ._model import parse_model, path_budget_problem
from ._polys import Poly
from ._schema import LIMITS, SCHEMA, _bool, _fail, _int, _list, _object

__all__ = ["check_sign_certificate", "rank_q"]

_KEYS = ("schema", "dim", "variables", "model", "flow", "point", "directions", "rank", "laws", "region", "bounds",
         "count", "complete")
_OPTIONAL = ("library", "meta")


def rank_q(rows: list[list[int]]) -> int:
    """Exact rank over Q of integer rows.

    >>> rank_q([[1, 1], [1, -1], [2, 0]])
    2
    """
    pivots: list[tuple[int, list[Fraction]]] = []
    for row in rows:
        v = [Fraction(x) for x in row]
        for j, b in pivots:
            if v[j]:
                f = v[j] / b[j]
                v = [x - f * y for x, y in zip(v, b)]
        j = next((i for i, x in enumerate(v) if x), None)
        if j is not None:
            pivots.append((j, v))
    return len(pivots)


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
    rows = [(phi, phi.gradient()) for _, phi in model.coordinates()]
    G = [[grad[a].evaluate(point) if a in grad else 0 for a in range(D)] for _, grad in rows]
    fixed = {a for a in range(D) if not any(a in grad for _, grad in rows)}
    directions = _list(cert["directions"], "directions", max_len=D)
    if flow == "sign":
        base = rank_q(G)
        signs = []
        for k, x in enumerate(directions):
            x = [_int(v, f"directions[{k}][{j}]", lo=-(2**200), hi=2**200) for j, v in enumerate(_list(x, f"directions[{k}]", length=D))]
            zero = [a for a in range(D) if x[a] == 0 and a not in fixed]
            if zero:
                raise _fail(f"directions[{k}] has a zero entry at parameter {zero[0]}: its sign may change near the point",
                            "sign_directions")
            if rank_q(G + [x]) != base:
                raise _fail(f"directions[{k}] is not in the span of the gradients of phi at the point", "sign_directions")
            signs.append([_sign(v) for v in x])
        rank = rank_q(signs)
    else:
        moving = [_int(a, f"directions[{k}]", lo=0, hi=D - 1) for k, a in enumerate(directions)]
        if len(set(moving)) != len(moving):
            raise _fail("directions: a coordinate is listed twice", "sign_directions")
        for a in moving:
            if not any(row[a] for row in G):
                raise _fail(f"directions: no derivative of phi along parameter {a} is non-zero at the point", "sign_directions")
        rank = len(moving)
    if _int(cert["rank"], "rank", lo=0, hi=D) != rank:
        raise _fail(f"rank={cert['rank']} but the directions have rank {rank} over Q", "sign_directions")
    steps.append({"step": "sign_directions", "detail": f"{len(directions)} directions, rank {rank} over Q near the point"})
    vectors = []
    for k, law in enumerate(_list(cert["laws"], "laws", max_len=D)):
        vectors.append(_check_law(law, f"laws[{k}]", flow, rows, G, point, fixed, D))
    if rank_q(vectors) != len(vectors):
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
