"""Index arithmetic of the PyTorch layers :func:`~flowlaws.models.from_torch` reads.

Pure functions on shapes: which input position meets which kernel entry in a
convolution, the windows of (adaptive) average pooling and their exact
divisors. They know nothing of torch, networkx or parameters, so the tests can
compare them with PyTorch's own outputs.

Examples
--------
>>> conv_pairs(length=4, kernel=3, stride=2, pad=(1, 1), dilation=1)
(2, [(0, 1, 0), (0, 2, 1), (1, 0, 1), (1, 1, 2), (1, 2, 3)])
>>> avg_windows(5, kernel=2, stride=2, pad=0, ceil_mode=False)
[(0, 2, 2), (2, 4, 2)]
>>> adaptive_windows(5, 3)
[(0, 2), (1, 4), (3, 5)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Neurons", "Param", "conv_pairs", "same_padding", "avg_windows", "adaptive_windows", "as_tuple"]


def as_tuple(value, n: int, what: str) -> tuple:
    """``value`` repeated ``n`` times when it is a single int, else the tuple itself (length ``n``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * n
    value = tuple(value)
    if len(value) == 1 and n > 1:
        value = value * n
    if len(value) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{what}={value!r}: expected {n} integers")
    return value


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """``padding='same'`` as PyTorch pads it: the odd extra zero goes after the input.

    >>> same_padding(4, 1)
    (1, 2)
    """
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def conv_pairs(*, length: int, kernel: int, stride: int, pad: tuple[int, int], dilation: int):
    """``(output length, [(output position, kernel offset, input position), ...])`` of one axis.

    Only the pairs that meet the input are listed: kernel entries that fall on
    zero padding contribute nothing to the output.
    """
    span = dilation * (kernel - 1) + 1
    out = (length + pad[0] + pad[1] - span) // stride + 1
    pairs = []
    for o in range(max(out, 0)):
        for k in range(kernel):
            i = o * stride - pad[0] + k * dilation
            if 0 <= i < length:
                pairs.append((o, k, i))
    return out, pairs


def _pool_out(length: int, kernel: int, stride: int, pad: int, ceil_mode: bool) -> int:
    num = length + 2 * pad - kernel
    out = (-(-num // stride) if ceil_mode else num // stride) + 1
    if ceil_mode and (out - 1) * stride >= length + pad:  # PyTorch: the last window must start inside
        out -= 1
    return out


def avg_windows(length: int, *, kernel: int, stride: int, pad: int, ceil_mode: bool):
    """Per output position of an ``AvgPool`` axis: ``(start, end, padded size)`` over the input.

    ``start:end`` are the input positions in the window; ``padded size`` counts
    the window inside the padded input (PyTorch's divisor when
    ``count_include_pad=True``).
    """
    out = []
    for o in range(_pool_out(length, kernel, stride, pad, ceil_mode)):
        start = o * stride - pad
        end = min(start + kernel, length + pad)
        size = end - start
        out.append((max(start, 0), min(end, length), size))
    return out


def adaptive_windows(length: int, out: int):
    """``[(start, end), ...]`` of ``AdaptiveAvgPool`` from ``length`` to ``out`` positions (PyTorch's rule)."""
    return [((o * length) // out, -(-((o + 1) * length) // out)) for o in range(out)]


class Neurons:
    """The neurons of one traced tensor: an array of graph node ids (batch dimension of size 1)."""

    __slots__ = ("ids", "owner", "storage")

    def __init__(self, ids: np.ndarray, owner: Any, storage: int) -> None:
        self.ids, self.owner, self.storage = ids, owner, storage


class Param:
    """A parameter read with ``get_attr`` (usable only as the weight or bias of ``F.linear``/``F.conv*``)."""

    __slots__ = ("name", "tensor")

    def __init__(self, name: str, tensor: Any) -> None:
        self.name, self.tensor = name, tensor
