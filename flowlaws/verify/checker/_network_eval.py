"""Bracket words of a network's seeded generators at a point mod p, without expanding paths.

The ``"network-combinations"`` generator ``a`` of ``docs/certificate-format.md``
is ``∇F_a`` where ``F_a`` is the network run on seeded node values: input
``z(a, input node)``, constant ``z(a, source)`` for the biases, every
relu/leaky-relu neuron multiplied by ``z(a, node)`` (linear neurons by 1) and
the outputs summed with weights ``z(a, output)`` (:func:`~._network.z`).
``∇F_a(θ)`` is one forward and one backward pass, so its cost is ``O(D)``
instead of the number of paths.

A bracket ``[U, V](x) = DV(x)·U(x) − DU(x)·V(x)`` needs directional
derivatives of fields. Fields are evaluated on *jets*: truncated
multivariate dual numbers ``x + Σ_S x_S ε^S`` with nilpotent ``ε_1, …, ε_k``
(``ε_i² = 0``), stored as ``2**k`` component arrays indexed by the subset
``S`` (forward mode over the backward pass). Then::

    u    = U(x)                       (a jet in ε_1..ε_k)
    V(x + ε_{k+1} u) = V(x) + ε_{k+1} DV(x)·u
    U(x + ε_{k+1} V(x)) = U(x) + ε_{k+1} DU(x)·V(x)

and the bracket is the difference of the two ``ε_{k+1}`` parts. This is
exact for any tree of brackets (a word of depth ``d`` uses ``d``
infinitesimals). Words with the same tree shape are evaluated together with
a batch dimension (every leaf of the batch its own generator index).

Flows with a drift (momentum, Nesterov; ``docs/certificate-format.md``,
"Other flows") live on ``(time, θ, v)``: leaf 0 is ``χ_0``, leaf ``k ≥ 1``
the lift ``(0, 0, H_{k-1})``; the metric ``"nmf"`` multiplies ``G`` by ``θ``
(gradient flow) or by ``a θ + b v`` (momentum, ``τ = a/b``).

All arithmetic is on NumPy int64 arrays reduced mod ``p`` after every
product, which is exact when ``(max width + 2) · p² < 2**63``
(:func:`fast_route_problem`); for larger primes or widths the caller keeps
the explicit path expansion of :mod:`flowlaws.verify.checker._network`.

What this module does not check: word shapes and generator indices (the
schema and generators steps do), nor that ``p`` is prime.

Examples
--------
>>> from flowlaws.verify.checker._network import Network
>>> net = Network((2, 3, 1), ("relu",), True)
>>> ev = NetworkWords(net, seed=0, p=101, point=list(range(net.dim)))
>>> explicit = net.combination(0, 4, 101).gradient_at(list(range(net.dim)))
>>> [int(x) for x in ev.values([4])[0]] == [explicit.get(j, 0) for j in range(net.dim)]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._flows import FlowSpec
from ._network import Network

__all__ = ["NetworkWords", "fast_route_problem", "z_array"]

_GRADIENT = FlowSpec("gradient")
_U64 = 2**64
_C_SEED, _C_A, _C_V, _C_ADD = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD1B54A32D192ED03
#: Batch elements × phase dimension × jet components evaluated at once.
_CHUNK_ELEMENTS = 1 << 24


def fast_route_problem(net: Network, p: int) -> str | None:
    """Why the jet evaluation cannot be exact in int64 for this network and prime, or ``None``.

    >>> fast_route_problem(Network((3, 4, 2), ("relu",), False), 16777213) is None
    True
    >>> fast_route_problem(Network((3, 4, 2), ("relu",), False), 2**61 - 1)
    'p=2305843009213693951: (width + 2) * p**2 must stay below 2**63 for exact int64 products'
    """
    width = max(net.layers) + 2
    if width * p * p >= 2**63:
        return f"p={p}: (width + 2) * p**2 must stay below 2**63 for exact int64 products"
    return None


def z_array(seed: int, a: Any, v: Any, p: int) -> Any:
    """:func:`~._network.z` vectorised: ``a`` and ``v`` broadcastable integer arrays, result int64.

    >>> import numpy as np
    >>> from flowlaws.verify.checker._network import z
    >>> got = z_array(3, np.array([[0], [7]]), np.array([[0, 5, 9]]), 101)
    >>> got.tolist() == [[z(3, a, v, 101) for v in (0, 5, 9)] for a in (0, 7)]
    True
    """
    import numpy as np

    a = np.asarray(a, dtype=np.uint64)
    v = np.asarray(v, dtype=np.uint64)
    base = np.uint64((seed * _C_SEED + _C_ADD) % _U64)
    x = (a * np.uint64(_C_A) + v * np.uint64(_C_V)) + base
    x = np.asarray(x, dtype=np.uint64)
    x ^= x >> np.uint64(30)
    x *= np.uint64(_C_A)
    x ^= x >> np.uint64(27)
    x *= np.uint64(_C_V)
    x ^= x >> np.uint64(31)
    return (x % np.uint64(p)).astype(np.int64)


# -- jets ---------------------------------------------------------------------------------------------
class _Jet:
    """``Σ_S comps[S] ε^S`` with ``ε_i² = 0``; a component is an int64 array mod ``p`` or ``None`` (zero)."""

    __slots__ = ("k", "comps")

    def __init__(self, k: int, comps: list[Any]) -> None:
        self.k = k
        self.comps = comps

    @classmethod
    def const(cls, k: int, value: Any) -> _Jet:
        return cls(k, [value] + [None] * ((1 << k) - 1))

    def map(self, f: Any) -> _Jet:
        """Apply a linear map to every component."""
        return _Jet(self.k, [None if c is None else f(c) for c in self.comps])

    def extend(self, u: _Jet) -> _Jet:
        """``self + ε_{k+1} u`` (``u`` a jet in the same ``ε_1..ε_k``)."""
        return _Jet(self.k + 1, self.comps + u.comps)

    def split(self) -> tuple[_Jet, _Jet]:
        """``(part without ε_k, coefficient of ε_k)``, both jets in ``ε_1..ε_{k-1}``."""
        half = 1 << (self.k - 1)
        return _Jet(self.k - 1, self.comps[:half]), _Jet(self.k - 1, self.comps[half:])


def _add(x: Any, y: Any) -> Any:
    if x is None:
        return y
    if y is None:
        return x
    return x + y


def _sub_jets(x: _Jet, y: _Jet, p: int) -> _Jet:
    out = []
    for a, b in zip(x.comps, y.comps):
        if b is None:
            out.append(a)
        elif a is None:
            out.append((-b) % p)
        else:
            out.append((a - b) % p)
    return _Jet(x.k, out)


def _product(x: _Jet, y: _Jet, op: Any, p: int) -> _Jet:
    """The jet of a bilinear ``op`` (products reduced mod ``p``): ``Σ_{T ⊆ S} op(x_T, y_{S∖T})``."""
    k = max(x.k, y.k)
    xc = x.comps + [None] * ((1 << k) - len(x.comps))
    yc = y.comps + [None] * ((1 << k) - len(y.comps))
    out: list[Any] = []
    for s in range(1 << k):
        acc = None
        t = s
        while True:
            a, b = xc[t], yc[s ^ t]
            if a is not None and b is not None:
                term = op(a, b) % p
                acc = term if acc is None else (acc + term) % p
            if t == 0:
                break
            t = (t - 1) & s
        out.append(acc)
    return _Jet(k, out)


def _mul(a: Any, b: Any) -> Any:
    return a * b


def _matvec(w: Any, h: Any) -> Any:
    """``w @ h`` over the last axes, batch axes broadcast (``w``: ``(..., n, m)``, ``h``: ``(..., m)``)."""
    import numpy as np

    return np.einsum("...ij,...j->...i", w, h)


def _rmatvec(w: Any, d: Any) -> Any:
    """``w^T @ d`` over the last axes (``w``: ``(..., n, m)``, ``d``: ``(..., n)``)."""
    import numpy as np

    return np.einsum("...ij,...i->...j", w, d)


def _outer(d: Any, h: Any) -> Any:
    """``d ⊗ h`` flattened row-major (``(..., n) × (..., m) -> (..., n·m)``)."""
    o = d[..., :, None] * h[..., None, :]
    return o.reshape(o.shape[:-2] + (o.shape[-2] * o.shape[-1],))


# -- the network ---------------------------------------------------------------------------------------
class NetworkWords:
    """Values of bracket words of a network's generators at one point mod ``p``.

    Parameters
    ----------
    net : Network
        The model (``"network"`` kind).
    seed : int
        ``generators.seed``.
    p : int
        The prime (see :func:`fast_route_problem`).
    point : sequence of int
        The point in the flow's phase space (``D`` or ``2D + 1`` coordinates).
    flow : FlowSpec, optional
        The flow (gradient flow, euclidean metric, by default).
    """

    def __init__(
        self, net: Network, *, seed: int, p: int, point: Sequence[int], flow: FlowSpec = _GRADIENT
    ) -> None:
        import numpy as np

        problem = fast_route_problem(net, p)
        if problem:
            raise ValueError(problem)
        self.net = net
        self.seed = seed
        self.p = p
        self.flow = flow
        self.D = net.dim
        self.dim = flow.dim(net.dim)
        if len(point) != self.dim:
            raise ValueError(f"point has {len(point)} coordinates, the {flow.describe()} needs {self.dim}")
        self.point = np.array([int(x) % p for x in point], dtype=np.int64)
        self.shift = 1 if flow.has_drift else 0  # θ_j is phase coordinate shift + j
        self.target = self.D + 1 if flow.has_drift else 0  # where a lifted field's components go

    # -- generator fields on jets ------------------------------------------------------------------
    def _seeds(self, a: Any) -> tuple[Any, Any, list[Any]]:
        """Input values ``(B, n0)``, constant ``(B, 1)`` and the scale of every layer ``l = 1..L``."""
        import numpy as np

        net, seed, p = self.net, self.seed, self.p
        col = a.reshape(-1, 1)
        zin = z_array(seed, col, np.arange(net.layers[0]).reshape(1, -1), p)
        src = z_array(seed, col, np.array([[net.source]]), p)
        scales: list[Any] = []
        for l in range(1, net.L + 1):
            if l == net.L or net._homogeneous(l):
                nodes = net.node_start[l] + np.arange(net.layers[l]).reshape(1, -1)
                scales.append(z_array(seed, col, nodes, p))
            else:
                scales.append(None)
        return zin, src, scales

    def _gradient(self, a: Any, theta: _Jet) -> _Jet:
        """``∇F_a`` at the jet ``theta`` (components ``(..., D)``), one generator per batch element."""
        import numpy as np

        net, p = self.net, self.p
        zin, src, scales = self._seeds(a)
        B = a.shape[0]
        weights: list[_Jet] = []
        biases: list[_Jet | None] = []
        for l in range(1, net.L + 1):
            n, m = net.layers[l], net.layers[l - 1]
            ws = net.w_start[l - 1]
            weights.append(theta.map(lambda c, ws=ws, n=n, m=m: c[..., ws : ws + n * m].reshape(c.shape[:-1] + (n, m))))
            bs = net.b_start[l - 1]
            biases.append(None if bs is None else theta.map(lambda c, bs=bs, n=n: c[..., bs : bs + n]))
        # forward: u_l = W_l h_{l-1} + b_l * src, h_l = scale_l * u_l
        hs: list[_Jet] = [_Jet.const(0, zin)]
        for l in range(1, net.L + 1):
            u = _product(weights[l - 1], hs[-1], _matvec, p)
            b = biases[l - 1]
            if b is not None:
                u = _Jet(u.k, [_add(x, None if y is None else y * src % p) for x, y in zip(u.comps, _pad(b, u.k).comps)])
                u = u.map(lambda c: c % p)
            s = scales[l - 1]
            if s is not None and l < net.L:
                u = u.map(lambda c, s=s: c * s % p)
            hs.append(u)
        # backward: delta_L = scale_L, grad W_l = delta_l ⊗ h_{l-1}, delta_{l-1} = scale_{l-1} (W_l^T delta_l)
        k = theta.k
        delta = _Jet.const(0, scales[-1])
        pieces: list[_Jet] = []
        for l in range(net.L, 0, -1):
            gw = _product(delta, hs[l - 1], _outer, p)
            if biases[l - 1] is not None:
                pieces.append(delta.map(lambda c: c * src % p))  # grad b_l = delta_l * src
            pieces.append(gw)
            if l > 1:
                delta = _product(weights[l - 1], delta, _rmatvec, p)
                s = scales[l - 2]
                if s is not None:
                    delta = delta.map(lambda c, s=s: c * s % p)
        pieces.reverse()  # W1, b1, W2, b2, ...
        out: list[Any] = []
        for i in range(1 << k):
            parts = [_pad(piece, k).comps[i] for piece in pieces]
            if all(x is None for x in parts):
                out.append(None)
                continue
            full = []
            for piece, x in zip(pieces, parts):
                width = _piece_width(piece)
                full.append(np.broadcast_to(x, (B, width)) if x is not None else np.zeros((B, width), dtype=np.int64))
            out.append(np.concatenate(full, axis=-1))
        return _Jet(k, out)

    def _leaf(self, leaf: int | None, a: Any, x: _Jet) -> _Jet:
        """The flow's word leaf at the jet ``x``: ``leaf is None`` for ``χ_0``, else generator ``a`` (per element)."""
        import numpy as np

        p, D, flow = self.p, self.D, self.flow
        if leaf is None:
            return self._drift(x)
        theta = x.map(lambda c: c[..., self.shift : self.shift + D])
        g = self._gradient(a, theta)
        if flow.metric == "nmf":
            if flow.has_drift:
                ta, tb = (t % p for t in flow.ab)  # reduced first: int64 products stay below p**2
                w = x.map(lambda c: (ta * c[..., 1 : D + 1] + tb * c[..., D + 1 :]) % p)
            else:
                w = theta
            g = _product(w, g, _mul, p)
        if not flow.has_drift:
            return g
        B = a.shape[0]

        def lift(c: Any) -> Any:
            out = np.zeros((B, self.dim), dtype=np.int64)
            out[:, D + 1 :] = c
            return out

        return g.map(lift)

    def _drift(self, x: _Jet) -> _Jet:
        """``χ_0`` at the jet ``x`` (``docs/certificate-format.md``, "Fields")."""
        import numpy as np

        p, D, flow = self.p, self.D, self.flow

        def linear(c: Any, c0: int, cth: int, cv: int, ck: int = 0) -> Any:
            c0, cth, cv, ck = c0 % p, cth % p, cv % p, ck % p  # int64 products stay below p**2
            out = np.zeros(c.shape, dtype=np.int64)
            if c0:
                out[..., 0] = c0 * c[..., 0] % p
            if cth:
                out[..., 1 : D + 1] = cth * c[..., D + 1 :] % p
            if cv:
                out[..., D + 1 :] = cv * c[..., D + 1 :] % p
            if ck:  # weight decay: −k θ on the velocities
                out[..., D + 1 :] = (out[..., D + 1 :] + ck * c[..., 1 : D + 1]) % p
            return out

        ta, tb, tk = flow.drift_coefficients()
        if flow.name == "momentum" and flow.tau:
            return x.map(lambda c: linear(c, ta, tb, -ta, -tk))
        if flow.name == "momentum":
            out = x.map(lambda c: linear(c, 0, tb, 0, -tk))
            c0 = out.comps[0]
            if c0 is None:
                c0 = np.zeros(self.point.shape, dtype=np.int64)
            c0 = c0.copy()
            c0[..., 0] = tb % p
            out.comps[0] = c0
            return out
        # nesterov: (t, t v, -3 v)
        out = x.map(lambda c: linear(c, 1, 0, -3))
        tv = _product(x.map(lambda c: c[..., 0:1]), x.map(lambda c: c[..., D + 1 :]), _mul, p)
        comps = []
        for c, e in zip(out.comps, tv.comps):
            if e is not None:
                c = np.zeros(e.shape[:-1] + (self.dim,), dtype=np.int64) + (0 if c is None else c)
                c[..., 1 : D + 1] = (c[..., 1 : D + 1] + e) % p
            comps.append(c)
        return _Jet(out.k, comps)

    # -- words -----------------------------------------------------------------------------------------
    def _work_width(self) -> int:
        """Entries per batch element and jet component of the largest array a pass builds."""
        return self.dim

    def _eval(self, shape: Any, leaves: Any, pos: list[int], x: _Jet) -> _Jet:
        """Evaluate a word shape at the jet ``x``; ``leaves[:, pos[0]]`` is the next leaf's generator."""
        if not isinstance(shape, tuple):
            j = pos[0]
            pos[0] += 1
            return self._leaf(None if shape == "C" else 1, leaves[:, j], x)
        left, right = shape
        start = pos[0]
        u = self._eval(left, leaves, pos, x)
        vfull = self._eval(right, leaves, pos, x.extend(_pad(u, x.k)))
        v0, dv_u = vfull.split()
        end = pos[0]
        pos[0] = start
        ufull = self._eval(left, leaves, pos, x.extend(_pad(v0, x.k)))
        pos[0] = end
        du_v = ufull.split()[1]
        return _sub_jets(_pad(dv_u, x.k), _pad(du_v, x.k), self.p)

    def _shape(self, word: Any, leaves: list[int]) -> Any:
        if isinstance(word, int):
            if self.flow.has_drift:
                if word == 0:
                    leaves.append(0)
                    return "C"
                leaves.append(word - 1)
            else:
                leaves.append(word)
            return "G"
        return (self._shape(word[0], leaves), self._shape(word[1], leaves))

    def values(self, words: Sequence[Any], progress: Any = None) -> Any:
        """The words' values at the point, an int64 array ``(len(words), dim)`` with entries in ``[0, p)``.

        Words are int leaves or pairs ``(U, V)`` (lists are accepted too).
        ``progress(done, total)`` is called after every batch when given.
        """
        import numpy as np

        groups: dict[Any, list[tuple[int, list[int]]]] = {}
        for i, w in enumerate(words):
            leaves: list[int] = []
            shape = self._shape(w, leaves)
            groups.setdefault(shape, []).append((i, leaves))
        out = np.zeros((len(words), self.dim), dtype=np.int64)
        done = 0
        for shape, members in groups.items():
            depth = _depth(shape)
            chunk = max(1, _CHUNK_ELEMENTS // (self._work_width() * (1 << depth) * (depth + 1)))
            for s in range(0, len(members), chunk):
                part = members[s : s + chunk]
                idx = np.array([i for i, _ in part], dtype=np.int64)
                table = np.array([lv for _, lv in part], dtype=np.uint64).reshape(len(part), -1)
                x = _Jet.const(0, self.point)
                val = self._eval(shape, table, [0], x).comps[0]
                if val is None:
                    continue
                out[idx] = np.broadcast_to(val, (len(part), self.dim)) % self.p
                done += len(part)
                if progress is not None:
                    progress(done, len(words))
        return out


def _pad(j: _Jet, k: int) -> _Jet:
    """The same jet seen with ``k`` infinitesimals (zero components for the new ones)."""
    if j.k >= k:
        return j
    return _Jet(k, j.comps + [None] * ((1 << k) - len(j.comps)))


def _piece_width(piece: _Jet) -> int:
    for c in piece.comps:
        if c is not None:
            return int(c.shape[-1])
    return 0  # pragma: no cover - a gradient piece always has its value


def _depth(shape: Any) -> int:
    return 0 if not isinstance(shape, tuple) else 1 + max(_depth(shape[0]), _depth(shape[1]))


#: Cost units of one bracket-shape group besides its arrays, per jet operation: the Python work of
#: one pass, measured as about as long as 600 array entries.
_GROUP_OVERHEAD = 600


def jet_work(words: Sequence[Any], dim: int, has_drift: bool) -> int:
    """Units of work of :meth:`NetworkWords.values` on ``words``, counted before any evaluation.

    A leaf (one pass) on jets with ``k`` infinitesimals costs ``3^k`` (the component products of
    :func:`_product`), and a bracket ``[U, V]`` at ``k`` evaluates ``U`` at ``k`` and ``k + 1``
    and ``V`` at ``k + 1``: ``c([U, V], k) = c(U, k) + c(U, k + 1) + c(V, k + 1)`` (``4^d / 2``
    for a left comb of depth ``d``, ``7^d`` for a balanced tree). Words of one tree shape
    share one batch, so a group of ``n`` words costs ``c(shape, 0)·(600 + n·dim)`` units,
    about 10 ns each on one core (measured: one balanced depth-8 word on ``relu:3x4x3``, 3.6e9
    units, took 29 s; a left comb of depth 8 on 5,600 parameters, 8.1e8 units, 7.4 s; the
    engine's own certificates cost at most about 10^8).

    >>> jet_work([0, 1, 2], dim=10, has_drift=False)  # one group of depth 0: 600 + 3*10
    630
    >>> jet_work([[0, [1, 2]]], dim=10, has_drift=False)  # c = 1 + 3 + (3 + 9 + 9) = 25, times 600 + 10
    15250
    """
    groups: dict[Any, int] = {}

    def shape(w: Any) -> Any:
        if isinstance(w, int):
            return "C" if has_drift and w == 0 else "G"
        return (shape(w[0]), shape(w[1]))

    for w in words:
        sh = shape(w)
        groups[sh] = groups.get(sh, 0) + 1
    memo: dict[tuple[Any, int], int] = {}

    def cost(sh: Any, k: int) -> int:
        if not isinstance(sh, tuple):
            return 3**k
        key = (sh, k)
        if key not in memo:
            memo[key] = cost(sh[0], k) + cost(sh[0], k + 1) + cost(sh[1], k + 1)
        return memo[key]

    return sum(cost(sh, 0) * (_GROUP_OVERHEAD + n * dim) for sh, n in groups.items())
