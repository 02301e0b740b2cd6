"""Generators of a layered network's gradient flow, evaluated at a point mod p.

The path-lifting φ of a deep network has a number of coordinates exponential
in depth, so this module never lists them. Generator ``a`` is the gradient of
``F_a = Σ c_key(a) φ_key``: the network run on seeded input values, with every
ReLU / leaky-ReLU neuron replaced by multiplication with a seeded gate and the
outputs summed with seeded weights (``docs/certificate-format.md``). Its
gradient is one backward pass, and brackets of such fields are evaluated
exactly by running the same passes on jets (forward-mode over reverse-mode).

Any integer combination of generators lies in the generated Lie algebra, so a
rank computed from these values is a rigorous lower bound of its trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._jets import GradientWords, jet_matvec, jet_outer
from ._modular import splitmix_values

__all__ = ["LayeredNetwork", "NetworkGenerators"]

HOMOGENEOUS = {"relu", "leaky_relu"}


@dataclass(frozen=True)
class LayeredNetwork:
    """A fully connected network: widths, hidden activations, biases.

    Parameter order: ``W1, b1, W2, b2, …`` (``W_l`` row-major ``n_l × n_{l-1}``).
    """

    layers: tuple[int, ...]
    activations: tuple[str, ...]
    bias: bool

    @property
    def depth(self) -> int:
        return len(self.layers) - 1

    def slices(self) -> list[tuple[slice, slice | None]]:
        """Per layer ``l = 1..L``: the slice of ``W_l`` and of ``b_l`` (or None)."""
        out, pos = [], 0
        for l in range(1, len(self.layers)):
            n_out, n_in = self.layers[l], self.layers[l - 1]
            w = slice(pos, pos + n_out * n_in)
            pos += n_out * n_in
            b = None
            if self.bias:
                b = slice(pos, pos + n_out)
                pos += n_out
            out.append((w, b))
        return out

    @property
    def dim(self) -> int:
        sl = self.slices()
        last_w, last_b = sl[-1]
        return (last_b or last_w).stop

    def node_offsets(self) -> list[int]:
        return [sum(self.layers[:l]) for l in range(len(self.layers) + 1)]


class NetworkGenerators(GradientWords):
    """Seeded generator fields ``∇F_a`` of a layered network, evaluated mod ``p``.

    Words are right-nested tuples of generator indices: ``(a,)`` is ``∇F_a``
    and ``(a, b, c)`` is ``[∇F_a, [∇F_b, ∇F_c]]``.

    Examples
    --------
    >>> import numpy as np
    >>> net = LayeredNetwork((1, 1, 1), ("linear",), False)      # φ = w2 * w1
    >>> gens = NetworkGenerators(net, seed=0, prime=16777213)
    >>> point = np.array([2, 3])
    >>> v = gens.evaluate([(0,)], point)[0]
    >>> bool(v[0] * 2 % gens.prime == v[1] * 3 % gens.prime)   # ∝ (w2, w1)
    True
    """

    finite_generators = None

    def __init__(self, network: LayeredNetwork, *, seed: int, prime: int) -> None:
        self.network = network
        self.seed = seed
        self.prime = prime
        self.dim = network.dim
        self._slices = network.slices()
        self._offsets = network.node_offsets()

    # -- seeded combination values ------------------------------------------------
    def _node_values(self, gens: np.ndarray, layer: int) -> np.ndarray:
        lo, hi = self._offsets[layer], self._offsets[layer + 1]
        return splitmix_values(self.seed, gens[:, None], np.arange(lo, hi)[None, :], self.prime)

    def _constant_values(self, gens: np.ndarray) -> np.ndarray:
        return splitmix_values(self.seed, gens, np.full(gens.shape, self._offsets[-1]), self.prime)

    def combination(self, gens: np.ndarray) -> dict[str, object]:
        """The seeded values of generators ``gens``: inputs, gates, outputs, constant."""
        net = self.network
        gates = []
        for l, act in enumerate(net.activations, start=1):
            gates.append(self._node_values(gens, l) if act in HOMOGENEOUS else None)
        return {
            "input": self._node_values(gens, 0),
            "gates": gates,
            "output": self._node_values(gens, net.depth),
            "constant": self._constant_values(gens),
        }

    # -- ∇F_a on jets -------------------------------------------------------------
    def gradient(self, theta: np.ndarray, gens: np.ndarray) -> np.ndarray:
        """``∇F_a(θ)`` for each ``a`` in ``gens``; ``θ`` is a jet ``(2**k, Bθ, D)``."""
        p = self.prime
        net = self.network
        nj = theta.shape[0]
        B = len(gens)
        comb = self.combination(gens)

        def const(values: np.ndarray) -> np.ndarray:
            J = np.zeros((nj,) + values.shape, dtype=np.int64)
            J[0] = values
            return J

        def scale(J: np.ndarray, values: np.ndarray) -> np.ndarray:
            return (J * values[None]) % p

        weights, biases = [], []
        for l, (ws, bs) in enumerate(self._slices, start=1):
            n_out, n_in = net.layers[l], net.layers[l - 1]
            weights.append(theta[:, :, ws].reshape(nj, theta.shape[1], n_out, n_in))
            biases.append(theta[:, :, bs] if bs is not None else None)
        # forward
        hs = [const(comb["input"])]
        for l in range(1, net.depth + 1):
            pre = jet_matvec(weights[l - 1], hs[-1], p)
            if biases[l - 1] is not None:
                pre = (pre + scale(np.broadcast_to(biases[l - 1], pre.shape), comb["constant"][:, None])) % p
            if l < net.depth:
                gate = comb["gates"][l - 1]
                pre = scale(pre, gate) if gate is not None else pre
            hs.append(pre)
        # backward
        grad = np.zeros((nj, B, self.dim), dtype=np.int64)
        delta = const(comb["output"])
        for l in range(net.depth, 0, -1):
            ws, bs = self._slices[l - 1]
            grad[:, :, ws] = jet_outer(delta, hs[l - 1], p).reshape(nj, B, -1)
            if bs is not None:
                grad[:, :, bs] = scale(delta, comb["constant"][:, None])
            if l > 1:
                Wt = np.swapaxes(weights[l - 1], -1, -2)
                delta = jet_matvec(Wt, delta, p)
                gate = comb["gates"][l - 2]
                delta = scale(delta, gate) if gate is not None else delta
        return grad
