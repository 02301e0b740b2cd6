"""An independent brute-force count of conservation laws, with SymPy only (issue 16).

Nothing here imports flowlaws: the reparametrization ``φ`` is rebuilt from the
case's own description (polynomial coefficients, matrix products, path-lifting of
a graph enumerated path by path), the generator fields are the exact gradients
``∇φ_k`` (or the phase-space fields of the momentum and Nesterov flows) as SymPy
sparse polynomials over ZZ, and the Lie algebra they generate is built level by
level, ``L_{k+1} = [generators, L_k]`` (right-nested brackets span the algebra),
keeping every new field that is linearly independent *as a polynomial vector
over Q* (an exact echelon form on the coefficients, never a pruning at a point).
The trace dimension is the rank over Q of all kept fields evaluated at random
integer points (the largest rank seen), and the count is ``dim − rank``.

The answer is exact in two cases: the rank reaches ``dim``, or a level adds no
new field (``closed``: the Q-span of the kept fields is the whole Lie algebra,
whose generic rank the random points find unless they hit a proper
subvariety, which has probability ~0). Otherwise the depth cap was reached and
the rank is a lower bound (the count an upper bound); ``closed`` says which.

This module does not check that the case is small: callers keep ``dim`` small.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction
from typing import Any

__all__ = ["phi_of_case", "lie_count"]


# -- φ from the case description (no flowlaws) ------------------------------------------------
def _poly_phi(spec: dict, R, xs) -> list:
    out = []
    for coord in spec["coords"]:
        p = R.zero
        for coef, exps in coord:
            term = R(int(coef))
            for x, e in zip(xs, exps):
                term *= x ** int(e)
            p += term
        out.append(p)
    return out


def _graph_phi(nodes: list, edges: list, R, sym: dict) -> list:
    """Path-lifting of a DAG: one coordinate per (start, set of ReLU/leaky nodes, output).

    ``nodes``: ``[name, kind, activation]``; ``edges``: ``[u, v, attrs]`` with
    ``param`` (a name in ``sym``) or ``value`` (a fixed integer). Every bias node
    starts from the same constant 1.
    """
    kind = {n: k for n, k, _ in nodes}
    act = {n: a for n, _, a in nodes}
    out_edges: dict[str, list] = {n: [] for n, _, _ in nodes}
    for u, v, attrs in edges:
        w = sym[attrs["param"]] if "param" in attrs else R(int(attrs["value"]))
        out_edges[u].append((v, w))
    coords: dict[tuple, Any] = {}

    def walk(node, start, relus, prod):
        if kind[node] == "output":
            key = (start, relus, node)
            coords[key] = coords.get(key, R.zero) + prod
            return
        for v, w in out_edges[node]:
            r = relus | {v} if kind[v] == "hidden" and act[v] in ("relu", "leaky_relu") else relus
            walk(v, start, r, prod * w)

    for n, k, _ in nodes:
        if k in ("input", "bias"):
            walk(n, n if k == "input" else "1", frozenset(), R.one)
    return [coords[k] for k in sorted(coords, key=repr)]


def mlp_graph_spec(widths: list[int], activation: str, bias: bool) -> tuple[list, list, list[str]]:
    """Nodes, edges (every weight its own parameter) and parameter names of a dense MLP."""
    layers = [[f"n{i}_{j}" for j in range(w)] for i, w in enumerate(widths)]
    last = len(widths) - 1
    nodes = [[n, "input" if i == 0 else "output" if i == last else "hidden", activation if 0 < i < last else None]
             for i, layer in enumerate(layers) for n in layer]
    edges, names = [], []
    for i in range(1, len(widths)):
        srcs = list(layers[i - 1])
        if bias:
            nodes.append([f"b{i}", "bias", None])
            srcs.append(f"b{i}")
        for v in layers[i]:
            for u in srcs:
                name = f"w_{u}_{v}"
                names.append(name)
                edges.append([u, v, {"param": name}])
    return nodes, edges, names


def phi_of_case(spec: dict):
    """``(ring, variables, φ coordinates)`` of a corpus case, built without flowlaws."""
    from sympy import ZZ
    from sympy.polys.rings import ring

    fam = spec["family"]
    if fam == "poly":
        names = [f"x{i}" for i in range(spec["nvars"])]
    elif fam == "factorization":
        n, r, m = spec["n"], spec["r"], spec["m"]
        names = [f"u{i}_{k}" for i in range(n) for k in range(r)] + [f"v{j}_{k}" for j in range(m) for k in range(r)]
    elif fam == "symmetric_factorization":
        n, r = spec["n"], spec["r"]
        names = [f"u{i}_{k}" for i in range(n) for k in range(r)]
    elif fam == "mlp":
        nodes, edges, names = mlp_graph_spec(spec["widths"], spec["activation"], spec["bias"])
    elif fam == "dag":
        nodes, edges = spec["nodes"], spec["edges"]
        names = sorted({e[2]["param"] for e in edges if "param" in e[2]})
    else:
        raise ValueError(f"family={fam!r}: unknown")
    R, *xs = ring(",".join(names), ZZ)
    sym = dict(zip(names, xs))
    if fam == "poly":
        phi = _poly_phi(spec, R, xs)
    elif fam == "factorization":
        phi = [sum((sym[f"u{i}_{k}"] * sym[f"v{j}_{k}"] for k in range(r)), R.zero)
               for i in range(n) for j in range(m)]
    elif fam == "symmetric_factorization":
        phi = [sum((sym[f"u{i}_{k}"] * sym[f"u{j}_{k}"] for k in range(r)), R.zero)
               for i in range(n) for j in range(i, n)]
    else:
        phi = _graph_phi(nodes, edges, R, sym)
    return R, xs, phi


# -- fields and brackets ----------------------------------------------------------------------
def _fields(flow: str, phi: list, xs: list, R):
    """``(ring, coordinates, generator fields)`` of the flow's phase space."""
    grads = [tuple(p.diff(x) for x in xs) for p in phi]
    if flow == "gradient":
        return R, xs, grads
    from sympy import ZZ
    from sympy.polys.rings import ring

    D = len(xs)
    names = ["t_"] + [f"q{i}" for i in range(D)] + [f"p{i}" for i in range(D)]
    P, *zs = ring(",".join(names), ZZ)
    t, th, v = zs[0], zs[1:D + 1], zs[D + 1:]

    def lift(f):  # a polynomial in θ into the phase ring
        out = P.zero
        for mono, c in f.items():
            term = P(int(c))
            for y, e in zip(th, mono):
                term *= y ** e
            out += term
        return out

    if flow == "momentum":  # tau = 1: coordinates (s = e^t, θ, v); χ0 = (s, v, −v)
        chi0 = (t,) + tuple(v) + tuple(-y for y in v)
    elif flow == "nesterov":  # t·(1, v, −3v/t) = (t, t v, −3 v)
        chi0 = (t,) + tuple(t * y for y in v) + tuple(-3 * y for y in v)
    else:
        raise ValueError(f"flow={flow!r}: unknown")
    gens = [chi0] + [(P.zero,) * (D + 1) + tuple(lift(g) for g in grad) for grad in grads]
    return P, zs, gens


