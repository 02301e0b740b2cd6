"""The engine's description of every network: a DAG of neurons with weighted edges.

Nodes are listed in a topological order (every edge goes from a lower to a
higher index). An edge carries a trainable parameter (an index into θ; one
index on several edges is a shared weight) or a frozen exact rational.

*Seeded numbering* (``docs/certificate-format.md``, ``"graph"`` models): a
non-bias node's number is its index among the non-bias nodes; every bias node
has number ``C``, the count of non-bias nodes (the constant source). With the
nodes of a layered network listed layer by layer and the bias nodes last this
is the numbering of the ``"network"`` model, so both describe the same
generators.

Examples
--------
>>> net = GraphNetwork.layered((2, 3, 1), ("relu",), True)
>>> net.dim, net.kinds
(13, ('input', 'input', 'bias', 'hidden', 'hidden', 'hidden', 'bias', 'output'))
>>> net.numbers()                   # bias nodes share the constant's number 6
(0, 1, 6, 2, 3, 4, 6, 5)
>>> net.levels()
((0, 1, 2, 6), (3, 4, 5), (7,))
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

__all__ = ["GraphNetwork", "HOMOGENEOUS", "KINDS", "ACTIVATIONS"]

KINDS = ("input", "hidden", "output", "bias")
ACTIVATIONS = ("linear", "relu", "leaky_relu")
HOMOGENEOUS = frozenset({"relu", "leaky_relu"})

Edge = tuple[int, int, "int | None", "Fraction | None"]


@dataclass(frozen=True)
class GraphNetwork:
    """A network as a DAG: node kinds and activations, edges ``(src, dst, param, value)``.

    Attributes
    ----------
    kinds : tuple of str
        Per node, in topological order: ``"input"``, ``"hidden"``, ``"output"`` or ``"bias"``.
    activations : tuple of (str or None)
        Per node: the activation of a hidden node, ``None`` for the others.
    edges : tuple of (int, int, int or None, Fraction or None)
        ``(src, dst, param, None)`` for a trainable edge, ``(src, dst, None, value)``
        for a frozen one; ``src < dst``.
    dim : int
        Number of parameters ``D``; every index ``0..D-1`` is on some edge.
    """

    kinds: tuple[str, ...]
    activations: tuple[str | None, ...]
    edges: tuple[Edge, ...]
    dim: int

    def __post_init__(self) -> None:
        n = len(self.kinds)
        if len(self.activations) != n:
            raise ValueError("one activation (or None) per node")
        used = set()
        for src, dst, param, value in self.edges:
            if not 0 <= src < dst < n:
                raise ValueError(f"edge {src}->{dst}: nodes must be listed in topological order")
            if (param is None) == (value is None):
                raise ValueError(f"edge {src}->{dst}: exactly one of param and value")
            if param is not None:
                used.add(param)
        if used != set(range(self.dim)):
            raise ValueError("every parameter index 0..dim-1 must be on some edge")

    # -- builders -------------------------------------------------------------------
    @classmethod
    def layered(cls, layers: tuple[int, ...], activations: tuple[str, ...], bias: bool) -> "GraphNetwork":
        """A fully connected network with the parameter order of the ``"network"`` model
        (``W1`` row-major, ``b1``, ``W2``, …) and the nodes layer by layer, biases last."""
        kinds: list[str] = []
        acts: list[str | None] = []
        offsets = [0]
        L = len(layers) - 1
        for l, n in enumerate(layers):
            kind = "input" if l == 0 else ("output" if l == L else "hidden")
            kinds += [kind] * n
            acts += [activations[l - 1] if kind == "hidden" else None] * n
            offsets.append(offsets[-1] + n)
        bias_node = {}
        if bias:
            for l in range(1, L + 1):
                bias_node[l] = len(kinds)
                kinds.append("bias")
                acts.append(None)
        edges: list[Edge] = []
        pos = 0
        for l in range(1, L + 1):
            for i in range(layers[l]):
                for j in range(layers[l - 1]):
                    edges.append((offsets[l - 1] + j, offsets[l] + i, pos, None))
                    pos += 1
            if bias:
                for i in range(layers[l]):
                    edges.append((bias_node[l], offsets[l] + i, pos, None))
                    pos += 1
        return _from_unordered(kinds, acts, edges, pos)

    # -- derived structure ------------------------------------------------------------
    def numbers(self) -> tuple[int, ...]:
        """The seeded number of every node (bias nodes share the constant's number)."""
        out, k = [], 0
        for kind in self.kinds:
            if kind == "bias":
                out.append(-1)
            else:
                out.append(k)
                k += 1
        return tuple(k if v < 0 else v for v in out)

    @cached_property
    def _levels(self) -> tuple[tuple[int, ...], ...]:
        depth = [0] * len(self.kinds)
        for src, dst, _, _ in sorted(self.edges, key=lambda e: e[1]):
            depth[dst] = max(depth[dst], depth[src] + 1)
        by: dict[int, list[int]] = {}
        for node, d in enumerate(depth):
            by.setdefault(d, []).append(node)
        return tuple(tuple(by[d]) for d in sorted(by))

    def levels(self) -> tuple[tuple[int, ...], ...]:
        """Nodes grouped by longest-path depth from the sources: level 0 holds the sources."""
        return self._levels

    def to_json(self) -> dict:
        """The certificate's ``{"kind": "graph", "nodes": ..., "edges": ...}`` (``docs/certificate-format.md``)."""
        nodes = [[k, a] if k == "hidden" else [k] for k, a in zip(self.kinds, self.activations)]
        edges = [[s, d, p if p is not None else str(v)] for s, d, p, v in self.edges]
        return {"kind": "graph", "nodes": nodes, "edges": edges}

    def homogeneous(self, *, budget: int = 5_000_000) -> bool:
        """True when every coordinate of φ is homogeneous: paths with one key have one degree.

        Paths with the same key differ only between consecutive key nodes (start,
        relu/leaky nodes, output), through linear nodes; each such segment must
        carry one number of trainable edges. Over ``budget`` steps of work the
        answer is False (the law search is then not restricted to homogeneous laws,
        which is sound).
        """
        out: dict[int, list] = {}
        for src, dst, param, _ in self.edges:
            out.setdefault(src, []).append((dst, param is not None))
        starts: dict[object, list[int]] = {}
        for node, kind in enumerate(self.kinds):
            if kind == "input" or self.gated(node):
                starts[node] = [node]
            elif kind == "bias":
                starts.setdefault("bias", []).append(node)
        work = 0
        for nodes in starts.values():
            degrees: dict[int, set[int]] = {n: {0} for n in nodes}
            frontier = sorted(nodes)
            seen = set(frontier)
            order = []
            while frontier:  # the nodes reachable through linear interior nodes, then in topological order
                n = frontier.pop()
                order.append(n)
                if n not in nodes and (self.gated(n) or self.kinds[n] == "output"):
                    continue
                for dst, _ in out.get(n, ()):
                    if dst not in seen:
                        seen.add(dst)
                        frontier.append(dst)
            for n in sorted(order):
                if n not in nodes and (self.gated(n) or self.kinds[n] == "output"):
                    if len(degrees.get(n, ())) > 1:
                        return False
                    continue
                for dst, trainable in out.get(n, ()):
                    degrees.setdefault(dst, set()).update(d + trainable for d in degrees.get(n, ()))
                    work += 1
                    if work > budget:
                        return False
        return True

    def gated(self, node: int) -> bool:
        """True for a relu / leaky-relu hidden node (its seeded value multiplies the path)."""
        return self.kinds[node] == "hidden" and self.activations[node] in HOMOGENEOUS


def _from_unordered(kinds: list[str], acts: list[str | None], edges: list[Edge], dim: int) -> GraphNetwork:
    """Put bias nodes right before the first node they feed, keeping the seeded numbering."""
    n = len(kinds)
    bias_nodes = [v for v in range(n) if kinds[v] == "bias"]
    if not bias_nodes:
        return GraphNetwork(tuple(kinds), tuple(acts), tuple(edges), dim)
    first_target = {b: min((d for s, d, _, _ in edges if s == b), default=n) for b in bias_nodes}
    others = [v for v in range(n) if kinds[v] != "bias"]
    order: list[int] = []
    pending = sorted(bias_nodes, key=lambda b: first_target[b])
    for v in others:
        while pending and first_target[pending[0]] <= v:
            order.append(pending.pop(0))
        order.append(v)
    order += pending
    new = {old: k for k, old in enumerate(order)}
    return GraphNetwork(
        tuple(kinds[v] for v in order), tuple(acts[v] for v in order),
        tuple((new[s], new[d], p, val) for s, d, p, val in edges), dim,
    )
