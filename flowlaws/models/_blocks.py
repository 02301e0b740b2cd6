"""Graph builders: residual blocks and 1-D convolutions (weight sharing)."""

from __future__ import annotations

from ..errors import InvalidArgument
from ._builders import MAX_PARAMETERS, _activation, _check_size, _check_total
from ._graph import from_graph
from ._model import Model

__all__ = ["resnet_block", "conv1d"]


def resnet_block(
    width: int,
    hidden: int,
    *,
    activation: str = "relu",
    skip: bool = True,
    bias: bool = False,
    max_parameters: int = MAX_PARAMETERS,
) -> Model:
    """``y = W2 σ(W1 x) + x``: a residual block of input/output ``width`` (the skip is a fixed identity).

    With ``skip=False`` the same block without the identity path.

    Examples
    --------
    >>> resnet_block(2, 3).dim
    12
    """
    import networkx as nx

    width, hidden = _check_size("width", width), _check_size("hidden", hidden)
    _check_total(f"resnet {width}x{hidden}", 2 * width * hidden + (hidden if bias else 0), max_parameters, "resnet_block")
    act = _activation(activation)
    G = nx.DiGraph()
    for j in range(width):
        G.add_node(f"x{j}", kind="input")
        G.add_node(f"y{j}", kind="output")
    for i in range(hidden):
        G.add_node(f"h{i}", kind="hidden", activation=act)
        for j in range(width):
            G.add_edge(f"x{j}", f"h{i}", param=f"W1[{i},{j}]")
    if bias:
        G.add_node("bias1", kind="bias")
        for i in range(hidden):
            G.add_edge("bias1", f"h{i}", param=f"b1[{i}]")
    for j in range(width):
        for i in range(hidden):
            G.add_edge(f"h{i}", f"y{j}", param=f"W2[{j},{i}]")
        if skip:
            G.add_edge(f"x{j}", f"y{j}", trainable=False, value=1)
    return from_graph(G, name=f"resnet{'+bias' if bias else ''}:{width}x{hidden}{'' if skip else '(no skip)'}")


def conv1d(
    length: int,
    kernel: int,
    *,
    channels: int = 1,
    activation: str = "relu",
    outputs: int = 1,
    max_parameters: int = MAX_PARAMETERS,
) -> Model:
    """A 1-D convolution (one shared kernel per channel, stride 1, no padding) then a dense output layer.

    Every window position reuses the kernel ``k{c}[t]``: convolution-like sharing.

    Examples
    --------
    >>> conv1d(4, 2).variables[:2]
    ('k0[0]', 'k0[1]')
    """
    import networkx as nx

    length, kernel = _check_size("length", length), _check_size("kernel", kernel)
    channels, outputs = _check_size("channels", channels), _check_size("outputs", outputs)
    if kernel > length:
        raise InvalidArgument(f"kernel={kernel} > length={length}: the kernel must fit in the input")
    positions = length - kernel + 1
    # parameters, and the graph's weighted edges (each use of a shared kernel is an edge)
    _check_total(f"conv1d {length}x{kernel}x{channels}", channels * kernel + outputs * channels * positions,
                 max_parameters, "conv1d")
    _check_total(f"the graph of conv1d {length}x{kernel}x{channels}",
                 channels * positions * (kernel + outputs), max_parameters, "conv1d", unit="weighted edges")
    act = _activation(activation)
    G = nx.DiGraph()
    for j in range(length):
        G.add_node(f"x{j}", kind="input")
    for o in range(outputs):
        G.add_node(f"y{o}", kind="output")
    for c in range(channels):
        for s in range(positions):
            h = f"h{c}_{s}"
            G.add_node(h, kind="hidden", activation=act)
            for t in range(kernel):
                G.add_edge(f"x{s + t}", h, param=f"k{c}[{t}]")
            for o in range(outputs):
                G.add_edge(h, f"y{o}", param=f"V[{o},{c},{s}]")
    return from_graph(G, name=f"conv1d:{length}x{kernel}x{channels}")
