"""Laws a :class:`GraphNetwork`'s symmetries suggest, and the parameter groups of the law search.

Every candidate is still to be verified exactly (:class:`~flowlaws.algebra._dag_laws.DagLocalVerifier`,
:class:`~flowlaws.algebra._network_laws.PhaseLocalVerifier`); these functions
only read the graph.

* **Rescaling** a set ``N`` of hidden nodes (``θ_e → λ θ_e`` on edges into
  ``N``, ``θ_e → θ_e / λ`` on edges out of it) keeps φ when every activation in
  ``N`` is positively homogeneous or linear, no frozen edge enters or leaves
  ``N``, and each shared parameter is scaled the same way on all its edges.
  The smallest such sets are the nodes tied by shared parameters (the heads of
  one parameter's edges together, its tails together) and by frozen edges
  between hidden nodes (a skip must scale its two ends alike): single neurons of
  a dense net, whole channels of a convolution, a channel of a residual stream
  across blocks. Law: ``Σ_in θ² − Σ_out θ²``.
* **Rotating** two linear hidden nodes ``a, b`` with the same predecessors and
  successors (trainable edges, no sharing): Gram entries
  ``Σ_y θ_ya θ_yb − Σ_z θ_az θ_bz`` under gradient flow, Noether charges
  ``time^k Σ (θ_x v_y − θ_y v_x)`` under momentum flows.

On a layered network these are exactly :func:`~flowlaws.algebra._network_laws.structural_candidates`
and :func:`~flowlaws.algebra._network_laws.momentum_candidates`.

Examples
--------
>>> import networkx as nx
>>> from flowlaws.models._graph import graph_network
>>> G = nx.DiGraph()
>>> for j in range(3): G.add_node(f"x{j}", kind="input")
>>> G.add_node("y", kind="output")
>>> for s in range(2):                                  # a kernel (k0, k1) at two positions
...     G.add_node(f"h{s}", kind="hidden", activation="relu")
...     G.add_edge(f"x{s}", f"h{s}", param="k0"); G.add_edge(f"x{s+1}", f"h{s}", param="k1")
...     G.add_edge(f"h{s}", "y", param=f"v{s}")
>>> net, names = graph_network(G)
>>> [sorted((names[v], c) for ((v, _),), c in h.items()) for h in dag_structural_candidates(net)]
[[('k0', 1), ('k1', 1), ('v0', -1), ('v1', -1)]]
"""

from __future__ import annotations

from ._dag_laws import adjacency
from ._graph_network import GraphNetwork
from ._laws import SparsePoly

__all__ = ["parameter_levels", "dag_structural_candidates", "dag_momentum_candidates"]


def parameter_levels(net: GraphNetwork) -> list[int]:
    """The group of every parameter for the law search: the level of its edge's head
    (:meth:`GraphNetwork.levels`), the smallest over a shared parameter's edges.

    On a layered network this is the weight layer (:func:`~flowlaws.algebra._network_laws.parameter_layers`).

    Examples
    --------
    >>> parameter_levels(GraphNetwork.layered((1, 1, 1), ("relu",), True))
    [1, 1, 2, 2]
    """
    level = {x: d for d, nodes in enumerate(net.levels()) for x in nodes}
    out = [len(net.kinds)] * net.dim
    for _, dst, param, _ in net.edges:
        if param is not None:
            out[param] = min(out[param], level[dst])
    return out


class _Find:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def root(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, items: list[int]) -> None:
        for x in items[1:]:
            a, b = self.root(items[0]), self.root(x)
            if a != b:
                self.parent[max(a, b)] = min(a, b)


def _scaling_law(net: GraphNetwork, group: set[int], touching: list[tuple], param_edges: dict) -> SparsePoly | None:
    """``Σ_in θ² − Σ_out θ²`` of rescaling ``group``, or None when it is no symmetry.

    ``touching``: the edges ``(src, dst, param)`` with an end in ``group``;
    ``param_edges``: every edge ``(src, dst)`` of each parameter.
    """
    sign: dict[int, int] = {}
    for src, dst, param in touching:
        e = (dst in group) - (src in group)
        if param is None:
            if e:
                return None
            continue
        if param not in sign:
            sign[param] = e
            for s, d in param_edges[param]:  # a shared parameter scales alike on all its edges
                if (d in group) - (s in group) != e:
                    return None
    h = {((v, 2),): e for v, e in sorted(sign.items()) if e}
    return h or None


