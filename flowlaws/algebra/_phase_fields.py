"""Momentum and Nesterov fields of a network, evaluated at a point mod p.

On the phase space ``(s, θ, v)`` (index 0 the time coordinate, ``1..D`` the
parameters, ``D+1..2D`` the velocities; ``docs/certificate-format.md``, "Other
flows") word leaf ``0`` is the drift ``χ_0`` and leaf ``k ≥ 1`` the lift
``(0, 0, ∇F_{k-1}(θ))`` of the seeded gradient-flow generator ``k − 1`` of
:class:`~flowlaws.algebra._dag_fields.DagGenerators` (or, for a layered
network, :class:`~flowlaws.algebra._network_fields.NetworkGenerators`). Brackets are
evaluated exactly on jets, like the gradient-flow route: the drift is linear
(bilinear for Nesterov), so its jet is computed componentwise, and the lift's
jet is the backward pass run on the jet of ``θ``. Nothing is expanded: the cost
of a word is a few backward passes, whatever the number of paths.

This module does not check that the network is small enough for any budget,
nor that the drift's integers match a flow: callers build :class:`Drift` from a
validated flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._dag_fields import DagGenerators
from ._graph_network import GraphNetwork
from ._jets import add_unit, jet_mul, unit_part
from ._network_fields import LayeredNetwork, NetworkGenerators

__all__ = ["Drift", "PhaseNetworkGenerators"]


@dataclass(frozen=True)
class Drift:
    """The drift ``χ_0`` of a phase-space flow, with integer coefficients.

    Attributes
    ----------
    kind : {"exp", "time", "nesterov"}
        ``"exp"``: momentum with ``τ = a/b > 0``, ``χ_0 = (a s, b v, −a v − k θ)``;
        ``"time"``: momentum with ``τ = 0``, ``χ_0 = (b, b v, −k θ)``;
        ``"nesterov"``: ``χ_0 = (t, t v, −3 v)``.
    a, b : int
        ``τ = a/b`` (``"exp"``; ``b`` is the common scale, not always ``τ``'s denominator).
    k : int
        Weight decay ``λ = k/b`` (``θ'' + τθ' = −∇L − λθ``); 0 without.

    Examples
    --------
    >>> Drift("exp", 1, 2).time_power, Drift("time").time_power, Drift("nesterov").time_power
    (1, 0, 3)
    """

    kind: str
    a: int = 0
    b: int = 1
    k: int = 0

    @property
    def time_power(self) -> int:
        """The power of the time coordinate in the Noether charges ``time^k · Q(θ, v)``.

        ``Q`` bilinear with ``∂_θ Q · v = 0`` and ``∂_v Q · v = Q``: ``s·Q`` under
        ``(a s, b v, −a v)``, ``Q`` under ``(1, v, 0)``, ``t³·Q`` under ``(t, t v, −3v)``.
        """
        return {"exp": 1, "time": 0, "nesterov": 3}[self.kind]

    def apply(self, x: np.ndarray, p: int) -> np.ndarray:
        """``χ_0`` on a jet of phase points ``x`` (``(2**k, B, 2D + 1)``), same shape, mod ``p``."""
        D = (x.shape[-1] - 1) // 2
        out = np.zeros(x.shape, dtype=np.int64)
        v = x[..., D + 1 :]
        if self.kind == "exp":
            out[..., 0] = (self.a % p) * x[..., 0]  # τ = a/b may exceed int64: reduce first
            out[..., 1 : D + 1] = (self.b % p) * v
            out[..., D + 1 :] = (p - self.a % p) * v
        elif self.kind == "time":
            out[0, ..., 0] = self.b % p
            out[..., 1 : D + 1] = (self.b % p) * v % p
        else:
            out[..., 0] = x[..., 0]
            out[..., 1 : D + 1] = jet_mul(x[..., 0:1], v, p)
            out[..., D + 1 :] = (p - 3) * v
        if self.k and self.kind != "nesterov":  # weight decay: −k θ on the velocities
            out[..., D + 1 :] = (out[..., D + 1 :] + (p - self.k % p) * (x[..., 1 : D + 1] % p)) % p
        return out % p


class PhaseNetworkGenerators:
    """Momentum / Nesterov generator fields of a layered network, evaluated mod ``p``.

    Words are right-nested tuples of leaves: ``0`` is the drift ``χ_0``, ``k ≥ 1``
    the lift of the seeded gradient generator ``∇F_{k-1}``; ``(0, 1)`` is
    ``[χ_0, (0, 0, ∇F_0)]``.

    Parameters
    ----------
    network : GraphNetwork or LayeredNetwork
        Its seeded gradient generators come from :class:`DagGenerators` (a
        ``GraphNetwork``) or :class:`NetworkGenerators` (a ``LayeredNetwork``).
    drift : Drift
    seed : int
        The seed of the generator combinations (``"network-combinations"``).
    prime : int

    Examples
    --------
    ``[χ_0, lift_a] = (0, −∇F_a, D∇F_a·v + τ∇F_a)`` (here ``τ = 1``):

    >>> import numpy as np
    >>> net = LayeredNetwork((1, 1, 1), ("linear",), False)     # φ = w2 * w1
    >>> fam = PhaseNetworkGenerators(net, Drift("exp", 1, 1), seed=0, prime=101)
    >>> x = np.array([3, 2, 5, 7, 11])                          # s, w1, w2, w1', w2'
    >>> lift, br = fam.evaluate([(1,), (0, 1)], x)
    >>> [int(v) for v in (br[1:3] + lift[3:5]) % 101]
    [0, 0]
    """

    finite_generators = None

    def __init__(self, network: GraphNetwork | LayeredNetwork, drift: Drift, *, seed: int, prime: int) -> None:
        self.network = network
        self.drift = drift
        self.seed = seed
        self.prime = prime
        self.base: DagGenerators | NetworkGenerators
        if isinstance(network, GraphNetwork):
            self.base = DagGenerators(network, seed=seed, prime=prime)
        else:
            self.base = NetworkGenerators(network, seed=seed, prime=prime)
        self.params = network.dim
        self.dim = 2 * network.dim + 1

    def _lift(self, x: np.ndarray, gens: np.ndarray) -> np.ndarray:
        D = self.params
        out = np.zeros((x.shape[0], len(gens), self.dim), dtype=np.int64)
        out[..., D + 1 :] = self.base.gradient(x[..., 1 : D + 1], gens)
        return out

    def _leaf(self, is_drift: bool, gens: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.drift.apply(x, self.prime) if is_drift else self._lift(x, gens)

    def _field(self, shape: tuple[bool, ...], gens: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Right-nested word values on the jet ``x``; ``gens[:, i]`` is leaf ``i``'s generator."""
        p = self.prime
        if len(shape) == 1:
            return self._leaf(shape[0], gens[:, 0] - 1, x)
        X = self._leaf(shape[0], gens[:, 0] - 1, x)
        Y = self._field(shape[1:], gens[:, 1:], x)
        B = max(X.shape[1], Y.shape[1], x.shape[1])
        nj = x.shape[0]
        xb = np.broadcast_to(x, (nj, B, self.dim))
        Xb = np.broadcast_to(X, (nj, B, self.dim))
        Yb = np.broadcast_to(Y, (nj, B, self.dim))
        DY_X = unit_part(self._field(shape[1:], gens[:, 1:], add_unit(xb, Xb)))
        DX_Y = unit_part(self._leaf(shape[0], gens[:, 0] - 1, add_unit(xb, Yb)))
        return (DY_X - DX_Y) % p

    def evaluate(self, words: list[tuple[int, ...]], point: np.ndarray) -> np.ndarray:
        """Values mod ``p`` of right-nested words at an integer phase point: ``(len(words), 2D + 1)``."""
        out = np.zeros((len(words), self.dim), dtype=np.int64)
        x = (np.asarray(point, dtype=np.int64) % self.prime)[None, None, :]
        by_shape: dict[tuple[bool, ...], list[int]] = {}
        for i, w in enumerate(words):
            by_shape.setdefault(tuple(leaf == 0 for leaf in w), []).append(i)
        for shape, idx in by_shape.items():
            # jets of 2**(len - 1) components: keep each chunk's jets below about 2**24 entries
            size = max(1, min(256, (1 << 24) // ((1 << (len(shape) - 1)) * self.dim)))
            for start in range(0, len(idx), size):
                chunk = idx[start : start + size]
                gens = np.array([words[i] for i in chunk], dtype=np.int64)
                vals = self._field(shape, gens, x)[0]
                out[chunk] = np.broadcast_to(vals, (len(chunk), self.dim))
        return out
