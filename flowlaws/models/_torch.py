"""Import of PyTorch ``nn.Sequential`` models (optional extra ``flowlaws[torch]``)."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidArgument, UnsupportedArchitecture
from ._builders import mlp
from ._model import Model

__all__ = ["from_torch"]


def from_torch(module: Any) -> Model:
    """The model of an ``nn.Sequential`` of ``Linear``, ``ReLU``, ``LeakyReLU`` and ``Identity`` layers.

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
