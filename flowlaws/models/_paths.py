"""The path-lifting of a network (layered or a DAG), expanded into explicit polynomials.

One coordinate per key (start node, set of ReLU / leaky-ReLU hidden nodes on
the path, output node); paths with the same key are summed, so linear
networks get the entries of their end-to-end affine map. Exponential in depth:
only for the exact checks of small networks.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from fractions import Fraction
from typing import Any

from ..errors import BudgetExceeded

from ..algebra._graph_network import GraphNetwork
from ..algebra._network_fields import HOMOGENEOUS, LayeredNetwork

__all__ = ["path_lifting", "network_path_lifting"]


def path_lifting(layers, activations, bias, *, max_terms: int) -> list[dict[tuple[int, ...], int]]:
    """Coordinates of φ as ``{exponent tuple: int}``, in a canonical order."""
    net = LayeredNetwork(tuple(layers), tuple(activations), bool(bias))
    D = net.dim
    slices = net.slices()
    const = "c"
    # state per neuron of the current layer: {(start, homog nodes): {monomial(sorted var tuple): coef}}
    state: list[dict] = [{(j, ()): {(): 1}} for j in range(layers[0])]
    total = 0
    for l in range(1, len(layers)):
        ws, bs = slices[l - 1]
        n_in = layers[l - 1]
        homog = l < len(layers) - 1 and activations[l - 1] in HOMOGENEOUS
        new_state = []
        for i in range(layers[l]):
            acc: dict = {}
            for j in range(n_in):
                var = ws.start + i * n_in + j
                for key, poly in state[j].items():
                    target = acc.setdefault(key, {})
                    for mono, c in poly.items():
                        m = tuple(sorted(mono + (var,)))
                        target[m] = target.get(m, 0) + c
            if bs is not None:
                target = acc.setdefault((const, ()), {})
                m = (bs.start + i,)
                target[m] = target.get(m, 0) + 1
            if homog:
                node = sum(layers[:l]) + i
                acc = {(start, nodes + (node,)): poly for (start, nodes), poly in acc.items()}
            total += sum(len(p) for p in acc.values())
            if total > max_terms:
                raise BudgetExceeded(
                    f"the path-lifting of layers={list(layers)} has more than max_terms={max_terms} "
                    "monomials; exact expansion is for small networks"
                )
            new_state.append(acc)
        state = new_state
    coords = []
    for out in state:
        for key in sorted(out, key=repr):
            coord = {}
            for mono, c in out[key].items():
                if c:
                    exps = [0] * D
                    for v in mono:
                        exps[v] += 1
                    coord[tuple(exps)] = c
            if coord:
                coords.append(coord)
    return coords


def network_path_lifting(net: GraphNetwork, *, max_terms: int) -> list[dict[tuple[int, ...], Fraction]]:
    """Coordinates of φ of a DAG network as ``{exponent tuple: Fraction}`` (frozen weights are rationals).

    Keys: (start: an input node, or ``-1`` for every bias node; the relu/leaky-relu
    hidden nodes on the path; the output node), in increasing order.

    Examples
    --------
    >>> net = GraphNetwork(("input", "hidden", "output"), (None, "relu", None),
    ...                    ((0, 1, 0, None), (1, 2, None, Fraction(1, 2))), 1)
    >>> network_path_lifting(net, max_terms=10)
    [{(1,): Fraction(1, 2)}]
    """
    incoming: dict[int, list] = {}
    for src, dst, param, value in net.edges:
        incoming.setdefault(dst, []).append((src, param, value))
    state = propagate_paths(range(len(net.kinds)), net.kinds.__getitem__, lambda node: incoming.get(node, ()),
                            lambda node: node if net.gated(node) else None, dim=net.dim, max_terms=max_terms)
    coords = []
    for node, kind in enumerate(net.kinds):
        if kind == "output":
            for key in sorted(state.get(node, {})):
                coord = {m: c for m, c in state[node][key].items() if c}
                if coord:
                    coords.append(coord)
    return coords


def propagate_paths(
    order: Iterable[Hashable],
    kind: Callable[[Hashable], str],
    incoming: Callable[[Hashable], Iterable[tuple[Hashable, int | None, Any]]],
    mark: Callable[[Hashable], Any],
    *,
    dim: int,
    max_terms: int,
) -> dict[Hashable, dict]:
    """The path polynomials reaching every node, by key, in one pass over ``order``.

    ``order`` lists the nodes in a topological order; ``incoming(node)`` gives its
    edges ``(source, parameter index or None, frozen value)``; a node for which
    ``mark(node)`` is not None appends that mark to the keys of the paths through
    it. A key is ``(start, marks)``: the input node, or ``-1`` for every bias node,
    and the marks passed. Raises BudgetExceeded past ``max_terms`` monomials.

    Examples
    --------
    >>> kinds = ("input", "hidden", "output")
    >>> edges = {1: [(0, 0, None)], 2: [(1, None, Fraction(1, 2))]}
    >>> state = propagate_paths(range(3), kinds.__getitem__, lambda n: edges.get(n, ()), lambda n: None,
    ...                         dim=1, max_terms=10)
    >>> state[2]
    {(0, ()): {(1,): Fraction(1, 2)}}
    """
    state: dict = {}
    total = 0
    for node in order:
        node_kind = kind(node)
        if node_kind in ("input", "bias"):
            state[node] = {(node if node_kind == "input" else -1, ()): {(0,) * dim: Fraction(1)}}
            continue
        acc: dict = {}
        for src, param, value in incoming(node):
            push_through_edge(acc, state.get(src, {}), param, value)
        label = mark(node)
        if label is not None:
            acc = {(start, marks + (label,)): poly for (start, marks), poly in acc.items()}
        total += sum(len(p) for p in acc.values())
        if total > max_terms:
            raise BudgetExceeded(
                f"the path-lifting of this network has more than max_terms={max_terms} monomials; "
                "exact expansion is for small networks"
            )
        state[node] = acc
    return state


def push_through_edge(acc: dict, polys: dict, param: int | None, value: Any) -> None:
    """Add the path polynomials ``polys`` of an edge's source, times the edge, into ``acc``.

    The edge is the parameter ``param`` (its exponent goes up by one in every
    monomial) or, when ``param`` is None, the frozen weight ``value``.
    Monomials are exponent tuples; ``acc`` and ``polys`` map a path key to
    ``{monomial: coefficient}``.

    Examples
    --------
    >>> acc = {}
    >>> push_through_edge(acc, {"p": {(1, 0): 2}}, 1, None)
    >>> acc
    {'p': {(1, 1): 2}}
    """
    for key, poly in polys.items():
        target = acc.setdefault(key, {})
        for mono, c in poly.items():
            if param is not None:
                m = list(mono)
                m[param] += 1
                mono, coef = tuple(m), c
            else:
                coef = c * value
            target[mono] = target.get(mono, 0) + coef
