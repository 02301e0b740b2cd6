"""Architectures and their reparametrizations φ.

Builders return a :class:`Model`; :func:`parse` reads the CLI's spec strings.
"""

from ._blocks import conv1d, resnet_block
from ._builders import factorization, from_polynomials, mlp, nmf, symmetric_factorization
from ._graph import from_graph
from ._model import Model
from ._products import attention, deep_product, from_products
from ._spec import parse
from ._torch import from_torch

__all__ = [
    "Model",
    "mlp",
    "factorization",
    "nmf",
    "symmetric_factorization",
    "from_polynomials",
    "from_graph",
    "from_products",
    "attention",
    "deep_product",
    "resnet_block",
    "conv1d",
    "from_torch",
    "parse",
]
