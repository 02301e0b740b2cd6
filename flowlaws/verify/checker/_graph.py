"""A ``"graph"`` model: a network as a DAG of neurons, read and expanded by the checker itself.

Implements the ``"graph"`` model of ``docs/certificate-format.md``: nodes
``["input"]``, ``["output"]``, ``["bias"]`` or ``["hidden", activation]`` listed
in a topological order, edges ``[src, dst, w]`` with ``src < dst`` and ``w`` a
parameter index (an int; the same index on several edges is a shared weight)
or a frozen exact rational (a string ``"-1/2"``).

:func:`parse_graph` validates the JSON (sizes against :data:`~._schema.LIMITS`
before any work; every problem is a ``CertificateError`` step ``schema``).
:class:`Graph` holds the DAG as flat lists and gives

* the *seeded numbering* of the nodes (a non-bias node's index among the
  non-bias nodes; every bias node gets ``C``, the number of non-bias nodes: the
  constant source), the numbering of the ``"network"`` model when the nodes
  are listed layer by layer and the bias nodes after them;
* the path-lifting over Q (:meth:`Graph.coordinates`, one coordinate per key
  ``(start number, numbers of the relu-like hidden nodes, output number)``, in
  increasing key order) and ``F_a`` mod ``p`` (:meth:`Graph.combination`), both
  by a forward pass over the nodes, at most ``LIMITS["paths"]`` paths.

What this module does not check: that ``p`` is prime, nor that ``p`` does not
divide a frozen denominator (:meth:`Graph.denominator_problem` says so; the
generators step refuses the certificate).

Examples
--------
>>> g = parse_graph({"kind": "graph", "nodes": [["input"], ["bias"], ["hidden", "relu"], ["output"]],
...                  "edges": [[0, 2, 0], [2, 3, 1], [1, 2, 2], [0, 3, "1/2"]]}, 3)
>>> g.numbers, g.path_count()
([0, 3, 1, 2], 3)
>>> [(key, phi.to_str(["a", "b", "c"])) for key, phi in g.coordinates()]   # the skip edge: 2*(1/2)
[((0, (), 2), '1'), ((0, (1,), 2), 'a*b'), ((3, (1,), 2), 'b*c')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from math import lcm
from typing import Any

from ._network import HOMOGENEOUS, z
from ._polys import Monomial, Poly, mono_mul
from ._schema import LIMITS, _describe, _fail, _int, _list, _object

__all__ = ["Graph", "parse_graph", "NODE_KINDS"]

NODE_KINDS = ("input", "hidden", "output", "bias")
_ACTIVATIONS = ("linear", "relu", "leaky_relu")
_RATIONAL_RE = re.compile(r"(-?[0-9]+)(?:/([0-9]+))?")

Key = tuple[int, tuple[int, ...], int]


class Graph:
    """A validated ``"graph"`` model (build it with :func:`parse_graph`).

    Attributes
    ----------
    kinds, activations : list
        Per node: kind, and the activation of a hidden node (``None`` otherwise).
    src, dst, param : list of int
        Per edge; ``param[e] == -1`` for a frozen edge, whose value is ``value[e]``.
    value : list of Fraction or None
    dim : int
        Number of parameters ``D``.
    numbers : list of int
        The seeded number of every node.
    """

    def __init__(
        self, kinds: list[str], activations: list[str | None], edges: list[tuple[int, int, int, Fraction | None]], dim: int
    ) -> None:
        self.kinds = kinds
        self.activations = activations
        self.n = len(kinds)
        self.src = [e[0] for e in edges]
        self.dst = [e[1] for e in edges]
        self.param = [e[2] for e in edges]
        self.value = [e[3] for e in edges]
        self.E = len(edges)
        self.dim = dim
        C = sum(1 for k in kinds if k != "bias")
        self.C = C
        numbers, k = [], 0
        for kind in kinds:
            if kind == "bias":
                numbers.append(C)
            else:
                numbers.append(k)
                k += 1
        self.numbers = numbers
        self.gated = [kind == "hidden" and act in HOMOGENEOUS for kind, act in zip(kinds, activations)]
        self.in_edges: list[list[int]] = [[] for _ in range(self.n)]
        self.out_edges: list[list[int]] = [[] for _ in range(self.n)]
        for e, (s, d) in enumerate(zip(self.src, self.dst)):
            self.in_edges[d].append(e)
            self.out_edges[s].append(e)
        self.alive = self._alive()

    # -- structure ---------------------------------------------------------------------------
    def is_start(self, v: int) -> bool:
        """Inputs and bias nodes start paths."""
        return self.kinds[v] in ("input", "bias")

    def _alive(self) -> list[bool]:
        """Nodes on some start-to-output path (only they carry terms of φ)."""
        fwd = [self.is_start(v) for v in range(self.n)]
        for v in range(self.n):
            if not fwd[v]:
                fwd[v] = any(fwd[self.src[e]] for e in self.in_edges[v])
        bwd = [k == "output" for k in self.kinds]
        for v in range(self.n - 1, -1, -1):
            if not bwd[v]:
                bwd[v] = any(bwd[self.dst[e]] for e in self.out_edges[v])
        return [a and b for a, b in zip(fwd, bwd)]

    def path_count(self) -> int:
        """Number of start-to-output paths (= terms of the path-lifting before merging)."""
        count = [0] * self.n
        total = 0
        for v in range(self.n):
            c = 1 if self.is_start(v) else sum(count[self.src[e]] for e in self.in_edges[v])
            count[v] = c
            if self.kinds[v] == "output":
                total += c
        return total

    def max_fan(self) -> int:
        """Largest in-degree, out-degree or number of edges of one parameter (sums in one int64 reduction)."""
        per_param = [0] * self.dim
        for j in self.param:
            if j >= 0:
                per_param[j] += 1
        degrees = [len(x) for x in self.in_edges] + [len(x) for x in self.out_edges] + per_param
        return max(degrees, default=1)

    def denominator_problem(self, p: int) -> str | None:
        """Why frozen weights have no value mod ``p`` (``p`` divides a denominator), or ``None``."""
        for e, v in enumerate(self.value):
            if v is not None and v.denominator % p == 0:
                return (
                    f"model.edges[{e}] has the frozen weight {v}, whose denominator is divisible by the prime "
                    f"p={p}: the generators have no value mod p; use another prime"
                )
        return None

    def describe_node(self, v: int) -> str:
        """``'node 3 (hidden relu)'``."""
        what = self.kinds[v] + (f" {self.activations[v]}" if self.kinds[v] == "hidden" else "")
        return f"node {v} ({what})"

    def describe_key(self, key: Key) -> str:
        """Readable description of a coordinate's key (node numbers, the constant source for biases).

        >>> g = parse_graph({"kind": "graph", "nodes": [["input"], ["hidden", "relu"], ["output"]],
        ...                  "edges": [[0, 1, 0], [1, 2, 1]]}, 2)
        >>> g.describe_key((0, (1,), 2))
        'paths from number 0 to number 2 through relu-like number(s) 1'
        """
        start, hidden, out = key
        s = "the constant source (bias nodes)" if start == self.C else f"number {start}"
        via = f" through relu-like number(s) {', '.join(map(str, hidden))}" if hidden else ""
        return f"paths from {s} to number {out}{via}"

    def _weight(self, e: int) -> tuple[Monomial, int | Fraction]:
        """An edge as ``(monomial, coefficient)``: a parameter variable or a frozen constant."""
        j = self.param[e]
        if j >= 0:
            return ((j, 1),), 1
        v = self.value[e]
        assert v is not None
        return (), (v.numerator if v.denominator == 1 else v)

    # -- expansions --------------------------------------------------------------------------
    def coordinates(self) -> list[tuple[Key, Poly]]:
        """The coordinates of φ, each times the lcm of its denominators (so over Z), in key order.

        A key with paths keeps its coordinate even if the paths cancel (frozen weights).
        """
        return [(key, phi) for key, phi, _den in self.expand()]

    def expand(self) -> list[tuple[Key, Poly, int]]:
        """``(key, den·φ_key over Z, den)`` in key order, ``den`` the lcm of φ_key's denominators (memoized)."""
        cached = getattr(self, "_expanded", None)
        if cached is not None:
            return cached
        state: dict[int, dict[tuple[int, tuple[int, ...]], dict[Monomial, Any]]] = {}
        out: list[tuple[Key, Poly, int]] = []
        for v in range(self.n):
            if not self.alive[v]:
                continue
            if self.is_start(v):
                state[v] = {(self.numbers[v], ()): {(): 1}}
                continue
            acc: dict[tuple[int, tuple[int, ...]], dict[Monomial, Any]] = {}
            for e in self.in_edges[v]:
                s = self.src[e]
                if not self.alive[s]:
                    continue
                mono, coef = self._weight(e)
                for key, terms in state[s].items():
                    target = acc.setdefault(key, {})
                    for m, c in terms.items():
                        mm = mono_mul(m, mono)
                        target[mm] = target.get(mm, 0) + c * coef
            if self.gated[v]:
                num = self.numbers[v]
                acc = {(s, h + (num,)): t for (s, h), t in acc.items()}
            if self.kinds[v] == "output":
                for (s, h), terms in acc.items():
                    den = lcm(*(Fraction(c).denominator for c in terms.values())) if terms else 1
                    phi = Poly({m: int(c * den) for m, c in terms.items()})
                    out.append(((s, h, self.numbers[v]), phi, den))
            else:
                state[v] = acc
        out.sort(key=lambda kp: kp[0])
        self._expanded = out
        return out

    def combination(self, seed: int, a: int, p: int) -> Poly:
        """``F_a = Σ_keys c_key(a) φ_key`` mod ``p`` (the graph run on the seeded node values)."""
        vals: dict[int, dict[Monomial, int]] = {}
        total: dict[Monomial, int] = {}
        for v in range(self.n):
            if not self.alive[v]:
                continue
            zv = z(seed, a, self.numbers[v], p)
            if self.is_start(v):
                vals[v] = {(): zv}
                continue
            scale = zv if self.gated[v] or self.kinds[v] == "output" else 1
            acc = total if self.kinds[v] == "output" else {}
            for e in self.in_edges[v]:
                s = self.src[e]
                if not self.alive[s]:
                    continue
                mono, coef = self._weight(e)
                c0 = coef.numerator * pow(coef.denominator, -1, p) if isinstance(coef, Fraction) else coef
                f = c0 * scale % p
                if not f:
                    continue
                for m, c in vals[s].items():
                    mm = mono_mul(m, mono)
                    acc[mm] = (acc.get(mm, 0) + c * f) % p
            if self.kinds[v] != "output":
                vals[v] = {m: c for m, c in acc.items() if c}
        return Poly(total, p)