def _rotation_pairs(net: GraphNetwork) -> list[tuple[int, int, list[tuple[int, int]], int]]:
    """Pairs ``a < b`` of linear hidden nodes with the same neighbours: ``(a, b, corresponding, n_in)``.

    ``corresponding`` lists ``(θ_ya, θ_yb)`` per predecessor ``y`` (the first
    ``n_in`` entries), then ``(θ_az, θ_bz)`` per successor ``z``. Only nodes whose
    edges are all trainable with unshared parameters take part.
    """
    ins, outs = adjacency(net)
    count: dict[int, int] = {}
    for _, _, param, _ in net.edges:
        if param is not None:
            count[param] = count.get(param, 0) + 1

    def plain(edges) -> dict[int, int] | None:
        out = {}
        for other, param, _ in edges:
            if param is None or count[param] != 1:
                return None
            out[other] = param
        return out

    groups: dict[tuple, list[tuple[int, dict, dict]]] = {}
    for x, kind in enumerate(net.kinds):
        if kind != "hidden" or net.gated(x):
            continue
        pin, pout = plain(ins[x]), plain(outs[x])
        if pin is None or pout is None:
            continue
        groups.setdefault((frozenset(pin), frozenset(pout)), []).append((x, pin, pout))
    pairs = []
    for members in groups.values():
        for i, (a, ain, aout) in enumerate(members):
            for b, bin_, bout in members[i + 1:]:
                corr = [(ain[y], bin_[y]) for y in sorted(ain)] + [(aout[z], bout[z]) for z in sorted(aout)]
                pairs.append((a, b, corr, len(ain)))
    return pairs


def dag_structural_candidates(net: GraphNetwork) -> list[SparsePoly]:
    """Gradient-flow laws suggested by the graph's rescalings and rotations (see the module docstring).

    Examples
    --------
    >>> net = GraphNetwork.layered((1, 2, 1), ("linear",), False)
    >>> dag_structural_candidates(net)[-1]                 # the Gram entry of the two hidden nodes
    {((0, 1), (1, 1)): 1, ((2, 1), (3, 1)): -1}
    """
    find = _Find()
    hidden = [x for x, kind in enumerate(net.kinds) if kind == "hidden"]
    for x in hidden:
        find.root(x)
    heads: dict[int, list[int]] = {}
    tails: dict[int, list[int]] = {}
    for src, dst, param, _ in net.edges:
        if param is not None:
            if net.kinds[dst] == "hidden":
                heads.setdefault(param, []).append(dst)
            if net.kinds[src] == "hidden":
                tails.setdefault(param, []).append(src)
    for nodes in list(heads.values()) + list(tails.values()):
        find.union(nodes)
    for src, dst, param, _ in net.edges:  # a frozen edge between hidden nodes (a skip) ties their scales
        if param is None and net.kinds[src] == "hidden" and net.kinds[dst] == "hidden":
            find.union([src, dst])
    groups: dict[int, set[int]] = {}
    for x in hidden:
        groups.setdefault(find.root(x), set()).add(x)
    param_edges: dict[int, list[tuple[int, int]]] = {}
    touching: dict[int, list[tuple]] = {}
    for src, dst, param, _ in net.edges:
        if param is not None:
            param_edges.setdefault(param, []).append((src, dst))
        for end in {src, dst}:
            if net.kinds[end] == "hidden":
                touching.setdefault(find.root(end), []).append((src, dst, param))
    out: list[SparsePoly] = []
    for root in sorted(groups):
        h = _scaling_law(net, groups[root], touching.get(root, []), param_edges)
        if h is not None:
            out.append(h)
    for _, _, corr, n_in in _rotation_pairs(net):
        h: SparsePoly = {}
        for k, (x, y) in enumerate(corr):
            mono = tuple(sorted(((x, 1), (y, 1))))
            h[mono] = h.get(mono, 0) + (1 if k < n_in else -1)
        h = {m: c for m, c in h.items() if c}
        if h:
            out.append(h)
    return out


def dag_momentum_candidates(net: GraphNetwork, time_power: int) -> list[SparsePoly]:
    """Noether charges of rotating two linear hidden nodes under a momentum flow (to be verified).

    Phase-space indices as in :func:`~flowlaws.algebra._network_laws.momentum_candidates`:
    0 the time coordinate, ``1 + j`` the parameter ``θ_j``, ``1 + D + j`` its velocity.

    Examples
    --------
    >>> net = GraphNetwork.layered((1, 2, 1), ("linear",), False)
    >>> dag_momentum_candidates(net, 0)
    [{((1, 1), (6, 1)): 1, ((2, 1), (5, 1)): -1, ((3, 1), (8, 1)): 1, ((4, 1), (7, 1)): -1}]
    """
    D = net.dim
    out: list[SparsePoly] = []
    for _, _, corr, _ in _rotation_pairs(net):
        h: SparsePoly = {}
        for x, y in corr:
            h[_phase_monomial(time_power, 1 + x, 1 + D + y)] = 1
            h[_phase_monomial(time_power, 1 + y, 1 + D + x)] = -1
        out.append(h)
    return out


def _phase_monomial(time_power: int, *factors: int) -> tuple[tuple[int, int], ...]:
    exps: dict[int, int] = {0: time_power} if time_power else {}
    for v in factors:
        exps[v] = exps.get(v, 0) + 1
    return tuple(sorted(exps.items()))
