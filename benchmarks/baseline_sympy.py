"""Baseline: the papers' algorithm written with SymPy, as a user would without flowlaws (issue 7).

* φ is taken as SymPy expressions (``model.phi``, the path-lifting) and its
  symbolic Jacobian gives the generators ``∇φ_i``;
* ``W_{k+1} = span(W_k ∪ [W_k, W_k])``: all pairs of the fields of a basis of
  ``W_k`` are bracketed symbolically, ``[X, Y] = DY·X − DX·Y`` (SymPy Jacobians,
  expanded);
* the fields are evaluated at a random rational point and the rank over Q is
  computed exactly (``Matrix.rank``); a basis of ``W_{k+1}`` at the point is
  picked from the pivots of ``Matrix.rref`` (a field dependent at a generic
  point is a combination of the basis with rational-function coefficients, so
  its brackets add nothing new);
* the iteration stops when the rank at the point stops growing; the count is
  ``D − rank``.

Uncertified (one random point, no laws exhibited): a speed baseline only.

Usage::

    python benchmarks/baseline_sympy.py relu:3x3x3 linear:2x2x2 --timeout 120
"""

from __future__ import annotations

import argparse
import os
import random
import sys

import sympy
from sympy import Matrix, Rational


def bracket(X: Matrix, Y: Matrix, syms) -> Matrix:
    """``[X, Y] = DY·X − DX·Y`` of two symbolic vector fields (column matrices)."""
    return (Y.jacobian(syms) * X - X.jacobian(syms) * Y).expand()


def _at(field: Matrix, point: dict) -> Matrix:
    return field.xreplace(point)


def count(model, *, seed: int = 0, max_depth: int = 64) -> dict:
    """The number of laws of ``model`` under gradient flow (uncertified)."""
    syms = [sympy.Symbol(v) for v in model.variables]
    D = len(syms)
    phi = Matrix(model.phi)
    jac = phi.jacobian(syms)  # row i is ∇φ_i
    fields = [jac.row(i).T for i in range(jac.rows)]
    fields = [f for f in fields if any(c != 0 for c in f)]
    rng = random.Random(seed)
    point = {s: Rational(rng.choice([-1, 1]) * rng.randint(1, 97), rng.randint(1, 97)) for s in syms}

    # basis of W_0 at the point
    values = Matrix.hstack(*[_at(f, point) for f in fields])
    _, pivots = values.rref()
    basis = [fields[j] for j in pivots]
    basis_values = [values.col(j) for j in pivots]
    rank = values.rank()
    new = list(range(len(basis)))  # indices of the basis fields added at the last level
    depth = 0
    while new and rank < D and depth < max_depth:
        depth += 1
        fresh = set(new)
        candidates = [
            bracket(basis[i], basis[j], syms)
            for i in range(len(basis)) for j in range(i + 1, len(basis))
            if i in fresh or j in fresh
        ]
        cand_values = [_at(c, point) for c in candidates]
        stacked = Matrix.hstack(*basis_values, *cand_values)
        new_rank = stacked.rank()
        if new_rank == rank:
            break
        _, pivots = stacked.rref()
        r0 = len(basis)
        new = []
        for j in pivots[r0:]:  # the basis columns come first and are independent: pivots 0..r0-1
            new.append(len(basis))
            basis.append(candidates[j - r0])
            basis_values.append(cand_values[j - r0])
        rank = new_rank
    return {"dim": D, "rank": rank, "count": D - rank, "depth": depth}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _harness import describe, run_cases

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="+", help="spec strings, e.g. relu:3x3x3")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default 120)")
    args = ap.parse_args(argv)
    cases = [{"spec": s, "flow": "gradient"} for s in args.specs]
    for case, res in zip(cases, run_cases("sympy", cases, timeout=args.timeout)):
        print(f"{case['spec']:24s} {describe(res, args.timeout)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