def _parse_rational(w: str, where: str) -> Fraction:
    m = _RATIONAL_RE.fullmatch(w)
    if not m:
        raise _fail(f"{where}: a frozen weight is a rational string such as \"3\" or \"-1/2\", got {_describe(w)}")
    if len(w) > LIMITS["coefficient_digits"]:
        raise _fail(f"{where}: a frozen weight of {len(w)} characters, more than {LIMITS['coefficient_digits']}")
    den = int(m.group(2)) if m.group(2) is not None else 1
    if den == 0:
        raise _fail(f"{where}: the frozen weight {w!r} has denominator 0")
    return Fraction(int(m.group(1)), den)


def _parse_node(x: Any, where: str) -> tuple[str, str | None]:
    if not isinstance(x, list) or not 1 <= len(x) <= 2 or not all(isinstance(t, str) for t in x):
        raise _fail(f"{where}: a node is [kind] or [\"hidden\", activation] (strings), got {_describe(x)}")
    kind = x[0]
    if kind not in NODE_KINDS:
        raise _fail(f"{where}: kind {kind!r} is not one of {list(NODE_KINDS)}")
    if kind == "hidden":
        if len(x) != 2 or x[1] not in _ACTIVATIONS:
            got = _describe(x[1]) if len(x) == 2 else "none"
            raise _fail(f"{where}: a hidden node is [\"hidden\", activation] with activation in {list(_ACTIVATIONS)}, got {got}")
        return kind, x[1]
    if len(x) != 1:
        raise _fail(f"{where}: only hidden nodes have an activation; write [{kind!r}]")
    return kind, None


