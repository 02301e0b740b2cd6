"""Import of PyTorch modules (optional extra ``flowlaws[torch]``).

An ``nn.Sequential`` of ``Linear`` and activation layers becomes a layered
network (as :func:`~flowlaws.models.mlp`); any other module is traced with
``torch.fx`` into a graph of neurons (:mod:`flowlaws.models._torch_fx`).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, UnsupportedArchitecture
from ._builders import MAX_PARAMETERS, mlp
from ._model import Model

__all__ = ["from_torch"]


def _sequential(module: Any) -> Model:
    """The layered model of an ``nn.Sequential`` of ``Linear``, ``ReLU``, ``LeakyReLU`` and ``Identity`` layers.

    Parameter names follow ``module.named_parameters()``, so a law reads
    ``0.weight[3,0]^2 + … - 2.weight[0,3]^2``.

    Raises
    ------
    InvalidArgument
        Not an ``nn.Sequential``, or ``Linear`` layers whose sizes do not chain.
    UnsupportedArchitecture
        A layer of another type (the message names it), or two activations in a row.
    """
    try:
        import torch.nn as nn
    except ImportError as err:  # pragma: no cover - exercised without torch
        raise InvalidArgument("from_torch needs PyTorch: pip install 'flowlaws[torch]'") from err
    if not isinstance(module, nn.Sequential):
        raise InvalidArgument(f"module={type(module).__name__}: expected a torch.nn.Sequential of Linear and activation layers")
    widths: list[int] = []
    acts: list[str] = []
    biases: list[bool] = []
    pending = "linear"
    names: list[str] = []
    seen_linear = False
    for key, layer in module.named_children():
        if isinstance(layer, nn.Linear):
            if widths and widths[-1] != layer.in_features:
                raise InvalidArgument(
                    f"layer {key!r} expects {layer.in_features} inputs but the previous Linear gives {widths[-1]}"
                )
            if not widths:
                widths.append(layer.in_features)
            elif seen_linear:
                acts.append(pending)
            pending = "linear"
            widths.append(layer.out_features)
            biases.append(layer.bias is not None)
            names += [f"{key}.weight[{i},{j}]" for i in range(layer.out_features) for j in range(layer.in_features)]
            if layer.bias is not None:
                names += [f"{key}.bias[{i}]" for i in range(layer.out_features)]
            seen_linear = True
        elif isinstance(layer, (nn.ReLU, nn.LeakyReLU, nn.Identity)):
            kind = "relu" if isinstance(layer, nn.ReLU) else ("leaky_relu" if isinstance(layer, nn.LeakyReLU) else "linear")
            if kind != "linear":
                if pending != "linear" or not seen_linear:
                    raise UnsupportedArchitecture(
                        f"layer {key!r} ({type(layer).__name__}) must follow a Linear layer"
                    )
                pending = kind
        else:
            raise UnsupportedArchitecture(
                f"layer {key!r} ({type(layer).__name__}) is not supported; use Linear, ReLU, LeakyReLU, Identity"
            )
    if len(widths) < 2:
        raise InvalidArgument("the Sequential has no Linear layer")
    if pending != "linear":
        raise UnsupportedArchitecture("an activation after the last Linear layer changes the output, not the path-lifting; remove it")
    if len(set(biases)) > 1:
        raise UnsupportedArchitecture("mixing Linear layers with and without bias is not supported yet; use bias everywhere or nowhere")
    base = mlp(widths, activation=acts if acts else "linear", bias=biases[0])
    return Model(variables=tuple(names), kind="network", name=f"torch:{'x'.join(map(str, widths))}",
                 layers=base.layers, activations=base.activations, bias=base.bias)


def _example_shape(module: Any, example_input: Any) -> tuple[int, ...]:
    """The shape of ``example_input`` (a tensor or a tuple of ints), or inferred from a first ``Linear``."""
    import torch
    import torch.nn as nn

    if example_input is None:
        first = next((m for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))), None)
        if isinstance(first, nn.Linear):
            return (1, first.in_features)
        raise InvalidArgument(
            f"module={type(module).__name__}: give example_input, a tensor or a shape with the batch first, "
            "e.g. from_torch(net, (1, 3, 8, 8)); only a module whose first layer is a Linear can do without"
        )
    if isinstance(example_input, torch.Tensor):
        shape = tuple(example_input.shape)
    elif isinstance(example_input, (tuple, list, torch.Size)):
        shape = tuple(example_input)
    else:
        raise InvalidArgument(
            f"example_input={example_input!r} (type={type(example_input).__name__}): expected a tensor or a shape "
            "such as (1, 3, 8, 8)"
        )
    if (len(shape) < 2 or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape)
            or min(shape) < 1):
        raise InvalidArgument(
            f"example_input shape {shape!r}: expected at least two positive ints, the batch first, e.g. (1, 3, 8, 8)"
        )
    return shape


def from_torch(module: Any, example_input: Any = None, *, loss: str | None = None,
               max_parameters: int = MAX_PARAMETERS) -> Model:
    """The model of a PyTorch ``nn.Module`` whose forward is a DAG of neurons.

    An ``nn.Sequential`` of ``Linear``, ``ReLU``, ``LeakyReLU`` and ``Identity``
    layers becomes a layered network. Any other module is traced with
    ``torch.fx``: ``Linear``, ``Conv1d``/``Conv2d`` (stride, zero padding,
    dilation, groups, bias), ``ReLU``, ``LeakyReLU``, ``Identity``, ``Dropout``
    (the identity: training-time noise is not part of the flow), ``Flatten``,
    ``view``/``reshape``, ``AvgPool`` and ``AdaptiveAvgPool`` (frozen exact
    weights ``1/k``), ``MaxPool`` (gates), ``mean``/``sum``, residual ``+``,
    ``torch.cat`` and scaling by an int; ``nn.MultiheadAttention``
    (``batch_first``), hand-written ``softmax(q @ k.transpose(-2, -1)) @ v`` and
    ``F.scaled_dot_product_attention`` (φ then holds the score products
    ``Q_h K_hᵀ`` of each head as explicit polynomials), ``LayerNorm`` (eps
    taken as 0: only the differences of its input are read) and a final
    ``softmax``/``log_softmax`` (only the logits' differences are read).
    Parameter names follow ``module.named_parameters()``
    with the entry's index, e.g. ``layer1.0.conv1.weight[3,1,0,2]``, in
    ``named_parameters()`` order (row-major within a parameter).

    Parameters
    ----------
    module : torch.nn.Module
    example_input : torch.Tensor or tuple of int, optional
        An input, or its shape, batch first (``(1, 3, 8, 8)``); one sample is
        traced. Not needed when the first layer is a ``Linear``.
    loss : {None, "cross_entropy"}
        ``"cross_entropy"``: the module returns logits (classes on dim 1) that
        a softmax cross-entropy loss reads, so only their differences matter
        (a final ``softmax``/``log_softmax`` in ``forward`` is read the same way).
    max_parameters : int
        Refuse a graph with more neurons or weighted edges, before allocating them.

    Returns
    -------
    Model
        ``model.notes`` lists what the import idealized (Dropout, LayerNorm,
        left-out parameters). A network model, or an explicit polynomial model
        when the module has attention.

    Raises
    ------
    InvalidArgument
        Not an ``nn.Module``, no usable ``example_input``, or (``nn.Sequential``) sizes that do not chain.
    UnsupportedArchitecture
        A layer or operation outside the list above (the message names the traced node),
        or a forward ``torch.fx`` cannot trace.
    BudgetExceeded
        A graph larger than ``max_parameters`` neurons or edges.

    Examples
    --------
    >>> import torch.nn as nn
    >>> net = nn.Sequential(nn.Conv1d(1, 2, 2, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(6, 1, bias=False))
    >>> model = from_torch(net, (1, 1, 4))
    >>> model.dim, model.variables[:3]
    (10, ('0.weight[0,0,0]', '0.weight[0,0,1]', '0.weight[1,0,0]'))
    >>> from_torch(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid()))
    Traceback (most recent call last):
    ...
    flowlaws.errors.UnsupportedArchitecture: traced node '_1' = '1' (Sigmoid) is not supported; from_torch supports ...
    """
    try:
        import torch.nn as nn
    except ImportError as err:  # pragma: no cover - exercised without torch
        raise InvalidArgument("from_torch needs PyTorch: pip install 'flowlaws[torch]'") from err
    if not isinstance(module, nn.Module):
        raise InvalidArgument(f"module={module!r} (type={type(module).__name__}): expected a torch.nn.Module")
    if loss not in (None, "cross_entropy"):
        raise InvalidArgument(f"loss={loss!r}: expected None or 'cross_entropy'")
    if loss is None and isinstance(module, nn.Sequential) and all(
            isinstance(m, (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Identity)) for m in module.children()):
        try:
            layered = _sequential(module)
        except UnsupportedArchitecture:
            layered = None  # e.g. an activation at the end or mixed biases: the traced graph handles it
        if layered is not None and (example_input is None or _example_shape(module, example_input)[1:]
                                    == (layered.layers[0],)):
            from ._builders import _check_total

            _check_total(f"the network {layered.name}", layered.dim, max_parameters, "from_torch")
            return layered
    return _traced(module, _example_shape(module, example_input), max_parameters, loss)


def _traced(module: Any, shape: tuple[int, ...], max_parameters: int, loss: str | None = None) -> Model:
    from ..algebra._graph_network import GraphNetwork
    from ._graph import graph_network
    from ._torch_fx import trace_to_graph

    G, keys, notes = trace_to_graph(module, shape, max_parameters=max_parameters, loss=loss)
    net, names = graph_network(G)
    if G.graph.get("scores") or G.graph.get("mixing"):
        return _with_scores(module, shape, G, keys, notes, net, names)
    order = sorted(range(len(names)), key=lambda k: keys[names[k]])
    new_index = {old: new for new, old in enumerate(order)}
    edges = tuple((s, d, None if p is None else new_index[p], v) for s, d, p, v in net.edges)
    net = GraphNetwork(net.kinds, net.activations, edges, net.dim)
    variables = tuple(names[k] for k in order)
    model = Model(variables=variables, kind="network", network=net,
                  name=f"torch:{type(module).__name__}({'x'.join(map(str, shape[1:]))})")
    model.graph = G
    model.notes = list(notes)  # type: ignore[attr-defined]
    return model


def _with_scores(module: Any, shape: tuple[int, ...], G, keys, notes, net, names) -> Model:
    """A model with attention: φ = the graph's path-lifting and the score products, as explicit polynomials."""
    from ._model import DEFAULT_MAX_PHI_TERMS, integer_coordinates
    from ._torch_attention import labelled_path_lifting

    used = set(names)
    for poly in G.graph["scores"]:
        for mono in poly:
            used.update(mono)
    variables = tuple(sorted(used, key=lambda n: keys[n]))
    index = {v: k for k, v in enumerate(variables)}
    D = len(variables)
    coords = labelled_path_lifting(G, index, max_terms=DEFAULT_MAX_PHI_TERMS)
    for poly in G.graph["scores"]:
        out = {}
        for mono, c in poly.items():
            e = [0] * D
            for n in mono:
                e[index[n]] += 1
            out[tuple(e)] = out.get(tuple(e), 0) + c
        coords.append(out)
    phi, seen = [], set()
    for coord in integer_coordinates(coords):
        key = tuple(sorted(coord.items()))
        if key not in seen:
            seen.add(key)
            phi.append(coord)
    model = Model(variables=variables, kind="polynomials", phi=phi,
                  name=f"torch:{type(module).__name__}({'x'.join(map(str, shape[1:]))})")
    model.graph = G
    model.notes = list(notes)  # type: ignore[attr-defined]
    return model
