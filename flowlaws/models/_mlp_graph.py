"""The ``networkx.DiGraph`` of a fully connected network (``Model.graph`` of an ``mlp``).

Examples
--------
>>> G = mlp_graph((2, 1), (), False, ("a", "b"))
>>> sorted(G.edges(data="param"))
[('x0', 'y0', 'a'), ('x1', 'y0', 'b')]
"""

from __future__ import annotations

from typing import Any

__all__ = ["mlp_graph"]


def mlp_graph(layers, activations, bias: bool, variables) -> Any:
    """The ``networkx.DiGraph`` of a fully connected network, parameters named as ``variables``."""
    import networkx as nx

    G = nx.DiGraph()
    L = len(layers) - 1
    pos = 0
    for j in range(layers[0]):
        G.add_node(f"x{j}", kind="input", layer=0)
    for l in range(1, L + 1):
        for i in range(layers[l]):
            if l < L:
                G.add_node(f"h{l}_{i}", kind="hidden", activation=activations[l - 1], layer=l)
            else:
                G.add_node(f"y{i}", kind="output", layer=l)

    def node(l: int, i: int) -> str:
        return f"x{i}" if l == 0 else (f"h{l}_{i}" if l < L else f"y{i}")

    for l in range(1, L + 1):
        for i in range(layers[l]):
            for j in range(layers[l - 1]):
                G.add_edge(node(l - 1, j), node(l, i), param=variables[pos])
                pos += 1
        if bias:
            G.add_node(f"bias{l}", kind="bias", layer=l - 1)
            for i in range(layers[l]):
                G.add_edge(f"bias{l}", node(l, i), param=variables[pos])
                pos += 1
    return G