def parse_graph(x: Any, dim: int | None, where: str = "model") -> Graph:
    """The ``{"kind": "graph", "nodes": [...], "edges": [...]}`` object as a :class:`Graph`.

    ``dim`` is the number of parameters ``D`` if known (``None``: the largest index + 1).
    Raises ``CertificateError`` step ``schema`` for every malformed graph.

    >>> parse_graph({"kind": "graph", "nodes": [["input"], ["output"]], "edges": [[1, 0, 0]]}, 1)
    Traceback (most recent call last):
    ...
    flowlaws.errors.CertificateError: [schema] model.edges[0]: src=1 >= dst=0; nodes are listed in a topological order, every edge goes from a lower to a higher index (this also rules out cycles)
    """
    if not isinstance(x, Mapping):
        raise _fail(f"{where}: expected an object, got {_describe(x)}")
    _object(x, where, ("kind", "nodes", "edges"))
    nodes = _list(x["nodes"], f"{where}.nodes", max_len=LIMITS["graph_nodes"])
    edges = _list(x["edges"], f"{where}.edges", max_len=LIMITS["graph_edges"])
    kinds: list[str] = []
    acts: list[str | None] = []
    for v, node in enumerate(nodes):
        kind, act = _parse_node(node, f"{where}.nodes[{v}]")
        kinds.append(kind)
        acts.append(act)
    n = len(kinds)
    if "output" not in kinds:
        raise _fail(f"{where}.nodes: the graph has no output node, so no path and no path-lifting")
    hi = (dim - 1) if dim is not None else LIMITS["dim"] - 1
    seen: set[tuple[int, int]] = set()
    parsed: list[tuple[int, int, int, Fraction | None]] = []
    used: set[int] = set()
    for e, edge in enumerate(edges):
        ew = f"{where}.edges[{e}]"
        if not isinstance(edge, list) or len(edge) != 3:
            raise _fail(f"{ew}: an edge is [src, dst, w], got {_describe(edge)}")
        s = _int(edge[0], f"{ew}[0] (src)", lo=0, hi=n - 1)
        d = _int(edge[1], f"{ew}[1] (dst)", lo=0, hi=n - 1)
        if s >= d:
            raise _fail(
                f"{ew}: src={s} >= dst={d}; nodes are listed in a topological order, every edge goes from a "
                "lower to a higher index (this also rules out cycles)"
            )
        if kinds[d] in ("input", "bias"):
            raise _fail(f"{ew}: an edge into node {d}, a {kinds[d]} node; inputs and bias nodes have no incoming edges")
        if kinds[s] == "output":
            raise _fail(f"{ew}: an edge out of node {s}, an output node; outputs have no outgoing edges")
        if (s, d) in seen:
            raise _fail(f"{ew}: a second edge {s} -> {d}; at most one edge per pair of nodes (add the weights)")
        seen.add((s, d))
        w = edge[2]
        if isinstance(w, str):
            parsed.append((s, d, -1, _parse_rational(w, f"{ew}[2]")))
        else:
            j = _int(w, f"{ew}[2] (parameter index)", lo=0, hi=hi)
            used.add(j)
            parsed.append((s, d, j, None))
    D = dim if dim is not None else (max(used) + 1 if used else 0)
    if D < 1:
        raise _fail(f"{where}: no edge carries a trainable parameter; a model needs at least one")
    if D > LIMITS["dim"]:
        raise _fail(f"{where}: {D} parameters, more than the checker's limit {LIMITS['dim']}")
    if len(used) != D:
        missing = sorted(set(range(D)) - used)
        raise _fail(
            f"{where}: parameter(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} ({len(missing)} in all) "
            f"are on no edge; every index 0..{D - 1} must be on at least one edge"
        )
    return Graph(kinds, acts, parsed, D)
