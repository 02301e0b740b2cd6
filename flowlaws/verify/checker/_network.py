"""The path-lifting of a layered network, rebuilt by the checker itself.

Implements the ``"network"`` model and the ``"network-combinations"``
generators of ``docs/certificate-format.md``: parameters ``W1, b1, W2, b2, …``
(weights row-major), nodes numbered layer by layer with the constant source
last, one coordinate of φ per key (start node, relu/leaky-relu hidden nodes on
the path, output node), and ``F_a = Σ_keys c_key(a) φ_key`` with the node
values of :func:`z`.

Both expansions run a forward pass over the layers, so shared path prefixes
are multiplied once. Their size is the number of paths; :meth:`Network.path_count`
lets the caller refuse networks too large to expand.

What this module does not check: the sizes of ``layers`` (the schema step
bounds them) and the activation names' spelling beyond membership.

Examples
--------
>>> net = Network((2, 2, 1), ("relu",), False)
>>> net.dim, net.names()[:3], net.path_count()
(6, ['W1[0,0]', 'W1[0,1]', 'W1[1,0]'], 4)
>>> [phi.to_str(net.names()) for _, phi in net.coordinates()][:2]
['W1[0,0]*W2[0,0]', 'W1[1,0]*W2[0,1]']
"""

from __future__ import annotations

from collections.abc import Sequence

from ._polys import Monomial, Poly

__all__ = ["ACTIVATIONS", "HOMOGENEOUS", "Network", "z"]

ACTIVATIONS = ("linear", "relu", "leaky_relu")
HOMOGENEOUS = frozenset({"relu", "leaky_relu"})

_M = 2**64
_MASK = _M - 1

Key = tuple[int, tuple[int, ...], int]


def z(seed: int, a: int, v: int, p: int) -> int:
    """The node value ``z(seed, a, v, p)`` of the spec (a SplitMix64-style hash mod ``p``).

    Examples
    --------
    >>> z(0, 0, 0, 2**61 - 1) == z(0, 0, 0, 2**61 - 1)
    True
    >>> 0 <= z(7, 3, 5, 101) < 101
    True
    """
    x = (seed * 0x9E3779B97F4A7C15 + a * 0xBF58476D1CE4E5B9 + v * 0x94D049BB133111EB + 0xD1B54A32D192ED03) & _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return x % p


