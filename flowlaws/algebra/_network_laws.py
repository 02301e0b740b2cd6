"""Law search support for layered networks that never expands the path-lifting.

* :func:`network_grading`: the relations of the ``(Z/2)^D`` grading under which
  every coordinate of φ is homogeneous, from the architecture: two paths with
  the same key differ by swapping linear neurons (or the layer where a bias
  enters a run of linear neurons) one at a time.
* :class:`LocalVerifier`: the exact check of a law ``h`` whose variables lie
  in the weight layers ``l1..l2``. The generic combination ``F = Σ c_key φ_key``
  equals ``Σ_w B_w · pre_w(A, θ_{l1..l2}, g) + R``: ``A`` the values entering
  layer ``l1``, ``B`` those leaving layer ``l2``, ``g`` the gates in between, and
  ``R`` free of ``θ_{l1..l2}``. If ``⟨∇h, ∇P⟩ ≡ 0`` for the local polynomial
  ``P = Σ_w B_w pre_w`` with ``A``, ``B``, ``g`` as independent indeterminates,
  it stays zero after substituting the actual ``A``, ``B``, ``g``; so ``h`` is
  a law (an exact polynomial identity over Z, of size ``n_{l1-1}⋯n_{l2}``).
"""

from __future__ import annotations

from ._gf2 import GF2Basis
from ._laws import SparsePoly, to_flint
from ._network_fields import HOMOGENEOUS, LayeredNetwork
from ._polynomial_fields import pairing, sparse_gradient

__all__ = ["network_grading", "LocalVerifier", "parameter_layers"]

MAX_LOCAL_TERMS = 3_000_000


def _indices(net: LayeredNetwork):
    """Per layer l (1-based): functions giving the variable of ``W_l[i,j]`` and ``b_l[i]``."""
    out = {}
    for l, (ws, bs) in enumerate(net.slices(), start=1):
        n_in = net.layers[l - 1]
        out[l] = (
            (lambda i, j, s=ws.start, n=n_in: s + i * n + j),
            (lambda i, s=bs.start: s + i) if bs is not None else None,
        )
    return out


def parameter_layers(net: LayeredNetwork) -> list[int]:
    """The weight layer (1..L) of every parameter."""
    layer = [0] * net.dim
    for l, (ws, bs) in enumerate(net.slices(), start=1):
        for v in range(ws.start, ws.stop):
            layer[v] = l
        if bs is not None:
            for v in range(bs.start, bs.stop):
                layer[v] = l
    return layer


def network_grading(net: LayeredNetwork) -> GF2Basis:
    """Relations among path parities of paths sharing a key (see module docstring)."""
    basis = GF2Basis()
    idx = _indices(net)
    L = net.depth
    for l in range(1, L):  # hidden layer l
        if net.activations[l - 1] in HOMOGENEOUS:
            continue
        W_in, b_in = idx[l]
        W_out, _ = idx[l + 1]
        n = net.layers[l]
        sources = [("w", u) for u in range(net.layers[l - 1])] + ([("b", None)] if b_in else [])
        for j in range(1, n):
            for kind, u in sources:
                e_j = W_in(j, u) if kind == "w" else b_in(j)
                e_0 = W_in(0, u) if kind == "w" else b_in(0)
                for w in range(net.layers[l + 1]):
                    basis.add((1 << e_j) ^ (1 << W_out(w, j)) ^ (1 << e_0) ^ (1 << W_out(w, 0)))
    if net.bias:
        # a bias entering neuron j of layer l directly, or one layer earlier through linear neuron k
        for l in range(2, L + 1):
            if net.activations[l - 2] in HOMOGENEOUS:
                continue
            W_l, b_l = idx[l]
            _, b_prev = idx[l - 1]
            for j in range(net.layers[l]):
                for k in range(net.layers[l - 1]):
                    basis.add((1 << b_l(j)) ^ (1 << b_prev(k)) ^ (1 << W_l(j, k)))
    return basis


class LocalVerifier:
    """Exact law check for a layered network through the local polynomial of its layers."""

    def __init__(self, net: LayeredNetwork) -> None:
        self.net = net
        self.layer = parameter_layers(net)
        self._cache: dict[tuple[int, int], tuple] = {}
        self.skipped = 0

    def _local(self, l1: int, l2: int):
        key = (l1, l2)
        if key in self._cache:
            return self._cache[key]
        import flint

        net = self.net
        terms = 1
        for l in range(l1 - 1, l2 + 1):
            terms *= net.layers[l] + 1
        if terms > MAX_LOCAL_TERMS:
            self._cache[key] = None
            return None
        params = [v for v in range(net.dim) if l1 <= self.layer[v] <= l2]
        names = [f"t{v}" for v in params]
        names += [f"A{u}" for u in range(net.layers[l1 - 1])] + ["Ac"]
        gates = [(l, j) for l in range(l1, l2) if net.activations[l - 1] in HOMOGENEOUS for j in range(net.layers[l])]
        names += [f"g{l}_{j}" for l, j in gates]
        names += [f"B{w}" for w in range(net.layers[l2])]
        ctx = flint.fmpz_mpoly_ctx.get(tuple(names), "deglex")
        gens = ctx.gens()
        index = {v: k for k, v in enumerate(params)}
        pos = len(params)
        A = list(gens[pos : pos + net.layers[l1 - 1]])
        Ac = gens[pos + net.layers[l1 - 1]]
        pos += net.layers[l1 - 1] + 1
        gate = {lj: gens[pos + k] for k, lj in enumerate(gates)}
        pos += len(gates)
        B = gens[pos : pos + net.layers[l2]]
        idx = _indices(net)
        h = A
        for l in range(l1, l2 + 1):
            W, b = idx[l]
            pre = []
            for i in range(net.layers[l]):
                acc = ctx.from_dict({})
                for j, hj in enumerate(h):
                    acc += gens[index[W(i, j)]] * hj
                if b is not None:
                    acc += gens[index[b(i)]] * Ac
                pre.append(acc)
            if l < l2:
                h = [gate[(l, i)] * pi if (l, i) in gate else pi for i, pi in enumerate(pre)]
            else:
                h = pre
        P = ctx.from_dict({})
        for w, pw in enumerate(h):
            P += B[w] * pw
        entry = (ctx, index, P, {})
        self._cache[key] = entry
        return entry

    def __call__(self, h: SparsePoly) -> bool:
        if not h:
            return False
        support = {v for mono in h for v, _ in mono}
        layers = [self.layer[v] for v in support]
        local = self._local(min(layers), max(layers))
        if local is None:
            self.skipped += 1
            return False
        ctx, index, P, dP = local
        grad = sparse_gradient(to_flint(h, ctx, index))
        for v in grad:
            if v not in dP:
                dP[v] = P.derivative(v)
        value = pairing(grad, dP)
        return value is not None and value.is_zero()
