"""The path-lifting of a network (layered or a DAG), expanded into explicit polynomials.

One coordinate per key (start node, set of ReLU / leaky-ReLU hidden nodes on
the path, output node); paths with the same key are summed, so linear
networks get the entries of their end-to-end affine map. Exponential in depth:
only for the exact checks of small networks.
"""

from __future__ import annotations

from ..errors import BudgetExceeded
from fractions import Fraction
from typing import Any

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
    D = net.dim
    incoming: dict[int, list] = {}
    for src, dst, param, value in net.edges:
        incoming.setdefault(dst, []).append((src, param, value))
    state: dict[int, dict] = {}
    total = 0
    for node, kind in enumerate(net.kinds):
        if kind in ("input", "bias"):
            state[node] = {(node if kind == "input" else -1, ()): {(0,) * D: Fraction(1)}}
            continue
        acc: dict = {}
        for src, param, value in incoming.get(node, ()):
            push_through_edge(acc, state[src], param, value)
        if net.gated(node):
            acc = {(start, nodes + (node,)): poly for (start, nodes), poly in acc.items()}
        total += sum(len(p) for p in acc.values())
        if total > max_terms:
            raise BudgetExceeded(
                f"the path-lifting of this network has more than max_terms={max_terms} monomials; "
                "exact expansion is for small networks"
            )
        state[node] = acc
    coords = []
    for node, kind in enumerate(net.kinds):
        if kind == "output":
            for key in sorted(state.get(node, {})):
                coord = {m: c for m, c in state[node][key].items() if c}
                if coord:
                    coords.append(coord)
    return coords


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