class Network:
    """A fully connected layered network as the certificate describes it.

    Parameters
    ----------
    layers : sequence of int
        Widths ``n_0, …, n_L`` (``L >= 1``, every width ``>= 1``).
    activations : sequence of str
        One per hidden layer, each in :data:`ACTIVATIONS`.
    bias : bool
        Whether every layer ``l = 1..L`` has a bias vector ``b_l``.
    """

    def __init__(self, layers: Sequence[int], activations: Sequence[str], bias: bool) -> None:
        self.layers = tuple(layers)
        self.activations = tuple(activations)
        self.bias = bool(bias)
        L = len(self.layers) - 1
        if L < 1 or len(self.activations) != L - 1:
            raise ValueError(
                f"layers={list(self.layers)} needs {max(L - 1, 0)} activations, got {list(self.activations)}"
            )
        self.L = L
        # parameter offsets
        self.w_start: list[int] = []
        self.b_start: list[int | None] = []
        pos = 0
        for l in range(1, L + 1):
            self.w_start.append(pos)
            pos += self.layers[l] * self.layers[l - 1]
            if self.bias:
                self.b_start.append(pos)
                pos += self.layers[l]
            else:
                self.b_start.append(None)
        self.dim = pos
        self.node_start = [sum(self.layers[:l]) for l in range(L + 1)]
        self.source = sum(self.layers)

    @staticmethod
    def count_parameters(layers: Sequence[int], bias: bool) -> int:
        """``D`` without building anything."""
        return sum(layers[l] * layers[l - 1] + (layers[l] if bias else 0) for l in range(1, len(layers)))

    def names(self) -> list[str]:
        """Parameter names in coordinate order: ``W1[i,j]``, ``b1[i]``, ``W2[i,j]``, …"""
        out = []
        for l in range(1, self.L + 1):
            out += [f"W{l}[{i},{j}]" for i in range(self.layers[l]) for j in range(self.layers[l - 1])]
            if self.bias:
                out += [f"b{l}[{i}]" for i in range(self.layers[l])]
        return out

    def path_count(self) -> int:
        """Number of paths (= monomials of the path-lifting), input and bias paths."""
        total = 0
        suffix = 1
        for l in range(self.L, 0, -1):
            suffix *= self.layers[l]
            if self.bias:
                total += suffix
        return total + suffix * self.layers[0]

    def _homogeneous(self, l: int) -> bool:
        """Whether hidden layer ``l`` (1 <= l < L) has a relu-like activation."""
        return l < self.L and self.activations[l - 1] in HOMOGENEOUS

    def node_label(self, node: int) -> str:
        """``'layer l neuron j (node n)'``, or the constant source."""
        if node == self.source:
            return f"the constant source (node {node})"
        for l in range(self.L, -1, -1):
            if node >= self.node_start[l]:
                return f"layer {l} neuron {node - self.node_start[l]} (node {node})"
        raise ValueError(f"node={node} is not a node of layers={list(self.layers)}")

    def describe_key(self, key: Key) -> str:
        """Readable description of a coordinate's key.

        Examples
        --------
        >>> Network((2, 2, 1), ("relu",), False).describe_key((1, (3,), 4))
        'paths from layer 0 neuron 1 (node 1) to layer 2 neuron 0 (node 4) through relu-like layer 1 neuron 1 (node 3)'
        """
        start, hidden, out = key
        via = " through relu-like " + ", ".join(self.node_label(v) for v in hidden) if hidden else ""
        return f"paths from {self.node_label(start)} to {self.node_label(out)}{via}"

    def coordinates(self) -> list[tuple[Key, Poly]]:
        """The coordinates of φ over Z, one per key, in sorted key order."""
        # state[j] = {(start, homogeneous hidden nodes): {monomial: coef}}
        state: list[dict[tuple[int, tuple[int, ...]], dict[Monomial, int]]] = [
            {(j, ()): {(): 1}} for j in range(self.layers[0])
        ]
        for l in range(1, self.L + 1):
            n_in = self.layers[l - 1]
            ws, bs = self.w_start[l - 1], self.b_start[l - 1]
            homog = self._homogeneous(l)
            new_state = []
            for i in range(self.layers[l]):
                acc: dict[tuple[int, tuple[int, ...]], dict[Monomial, int]] = {}
                for j in range(n_in):
                    w = ((ws + i * n_in + j, 1),)
                    for key, poly in state[j].items():
                        target = acc.setdefault(key, {})
                        for m, c in poly.items():
                            mm = m + w  # parameters of later layers have larger indices
                            target[mm] = target.get(mm, 0) + c
                if bs is not None:
                    target = acc.setdefault((self.source, ()), {})
                    mm = ((bs + i, 1),)
                    target[mm] = target.get(mm, 0) + 1
                if homog:
                    node = self.node_start[l] + i
                    acc = {(s, h + (node,)): poly for (s, h), poly in acc.items()}
                new_state.append(acc)
            state = new_state
        out: list[tuple[Key, Poly]] = []
        for i, groups in enumerate(state):
            node = self.node_start[self.L] + i
            for (s, h), poly in groups.items():
                out.append(((s, h, node), Poly(poly)))
        out.sort(key=lambda kp: kp[0])
        return out

    def combination(self, seed: int, a: int, p: int) -> Poly:
        """``F_a = Σ_keys c_key(a) φ_key`` mod ``p`` (the network with node values ``z``)."""
        vals: list[dict[Monomial, int]] = [{(): z(seed, a, j, p)} for j in range(self.layers[0])]
        const = z(seed, a, self.source, p)
        total: dict[Monomial, int] = {}
        for l in range(1, self.L + 1):
            n_in = self.layers[l - 1]
            ws, bs = self.w_start[l - 1], self.b_start[l - 1]
            last = l == self.L
            homog = self._homogeneous(l)
            new_vals = []
            for i in range(self.layers[l]):
                node = self.node_start[l] + i
                if last:
                    scale = z(seed, a, node, p)
                elif homog:
                    scale = z(seed, a, node, p)
                else:
                    scale = 1
                acc = total if last else {}
                for j in range(n_in):
                    w = ((ws + i * n_in + j, 1),)
                    for m, c in vals[j].items():
                        mm = m + w
                        acc[mm] = (acc.get(mm, 0) + c * scale) % p
                if bs is not None:
                    mm = ((bs + i, 1),)
                    acc[mm] = (acc.get(mm, 0) + const * scale) % p
                if not last:
                    new_vals.append({m: c for m, c in acc.items() if c})
            vals = new_vals
        return Poly(total, p)