def _bracket(X, Y, zs):
    """``[X, Y] = DY·X − DX·Y`` component by component."""
    out = []
    for j in range(len(zs)):
        c = Y[0].ring.zero
        for i, z in enumerate(zs):
            if X[i]:
                c += X[i] * Y[j].diff(z)
            if Y[i]:
                c -= Y[i] * X[j].diff(z)
        out.append(c)
    return tuple(out)


class _Echelon:
    """Incremental row echelon over Q of sparse vectors ``{key: Fraction}`` (pivot = largest key)."""

    def __init__(self) -> None:
        self.rows: dict = {}

    def add(self, vec: dict) -> bool:
        v = {k: Fraction(c) for k, c in vec.items() if c}
        while v:
            k = max(v)
            row = self.rows.get(k)
            if row is None:
                inv = 1 / v[k]
                self.rows[k] = {key: c * inv for key, c in v.items()}
                return True
            f = v[k]
            for key, c in row.items():
                nv = v.get(key, 0) - f * c
                if nv:
                    v[key] = nv
                else:
                    v.pop(key, None)
        return False


def _coeff_vector(field) -> dict:
    return {(j, mono): int(c) for j, comp in enumerate(field) for mono, c in comp.items()}


def _value(f, point) -> Fraction:
    total = Fraction(0)
    for mono, c in f.items():
        term = Fraction(int(c))
        for x, e in zip(point, mono):
            if e:
                term *= x ** e
        total += term
    return total


def lie_count(spec: dict, flow: str, *, max_depth: int = 6, max_fields: int = 400, seconds: float = 60.0,
              points: int = 2, seed: int = 0) -> dict:
    """Brute-force count ``dim − rank`` of the Lie algebra generated by the flow's fields.

    Returns ``{"count", "rank", "dim", "closed", "depth", "fields", "exact", "seconds"}``;
    ``exact`` is True when the rank reached ``dim`` or the algebra closed.

    Examples
    --------
    >>> lie_count({"family": "symmetric_factorization", "n": 1, "r": 2}, "gradient")["count"]
    1
    """
    t0 = time.perf_counter()
    R, xs, phi = phi_of_case(spec)
    P, zs, gens = _fields(flow, phi, xs, R)
    dim = len(zs)
    rng = random.Random(seed)
    pts = [[Fraction(rng.choice([-1, 1]) * rng.randint(1, 10**6), rng.randint(1, 1000)) for _ in zs]
           for _ in range(points)]
    span = _Echelon()
    at = [_Echelon() for _ in pts]
    kept = 0
    level = []
    for g in gens:
        if any(g) and span.add(_coeff_vector(g)):
            level.append(g)
    generators = list(level)
    depth, closed, truncated = 1, False, False
    while True:
        kept += len(level)
        for e, p in zip(at, pts):
            for f in level:
                e.add({j: _value(c, p) for j, c in enumerate(f)})
        rank = max(len(e.rows) for e in at)
        if rank == dim or not level:
            closed = not level
            break
        if truncated or depth >= max_depth or kept >= max_fields or time.perf_counter() - t0 > seconds:
            break
        nxt = []
        for X in generators:
            for Z in level:
                if kept + len(nxt) >= max_fields or time.perf_counter() - t0 > seconds:
                    truncated = True  # a partial level still gives a lower bound of the rank
                    break
                B = _bracket(X, Z, zs)
                if any(B) and span.add(_coeff_vector(B)):
                    nxt.append(B)
            if truncated:
                break
        if truncated and not nxt:
            break
        level = nxt
        depth += 1
    return {"count": dim - rank, "rank": rank, "dim": dim, "closed": closed, "depth": depth, "fields": kept,
            "truncated": truncated, "exact": closed or rank == dim, "seconds": round(time.perf_counter() - t0, 4)}
