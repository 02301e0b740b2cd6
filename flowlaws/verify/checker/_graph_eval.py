"""Bracket words of a ``"graph"`` model's seeded generators at a point mod p, without expanding paths.

The DAG counterpart of :mod:`._network_eval` (same jets, same word
evaluation and flows; only the generator ``∇F_a`` changes). ``F_a`` is the
graph run on the seeded node values of ``docs/certificate-format.md``: inputs
hold ``z(a, number)``, bias nodes ``z(a, C)``, a hidden node's value is the sum
over its in-edges of ``weight · value(src)``, times ``z(a, number)`` if it is
relu-like; ``F_a = Σ_outputs z(a, number) · (Σ in-edges weight · value(src))``.

``∇F_a(θ)`` is one forward and one backward pass over the *levels* of the DAG
(a node's level is the length of the longest path into it, so an edge always
goes to a higher level): per level, the products ``weight · value(src)`` of
all its in-edges at once, summed per destination (``numpy.add.reduceat``). The
backward pass gives ``δ_v = ∂F_a/∂(sum into v)``, and a parameter's component
is ``Σ δ_dst · value(src)`` over all the edges that carry it (shared weights);
frozen edges carry their rational value mod ``p`` and get no component.

All arithmetic is on int64 arrays mod ``p``: products of two residues stay
below ``p² < 2**62`` (:func:`graph_route_problem`), and a sum over the edges
of one node or parameter is reduced first when it could pass ``2**63``.

What this module does not check: that ``p`` is prime or divides no frozen
denominator (the generators step does), word shapes and generator indices.

Examples
--------
>>> from flowlaws.verify.checker._graph import parse_graph
>>> g = parse_graph({"kind": "graph", "nodes": [["input"], ["bias"], ["hidden", "relu"], ["output"]],
...                  "edges": [[0, 2, 0], [2, 3, 1], [1, 2, 2], [0, 3, "1/2"]]}, 3)
>>> ev = GraphWords(g, seed=0, p=101, point=[3, 5, 7])
>>> explicit = g.combination(0, 4, 101).gradient_at([3, 5, 7])
>>> [int(x) for x in ev.values([4])[0]] == [explicit.get(j, 0) for j in range(3)]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._flows import FlowSpec
from ._graph import Graph
from ._network_eval import NetworkWords, _Jet, _product, z_array

__all__ = ["GraphWords", "graph_route_problem"]

_GRADIENT = FlowSpec("gradient")


def graph_route_problem(p: int) -> str | None:
    """Why the jet evaluation of a graph cannot be exact in int64 for this prime, or ``None``.

    >>> graph_route_problem(16777213) is None
    True
    """
    if 2 * p * p >= 2**63:
        return f"p={p}: 2 * p**2 must stay below 2**63 for exact int64 products"
    return None


class GraphWords(NetworkWords):
    """Values of bracket words of a graph model's generators at one point mod ``p``.

    Parameters
    ----------
    graph : Graph
    seed : int
        ``generators.seed``.
    p : int
        The prime (see :func:`graph_route_problem`).
    point : sequence of int
        The point in the flow's phase space (``D`` or ``2D + 1`` coordinates).
    flow : FlowSpec, optional
        The flow (gradient flow, euclidean metric, by default).
    """

    def __init__(
        self, graph: Graph, *, seed: int, p: int, point: Sequence[int], flow: FlowSpec = _GRADIENT
    ) -> None:
        import numpy as np

        problem = graph_route_problem(p)
        if problem:
            raise ValueError(problem)
        self.graph = graph
        self.seed = seed
        self.p = p
        self.flow = flow
        self.D = graph.dim
        self.dim = flow.dim(graph.dim)
        if len(point) != self.dim:
            raise ValueError(f"point has {len(point)} coordinates, the {flow.describe()} needs {self.dim}")
        self.point = np.array([int(x) % p for x in point], dtype=np.int64)
        self.shift = 1 if flow.has_drift else 0
        self.target = self.D + 1 if flow.has_drift else 0
        self._prepare()

    def _work_width(self) -> int:
        return max(self.dim, self.graph.E + self.graph.n)

    def _prepare(self) -> None:
        """Index arrays of the passes: edges by level and destination, by level and source, by parameter."""
        import numpy as np

        g, p = self.graph, self.p
        n = g.n
        level = [0] * n
        for v in range(n):
            if g.in_edges[v]:
                level[v] = 1 + max(level[g.src[e]] for e in g.in_edges[v])
        lv = np.array(level, dtype=np.int64)
        src = np.array(g.src, dtype=np.int64).reshape(-1)
        dst = np.array(g.dst, dtype=np.int64).reshape(-1)
        param = np.array(g.param, dtype=np.int64).reshape(-1)
        self.src, self.dst = src, dst
        self.nums = np.array(g.numbers, dtype=np.uint64).reshape(1, -1)
        kinds = g.kinds
        self.starts = np.array([v for v in range(n) if kinds[v] in ("input", "bias")], dtype=np.int64)
        self.outputs = np.array([v for v in range(n) if kinds[v] == "output"], dtype=np.int64)
        scaled = [g.gated[v] or kinds[v] == "output" for v in range(n)]
        self.scaled = np.array(scaled, dtype=bool).reshape(1, -1)
        frozen = param < 0
        self.frozen = np.nonzero(frozen)[0]
        self.frozen_values = np.array(
            [int(v.numerator % p * pow(v.denominator, -1, p) % p) for v in g.value if v is not None], dtype=np.int64
        )
        self.param_safe = np.where(frozen, 0, param)
        # forward: every level >= 1, its in-edges sorted by destination
        self.forward: list[tuple[Any, Any, Any]] = []
        order = np.lexsort((dst, lv[dst])) if g.E else np.zeros(0, dtype=np.int64)
        self.forward = _segments(order, lv[dst[order]], dst[order])
        # backward: hidden sources at level >= 1, their out-edges sorted by source, levels descending
        hidden_src = np.array([kinds[v] == "hidden" for v in range(n)], dtype=bool)[src] & (lv[src] >= 1)
        eo = np.nonzero(hidden_src)[0]
        eo = eo[np.lexsort((src[eo], lv[src[eo]]))]
        self.backward = _segments(eo, lv[src[eo]], src[eo])[::-1]
        # parameter components: trainable edges sorted by parameter (every parameter has one)
        ep = np.nonzero(~frozen)[0]
        ep = ep[np.argsort(param[ep], kind="stable")]
        self.by_param = ep
        self.param_starts = np.searchsorted(param[ep], np.arange(g.dim))
        fan = g.max_fan()
        self.pre_reduce = (fan + 2) * p * p >= 2**63

    def _seg_op(self, starts: Any, length: int) -> Any:
        """``(a, b) -> segment sums of a * b`` over the last axis (``length`` entries, segments at ``starts``)."""
        import numpy as np

        p, pre = self.p, self.pre_reduce
        singletons = len(starts) == length  # e.g. unshared parameters: no sums at all

        def op(a: Any, b: Any) -> Any:
            prod = a * b
            if singletons:
                return prod
            if pre:
                prod %= p
            return np.add.reduceat(prod, starts, axis=-1)

        return op

    def _gradient(self, a: Any, theta: _Jet) -> _Jet:
        """``∇F_a`` at the jet ``theta`` (components ``(..., D)``), one generator per batch element."""
        import numpy as np

        p, n = self.p, self.graph.n
        B = a.shape[0]
        k = theta.k
        zfull = z_array(self.seed, a.reshape(-1, 1), self.nums, p)  # (B, n)
        scale = np.where(self.scaled, zfull, 1)

        def weights(c: Any, first: bool) -> Any:
            w = np.broadcast_to(c, (B, self.D))[:, self.param_safe]
            if len(self.frozen):
                w[:, self.frozen] = self.frozen_values if first else 0
            return w

        W = _Jet(k, [None if c is None else weights(c, i == 0) for i, c in enumerate(theta.comps)])
        if W.comps[0] is None:  # pragma: no cover - the point is always there
            raise ValueError("the jet has no value component")
        # forward: H[v] = value of v (inputs z, bias z(C), hidden scale * sum of in-edges)
        h0 = np.zeros((B, n), dtype=np.int64)
        h0[:, self.starts] = zfull[:, self.starts]
        H: list[Any] = [h0] + [None] * ((1 << k) - 1)
        for eidx, seg, nodes in self.forward:
            u = _product(W.map(lambda c, e=eidx: c[:, e]), _gather(H, self.src[eidx]), self._seg_op(seg, len(eidx)), p)
            s = scale[:, nodes]
            _write(H, u, nodes, s, p, B, n)
        # backward: delta at the outputs is z(output); delta_v = scale_v * sum_out-edges w * delta_dst
        d0 = np.zeros((B, n), dtype=np.int64)
        d0[:, self.outputs] = zfull[:, self.outputs]
        Dl: list[Any] = [d0] + [None] * ((1 << k) - 1)
        for eidx, seg, nodes in self.backward:
            u = _product(W.map(lambda c, e=eidx: c[:, e]), _gather(Dl, self.dst[eidx]), self._seg_op(seg, len(eidx)), p)
            _write(Dl, u, nodes, scale[:, nodes], p, B, n)
        ep = self.by_param
        grad = _product(_gather(Dl, self.dst[ep]), _gather(H, self.src[ep]), self._seg_op(self.param_starts, len(ep)), p)
        return _Jet(k, [None if c is None else c % p for c in grad.comps] + [None] * ((1 << k) - len(grad.comps)))


def _segments(edges: Any, level: Any, node: Any) -> list[tuple[Any, Any, Any]]:
    """Split ``edges`` (sorted by ``(level, node)``) per level: ``(edges, segment starts, nodes)``."""
    import numpy as np

    out = []
    if len(edges) == 0:
        return out
    cuts = np.nonzero(np.diff(level))[0] + 1
    for part in np.split(np.arange(len(edges)), cuts):
        e = edges[part]
        nd = node[part]
        starts = np.concatenate(([0], np.nonzero(np.diff(nd))[0] + 1))
        out.append((e, starts, nd[starts]))
    return out


def _gather(comps: list[Any], idx: Any) -> _Jet:
    k = (len(comps) - 1).bit_length()
    return _Jet(k, [None if c is None else c[:, idx] for c in comps])


def _write(comps: list[Any], u: _Jet, nodes: Any, s: Any, p: int, B: int, n: int) -> None:
    """``comps[i][:, nodes] = s * u_i`` for every component of ``u``."""
    import numpy as np

    for i, c in enumerate(u.comps):
        if c is None:
            continue
        if comps[i] is None:
            comps[i] = np.zeros((B, n), dtype=np.int64)
        comps[i][:, nodes] = c % p * s % p
