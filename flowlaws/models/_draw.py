"""A picture of an architecture: layers left to right, weights as edges.

Trainable weights are solid grey, shared ones coloured per parameter name,
frozen ones dashed black.
"""

from __future__ import annotations

from typing import Any

from .._optional import require

__all__ = ["draw_model"]


def _positions(G) -> dict:
    import networkx as nx

    depth: dict = {}
    for node in nx.topological_sort(G):
        preds = list(G.predecessors(node))
        depth[node] = G.nodes[node].get("layer", 1 + max((depth[p] for p in preds), default=-1))
    columns: dict[int, list] = {}
    for node, d in depth.items():
        columns.setdefault(d, []).append(node)
    pos = {}
    for d, nodes in columns.items():
        for k, node in enumerate(nodes):
            pos[node] = (d, -(k - (len(nodes) - 1) / 2))
    return pos


def draw_model(model, *, path: str | None = None, ax: Any = None):
    """Draw ``model.graph``; return the figure (saved to ``path`` when given)."""
    matplotlib = require("matplotlib", extra="plots", what="drawing a model")

    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    plt = require("matplotlib.pyplot", extra="plots", what="drawing a model")
    import networkx as nx

    from ..errors import InvalidArgument

    G = model.graph
    if G is None:
        raise InvalidArgument(f"{model.name} is given by polynomials, not an architecture: there is nothing to draw")
    if ax is None:
        fig, ax = plt.subplots(figsize=(2 + 1.6 * (1 + max(1, len(G) // 8)), 4))
    else:
        fig = ax.figure
    pos = _positions(G)
    uses: dict[str, int] = {}
    for _, _, data in G.edges(data=True):
        if data.get("trainable", True):
            name = data.get("param")
            if name is not None:
                uses[name] = uses.get(name, 0) + 1
    shared = sorted(n for n, k in uses.items() if k > 1)
    cmap = plt.get_cmap("tab10")
    colours = {n: cmap(i % 10) for i, n in enumerate(shared)}
    styles = {"trainable": [], "frozen": [], "shared": []}
    edge_colours = []
    for u, v, data in G.edges(data=True):
        if not data.get("trainable", True):
            styles["frozen"].append((u, v))
        elif data.get("param") in colours:
            styles["shared"].append((u, v))
            edge_colours.append(colours[data["param"]])
        else:
            styles["trainable"].append((u, v))
    node_colour = {"input": "#8fbcd4", "hidden": "#f4d58d", "output": "#a9d18e", "bias": "#dddddd"}
    nx.draw_networkx_nodes(G, pos, ax=ax, node_size=380,
                           node_color=[node_colour[G.nodes[n]["kind"]] for n in G.nodes])
    nx.draw_networkx_labels(G, pos, ax=ax, font_size=7)
    nx.draw_networkx_edges(G, pos, edgelist=styles["trainable"], ax=ax, edge_color="#888888", arrows=True)
    nx.draw_networkx_edges(G, pos, edgelist=styles["frozen"], ax=ax, style="dashed", edge_color="black", arrows=True)
    if styles["shared"]:
        nx.draw_networkx_edges(G, pos, edgelist=styles["shared"], ax=ax, edge_color=edge_colours, width=2.2, arrows=True)
    ax.set_title(f"{model.name}: {model.dim} parameters"
                 + (f", shared: {', '.join(shared[:4])}" if shared else "")
                 + (", dashed = frozen" if styles["frozen"] else ""), fontsize=9)
    ax.set_axis_off()
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
