r"""Exact, local check that a law is conserved by a ``"graph"`` model's flow, without expanding paths.

The DAG counterpart of :mod:`._local_laws`. A law ``h`` must satisfy
``Σ_j X_j ∂φ_key/∂θ_j ≡ 0`` for every key of the path-lifting, with the
field ``X_j = w_j ∂h/∂x_{c(j)}`` on the parameters (``_local_laws._pairing_field``:
``c(j)``, ``w_j`` depend on the flow and metric). Let ``S`` be the parameters
with ``X_j ≠ 0`` and call an edge carrying one an *S-edge*.

The argument
------------
A path of φ without S-edge has derivative 0 along ``X``. Any other path ``π``
splits at the tail ``u`` of its first S-edge and the head ``w`` of its last
one: ``π = α · σ · β`` with ``α`` (start to ``u``) and ``β`` (``w`` to the output)
free of S-edges. Nodes of a path are increasing, so the relu-like nodes of
the key split by index into those ``≤ u`` (in ``α``), those strictly between
``u`` and ``w`` (the *gates* ``g`` of ``σ``) and those ``≥ w`` (in ``β``). Hence::

    φ_key = Σ_{u, w} A_{key,u} · P_{u,w,g} · B_{key,w} + (terms free of S)

where ``A`` (``B``) sums the S-free prefixes (suffixes) with the key's gates,
and ``P_{u,w,g}`` the segments ``u → w`` that begin and end with an S-edge and
cross exactly the relu-like nodes ``g`` strictly inside (all other weights,
trainable or frozen, are in ``P``). ``A`` and ``B`` hold no S parameter, so
``Σ_j X_j ∂φ_key/∂θ_j = Σ A · B · ⟨X, ∇P_{u,w,g}⟩`` and it suffices that
``⟨X, ∇P_{u,w,g}⟩ ≡ 0`` whenever ``A_{·,u}`` and ``B_{·,w}`` can be non-zero:
``u`` is reached from a start by an S-free path, ``w`` reaches an output by
one (only nodes on start-to-output paths are used).

Bias nodes all carry the constant 1, so the key cannot tell them apart: for a
bias node ``u`` (a start, ``α`` empty) ``A = 1`` exactly when the key has no
gate before ``u``, and for fixed ``(key, w)`` the sum over bias nodes ``u`` of
``P_{u,w,g}`` with ``g = key ∩ (u, w)`` is ``Σ_u P_{u,w,g}`` for the one ``g =``
key's gates below ``w`` (a segment from ``u`` cannot cross gates below ``u``).
So all bias nodes share one entry symbol.

The checker builds every ``P`` at once: symbols ``α_u`` for the entries (one
``α`` for all bias nodes) and ``γ_v`` for the relu-like nodes, and over the
nodes in topological order::

    Q(x)  = Σ_{e = (y → x)} t_e · ([e ∈ S] α_y + γ_y Q(y))
    Y_w   = Σ_{e = (y → w) ∈ S} t_e · (α_y + γ_y Q(y))

(``t_e`` the edge's parameter or frozen rational, ``γ_y = 1`` unless ``y`` is
relu-like, ``α_y = 0`` unless ``y`` is an admissible entry). Distinct
``(u, g)`` give distinct monomials ``α_u γ^g``, so the condition is
``Ẏ_w ≡ 0`` (the derivative along ``X``, forward mode) for every admissible
``w``, an identity over Q checked exactly. ``Q`` is only built on the nodes
between the heads and the tails of S-edges, within a term budget.

What this module does not check: the drift condition (``_local_laws.drift_residual``).
A law that fails the condition is only *not proved* conserved.

Examples
--------
>>> from flowlaws.verify.checker._graph import parse_graph
>>> from flowlaws.verify.checker._polys import Poly
>>> g = parse_graph({"kind": "graph", "nodes": [["input"], ["input"], ["hidden", "relu"], ["output"]],
...                  "edges": [[0, 2, 0], [1, 2, 1], [2, 3, 2], [0, 3, "1/2"]]}, 3)
>>> w = [Poly.variable(j) for j in range(3)]
>>> graph_local_residual(g, FlowSpec("gradient"), w[0] * w[0] + w[1] * w[1] - w[2] * w[2]) is None
True
>>> graph_local_residual(g, FlowSpec("gradient"), w[0] * w[0] - w[2] * w[2]) is not None
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ._flows import FlowSpec
from ._graph import Graph
from ._local_laws import TERM_LIMIT, LocalBudgetExceeded, _pairing_field
from ._polys import Monomial, Poly, mono_mul

__all__ = ["graph_local_residual"]

Terms = dict[Monomial, Any]


def _add_scaled(out: Terms, terms: Terms, mono: Monomial, coef: Any) -> None:
    """``out += coef · mono · terms``."""
    if not coef:
        return
    for m, c in terms.items():
        mm = mono_mul(m, mono) if mono else m
        v = out.get(mm, 0) + c * coef
        if v:
            out[mm] = v
        else:
            out.pop(mm, None)


def _add_product(out: Terms, a: Terms, b: Terms) -> None:
    """``out += a · b``."""
    for m2, c2 in b.items():
        _add_scaled(out, a, m2, c2)


def _reach(g: Graph, nodes: set[int], S: set[int], forward: bool, memo: dict[int, bool]) -> None:
    """``memo[v]`` for ``v`` in ``nodes``: an S-free path joins ``v`` to an output (``forward``) or a start."""
    for root in nodes:
        if root in memo:
            continue
        stack = [root]
        seen = {root}
        found = False
        while stack and not found:
            v = stack.pop()
            if memo.get(v) or (g.kinds[v] == "output" if forward else g.is_start(v)):
                found = True
                break
            for e in g.out_edges[v] if forward else g.in_edges[v]:
                if g.param[e] in S:
                    continue
                y = g.dst[e] if forward else g.src[e]
                if g.alive[y] and y not in seen and memo.get(y) is not False:
                    seen.add(y)
                    stack.append(y)
        if found:
            memo[root] = True
        else:
            for v in seen:  # nothing reachable from any of them
                memo[v] = False


def graph_local_residual(g: Graph, flow: FlowSpec, h: Poly, names: list[str] | None = None) -> str | None:
    """``None`` if the law ``h`` passes the local condition, else a description of a failing identity.

    Raises
    ------
    LocalBudgetExceeded
        If the segments between the law's S-edges have too many terms to build.
    """
    X = _pairing_field(g, flow, h)  # type: ignore[arg-type]  # uses g.dim only
    if not X:
        return None
    S = set(X)
    shift = 1 if flow.has_drift else 0
    base = flow.dim(g.dim)
    alpha_bias = base
    s_edges = [e for e in range(g.E) if g.param[e] in S and g.alive[g.src[e]] and g.alive[g.dst[e]]] \
        if len(S) * 64 > g.E else _edges_of(g, S)
    if not s_edges:
        return None
    tails = {g.src[e] for e in s_edges}
    heads = {g.dst[e] for e in s_edges}
    entry: dict[int, bool] = {}
    _reach(g, tails, S, False, entry)
    exit_: dict[int, bool] = {}
    _reach(g, heads, S, True, exit_)
    hi = max(tails)
    # nodes x with a segment into them (reachable from a head) that can still reach a tail
    fwd: set[int] = set()
    stack = [v for v in heads if v <= hi]
    fwd.update(stack)
    while stack:
        v = stack.pop()
        for e in g.out_edges[v]:
            y = g.dst[e]
            if y <= hi and g.alive[y] and y not in fwd:
                fwd.add(y)
                stack.append(y)
    mid: set[int] = set()
    stack = [v for v in tails if v in fwd]
    mid.update(stack)
    while stack:
        v = stack.pop()
        for e in g.in_edges[v]:
            y = g.src[e]
            if y in fwd and y not in mid:
                mid.add(y)
                stack.append(y)

    def alpha(y: int) -> Terms:
        if not entry.get(y):
            return {}
        return {((alpha_bias if g.kinds[y] == "bias" else base + 1 + y, 1),): 1}

    def gate(y: int) -> Monomial:
        return ((base + 1 + g.n + y, 1),) if g.gated[y] else ()

    def weight(e: int) -> tuple[Monomial, Any]:
        j = g.param[e]
        if j >= 0:
            return ((shift + j, 1),), 1
        v = g.value[e]
        assert v is not None
        return (), (v.numerator if v.denominator == 1 else v)

    Q: dict[int, Terms] = {}
    dQ: dict[int, Terms] = {}
    size = 0

    def incoming(y: int, e: int) -> tuple[Terms, Terms]:
        """``([e ∈ S] α_y + γ_y Q(y), γ_y dQ(y))`` for an edge out of ``y``."""
        val: Terms = dict(alpha(y)) if g.param[e] in S else {}
        gm = gate(y)
        _add_scaled(val, Q.get(y, {}), gm, 1)
        dval: Terms = {}
        _add_scaled(dval, dQ.get(y, {}), gm, 1)
        return val, dval

    for x in sorted(mid):
        q: Terms = {}
        dq: Terms = {}
        for e in g.in_edges[x]:
            y = g.src[e]
            if not g.alive[y] or (y not in mid and g.param[e] not in S):
                continue
            val, dval = incoming(y, e)
            mono, coef = weight(e)
            _add_scaled(q, val, mono, coef)
            _add_scaled(dq, dval, mono, coef)
            if g.param[e] in S:
                _add_product(dq, val, X[g.param[e]])
        Q[x], dQ[x] = q, dq
        size += len(q) + len(dq)
        if size > TERM_LIMIT:
            raise LocalBudgetExceeded(
                f"the segments between its S-edges have more than {TERM_LIMIT} terms (nodes {min(mid)}..{hi})"
            )
    for w in sorted(heads):
        if not exit_.get(w):
            continue
        dy: Terms = {}
        for e in g.in_edges[w]:
            if g.param[e] not in S or not g.alive[g.src[e]]:
                continue
            val, dval = incoming(g.src[e], e)
            mono, coef = weight(e)
            _add_scaled(dy, dval, mono, coef)
            _add_product(dy, val, X[g.param[e]])
        if dy:
            return _describe(g, flow, w, dy, base, names)
    return None


def _edges_of(g: Graph, S: set[int]) -> list[int]:
    """The alive edges carrying a parameter of ``S`` (through the per-parameter index)."""
    by = getattr(g, "_edges_by_param", None)
    if by is None:
        by = [[] for _ in range(g.dim)]
        for e, j in enumerate(g.param):
            if j >= 0:
                by[j].append(e)
        g._edges_by_param = by  # type: ignore[attr-defined]
    return sorted(e for j in S for e in by[j] if g.alive[g.src[e]] and g.alive[g.dst[e]])


def _describe(g: Graph, flow: FlowSpec, w: int, dy: Terms, base: int, names: list[str] | None) -> str:
    den = 1
    for c in dy.values():
        den = den * Fraction(c).denominator // _gcd(den, Fraction(c).denominator)
    poly = Poly({m: int(c * den) for m, c in dy.items()})
    labels: dict[int, str] = {base: "alpha[bias]"}
    for m in dy:
        for var, _e in m:
            if var > base + g.n:
                labels[var] = f"gamma[{var - base - 1 - g.n}]"
            elif var > base:
                labels[var] = f"alpha[{var - base - 1}]"
            elif names and var < len(names):
                labels[var] = names[var]
    width = max((var for m in dy for var, _e in m), default=0) + 1
    text = poly.to_str([labels.get(i, f"x{i}") for i in range(width)], max_terms=4)
    return (
        f"the segments ending with an S-edge into {g.describe_node(w)} (alpha = entry node, gamma = relu-like "
        f"node inside; S = the parameters the law moves) give {'' if den == 1 else f'{den} * '}<X, grad P> = {text}, not 0"
    )


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
