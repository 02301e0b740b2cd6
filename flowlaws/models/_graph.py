"""Architectures as networkx graphs (DESIGN section 6) and their path-lifting.

A ``networkx.DiGraph`` must be acyclic. Nodes are neurons with ``kind`` in
``{"input", "hidden", "output", "bias"}`` and, for hidden nodes, ``activation``
in ``{"linear", "relu", "leaky_relu"}`` (default ``"relu"``). Edges are weights:
``param="name"`` makes edges share one parameter, ``trainable=False`` fixes a
weight (to ``value=``, default 1, an exact number).

The path-lifting has one coordinate per key (start node — an input, or the
constant 1 for every bias node —, set of ReLU / leaky-ReLU nodes on the path,
output node): the sum over the paths with that key of the product of their
weights. It is expanded explicitly, so graphs are for architectures whose
paths number in the hundreds of thousands at most.

This module does not check that a graph is a sensible network beyond what the
path-lifting needs: acyclic, known kinds and activations, every node on some
path from a source (input or bias) to an output, exact fixed values, and
``param`` names used consistently.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

from ..errors import DomainError, InvalidArgument, UnsupportedArchitecture
from ._mlp_graph import mlp_graph  # noqa: F401  (re-exported)
from ._model import DEFAULT_MAX_PHI_TERMS, Model

__all__ = ["from_graph", "mlp_graph", "graph_path_lifting", "graph_network"]

KINDS = ("input", "hidden", "output", "bias")
ACTIVATIONS = ("linear", "relu", "leaky_relu")
HOMOGENEOUS = ("relu", "leaky_relu")


def _exact(value: Any, where: str) -> Fraction:
    if isinstance(value, bool):
        raise DomainError(f"{where}: value={value!r} is a bool; give an exact number such as 1 or Fraction(1, 2)")
    if isinstance(value, float):
        what = "is not finite" if not math.isfinite(value) else "is a float"
        raise DomainError(
            f"{where}: value={value!r} {what}; fixed weights must be exact: use an int, Fraction or a string like '1/2'"
        )
    if isinstance(value, (numbers.Rational, str)):
        try:
            return Fraction(value)
        except (ValueError, ZeroDivisionError) as err:
            raise DomainError(f"{where}: value={value!r} is not an exact rational") from err
    raise DomainError(f"{where}: value={value!r} (type={type(value).__name__}) is not an exact rational")


def _validate(G) -> tuple[list, dict, list[str], dict]:
    import networkx as nx

    if not isinstance(G, nx.DiGraph) or G.is_multigraph():
        raise InvalidArgument(f"G={G!r} (type={type(G).__name__}): expected a networkx.DiGraph")
    if G.number_of_nodes() == 0:
        raise InvalidArgument("G has no nodes: add input, hidden and output nodes with kind=...")
    cycle = None
    if not nx.is_directed_acyclic_graph(G):  # linear time; find_cycle is much slower on large acyclic graphs
        cycle = nx.find_cycle(G)
    if cycle:
        raise InvalidArgument(
            f"G has a cycle through node {cycle[0][0]!r} ({' -> '.join(repr(u) for u, _ in cycle)} -> {cycle[0][0]!r}); "
            "architectures must be acyclic"
        )
    kinds = {}
    for node, data in G.nodes(data=True):
        kind = data.get("kind")
        if kind not in KINDS:
            raise InvalidArgument(f"node {node!r}: kind={kind!r}; every node needs kind in {KINDS}")
        if kind == "hidden":
            act = data.get("activation", "relu")
            if act not in ACTIVATIONS:
                raise UnsupportedArchitecture(
                    f"node {node!r}: activation={act!r} has no polynomial path-lifting; use one of {ACTIVATIONS}"
                )
        if kind in ("input", "bias") and G.in_degree(node):
            raise InvalidArgument(f"node {node!r} of kind {kind!r} has incoming edges; sources take no input")
        if kind == "output" and G.out_degree(node):
            raise InvalidArgument(f"node {node!r} is an output but has outgoing edges; add a hidden node instead")
        kinds[node] = kind
    sources = [n for n, k in kinds.items() if k in ("input", "bias")]
    outputs = [n for n, k in kinds.items() if k == "output"]
    if not [n for n in sources if kinds[n] == "input"] and not [n for n in sources if kinds[n] == "bias"]:
        raise InvalidArgument("G has no input or bias node")
    if not outputs:
        raise InvalidArgument("G has no output node (kind='output')")
    order = list(nx.topological_sort(G))  # one sweep each way instead of a search per source and output
    reach_out = set(outputs)
    for node in reversed(order):
        if node in reach_out:
            reach_out.update(G.predecessors(node))
    reach_in = set(sources)
    for node in order:
        if node in reach_in:
            reach_in.update(G.successors(node))
    for node in G.nodes:
        if node not in reach_out:
            raise InvalidArgument(f"node {node!r} has no path to an output: remove it or connect it")
        if node not in reach_in:
            raise InvalidArgument(f"node {node!r} is not reached from any input or bias node: remove it or connect it")
    # parameters
    names: list[str] = []
    index: dict[str, int] = {}
    edge_param: dict = {}
    for u, v, data in G.edges(data=True):
        trainable = data.get("trainable", True)
        if not isinstance(trainable, bool):
            raise InvalidArgument(f"edge {u!r}->{v!r}: trainable={trainable!r} must be True or False")
        if trainable:
            if "value" in data:
                raise InvalidArgument(
                    f"edge {u!r}->{v!r}: value= is for fixed weights; set trainable=False or drop value"
                )
            name = data.get("param", f"w[{u},{v}]")
            if (not isinstance(name, str) or not name or not name.isascii() or not name.isprintable()
                    or any(c.isspace() for c in name)):  # printed with the laws: no control characters
                raise InvalidArgument(
                    f"edge {u!r}->{v!r}: param={name!r} must be a non-empty printable ASCII name without spaces")
            if name not in index:
                index[name] = len(names)
                names.append(name)
            edge_param[(u, v)] = ("param", index[name])
        else:
            if "param" in data:
                raise InvalidArgument(
                    f"edge {u!r}->{v!r}: param={data['param']!r} is used on a fixed edge (trainable=False); "
                    "a shared parameter must be trainable on every edge that uses it"
                )
            edge_param[(u, v)] = ("fixed", _exact(data.get("value", 1), f"edge {u!r}->{v!r}"))
    if not names:
        raise InvalidArgument("G has no trainable edge: nothing to analyse")
    return order, kinds, names, edge_param


def graph_network(G):
    """``(GraphNetwork, parameter names)`` of a validated ``networkx.DiGraph`` (nodes in topological order).

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", kind="input"); G.add_node("h", kind="hidden", activation="relu")
    >>> G.add_node("y", kind="output")
    >>> G.add_edge("x", "h", param="a"); G.add_edge("h", "y", trainable=False, value="1/2")
    >>> net, names = graph_network(G)
    >>> net.edges, names
    (((0, 1, 0, None), (1, 2, None, Fraction(1, 2))), ['a'])
    """
    from ..algebra._graph_network import GraphNetwork

    order, kinds, names, edge_param = _validate(G)
    position = {node: k for k, node in enumerate(order)}
    acts = tuple(G.nodes[n].get("activation", "relu") if kinds[n] == "hidden" else None for n in order)
    edges = []
    for (u, v), (how, what) in edge_param.items():
        edges.append((position[u], position[v], what, None) if how == "param" else (position[u], position[v], None, what))
    edges.sort(key=lambda e: (e[1], e[0]))
    return GraphNetwork(tuple(kinds[n] for n in order), acts, tuple(edges), len(names)), names


def graph_path_lifting(G, *, max_terms: int = DEFAULT_MAX_PHI_TERMS):
    """``(variables, φ coordinates as {exponents: Fraction})`` of a validated graph."""
    from ._paths import network_path_lifting

    net, names = graph_network(G)
    return names, network_path_lifting(net, max_terms=max_terms)


def from_graph(G, *, name: str | None = None, max_terms: int = DEFAULT_MAX_PHI_TERMS) -> Model:
    """The model of an architecture given as a ``networkx.DiGraph``.

    Parameters
    ----------
    G : networkx.DiGraph
        Nodes with ``kind`` (and ``activation`` for hidden nodes), edges with
        optional ``param=`` (sharing), ``trainable=False`` and ``value=``.
    name : str, optional
    max_terms : int
        Budget of monomials when the path-lifting is expanded (``model.phi``,
        explicit routes); the network route never expands it.

    Returns
    -------
    Model
        A network model: ``model.network`` is its :class:`~flowlaws.algebra._graph_network.GraphNetwork`,
        ``model.graph`` is ``G``.

    Raises
    ------
    InvalidArgument
        A cycle (naming a node on it), unknown kinds, dangling nodes, misuse of ``param``.
    UnsupportedArchitecture
        An activation other than linear, ReLU or leaky ReLU.
    DomainError
        A fixed weight given as a float, NaN or infinity.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("x", kind="input"); G.add_node("h", kind="hidden", activation="relu")
    >>> G.add_node("y", kind="output")
    >>> G.add_edge("x", "h", param="a"); G.add_edge("h", "y", param="b")
    >>> from_graph(G).phi
    [a*b]
    >>> G.add_edge("y", "x")
    >>> from_graph(G)
    Traceback (most recent call last):
    ...
    flowlaws.errors.InvalidArgument: G has a cycle through node 'x' ('x' -> 'h' -> 'y' -> 'x'); architectures must be acyclic
    """
    net, names = graph_network(G)
    model = Model(variables=tuple(names), kind="network", name=name or f"graph({G.number_of_nodes()} nodes)",
                  network=net, max_phi_terms=max_terms)
    model.graph = G
    return model
