r"""Exact, local check that a law is conserved by a network's flow, without expanding paths.

The certificate format asks, for a ``"network"`` model, that ``⟨∇h, χ⟩ ≡ 0``
over Z for ``χ_0`` (flows with a drift) and for every lifted coordinate field
built from ``∇φ_key``, one per key (start node, relu-like hidden nodes,
output node) of the path-lifting. The explicit check expands every path;
this module proves a *sufficient* condition that only looks at the layers
the law touches.

The argument
------------
Every lifted coordinate field puts ``w_j · ∂φ_key/∂θ_j`` on one phase
coordinate ``c(j)`` per parameter ``j`` (``c(j) = j`` and ``w_j = 1`` for
euclidean gradient flow; ``c(j)`` the velocity of ``θ_j`` for momentum and
Nesterov; ``w_j = θ_j`` or ``a θ_j + b v_j`` under the ``"nmf"`` metric).
So ``⟨∇h, lift(∇φ_key)⟩ = Σ_j X_j ∂φ_key/∂θ_j`` with the field
``X_j = w_j ∂h/∂x_{c(j)}`` on the parameters. Let ``l1 ≤ l2`` be the
smallest and largest layer holding a parameter ``j`` with ``X_j ≠ 0`` (the
weights ``W_l`` and biases ``b_l`` belong to layer ``l``): the *band*.

Every path of a key that contains a band parameter crosses the band once:
it enters either from a node ``u`` of layer ``l1 − 1`` through ``W_{l1}`` (an
input node when ``l1 = 1``), or through a bias ``b_k[i]`` with
``l1 ≤ k ≤ l2`` (it then starts at the constant source and has no earlier
factor), and it leaves the band at a node ``t`` of layer ``l2`` (an output
when ``l2 = L``). Its monomial is ``prefix · band · suffix``, where prefix
and suffix hold only parameters of layers ``< l1`` and ``> l2``. Grouping the
paths of a key by ``(entry e, band gate pattern g, exit t)`` — ``g`` the
relu-like nodes of the layers ``l1 .. l2 − 1`` the path crosses, which the
key determines — gives::

    φ_key = Σ_{e, g, t} A_{key,e,t} · P_{e,g,t} · B_{key,t} + (terms free of band parameters)

with ``A``, ``B`` free of band parameters and ``P_{e,g,t}`` the sum of the
band monomials from ``e`` to ``t`` through ``g`` (every node of a linear band
layer allowed). As ``X_j = 0`` off the band,
``Σ_j X_j ∂φ_key/∂θ_j = Σ A · B · ⟨X, ∇P_{e,g,t}⟩`` (the factors ``A, B`` do
not depend on band parameters, whatever ``X`` depends on). Hence
``⟨X, ∇P_{e,g,t}⟩ ≡ 0`` for every ``(e, g, t)`` implies the law is
conserved: a stronger, sufficient condition.

All these identities are checked at once with fresh symbols: the *band
network* with input ``α_u`` on the nodes of layer ``l1 − 1``, constant
``α_src`` for the band biases and every relu-like node ``v`` of the layers
``l1 .. l2 − 1`` multiplied by ``γ_v`` has outputs
``y_t = Σ_{e,g} α_e γ^g P_{e,g,t}``, and distinct ``(e, g)`` give distinct
monomials ``α_e γ^g``. So the condition is ``ẏ_t ≡ 0`` for every ``t``,
where ``ẏ`` is the derivative of the band network along ``X`` (forward mode,
exact over Z with :class:`~._polys.Poly` terms).

What this module does not check: the drift condition ``⟨∇h, χ_0⟩ ≡ 0``
(:func:`drift_residual` does, explicitly), and a law that fails the local
condition is not proved *wrong* — it is only not proved conserved (the
checker then says so).

Examples
--------
>>> from flowlaws.verify.checker._network import Network
>>> from flowlaws.verify.checker._polys import Poly
>>> net = Network((2, 2, 1), ("relu",), False)
>>> w = [Poly.variable(j) for j in range(net.dim)]   # W1[0,0], W1[0,1], W1[1,0], W1[1,1], W2[0,0], W2[0,1]
>>> law = w[0] * w[0] + w[1] * w[1] - w[4] * w[4]
>>> local_residual(net, FlowSpec("gradient"), law) is None
True
>>> local_residual(net, FlowSpec("gradient"), law + w[5] * w[5]) is not None
True
"""

from __future__ import annotations

from ._flows import FlowSpec, _weight, drift_field
from ._network import Network
from ._polys import Monomial, Poly, inner, mono_mul

__all__ = ["local_residual", "drift_residual", "LocalBudgetExceeded", "TERM_LIMIT"]

#: Largest number of polynomial terms the band network may build for one band.
TERM_LIMIT = 5_000_000

Terms = dict[Monomial, int]


class LocalBudgetExceeded(ValueError):
    """The band of a law is too wide for the local check (too many band paths)."""


def _add_product(out: Terms, a: Terms, b: Terms) -> None:
    """``out += a · b``."""
    for m2, c2 in b.items():
        for m1, c1 in a.items():
            mm = mono_mul(m1, m2)
            v = out.get(mm, 0) + c1 * c2
            if v:
                out[mm] = v
            else:
                out.pop(mm, None)


def _layer_of(net: Network) -> list[tuple[int, bool, int, int]]:
    """For every parameter: ``(layer, is_bias, row i, column j)``."""
    out: list[tuple[int, bool, int, int]] = []
    for l in range(1, net.L + 1):
        n, m = net.layers[l], net.layers[l - 1]
        out += [(l, False, i, j) for i in range(n) for j in range(m)]
        if net.bias:
            out += [(l, True, i, 0) for i in range(n)]
    return out


class _Band:
    """The symbolic band network ``y`` (shared by all laws with the same band)."""

    def __init__(self, net: Network, l1: int, l2: int, shift: int, base: int) -> None:
        self.net, self.l1, self.l2, self.shift, self.base = net, l1, l2, shift, base
        # symbols: α_u (layer l1-1 nodes), α_src, γ_v (relu-like nodes of layers l1..l2-1)
        n_in = net.layers[l1 - 1]
        self.alpha = [base + u for u in range(n_in)]
        self.alpha_src = base + n_in
        nxt = base + n_in + 1
        self.gamma: dict[tuple[int, int], int] = {}
        for k in range(l1, l2):
            if net._homogeneous(k):
                for i in range(net.layers[k]):
                    self.gamma[(k, i)] = nxt
                    nxt += 1
        self.symbols_end = nxt
        terms = 0
        ys: list[list[Terms]] = [[{((a, 1),): 1} for a in self.alpha]]
        for k in range(l1, l2):
            layer = []
            for i in range(net.layers[k]):
                acc: Terms = {}
                for j, yj in enumerate(ys[-1]):
                    _add_product(acc, yj, {((self.w(k, i, j), 1),): 1})
                if net.bias:
                    _add_product(acc, {((self.alpha_src, 1),): 1}, {((self.b(k, i), 1),): 1})
                g = self.gamma.get((k, i))
                if g is not None:
                    acc = {mono_mul(m, ((g, 1),)): c for m, c in acc.items()}
                terms += len(acc)
                if terms > TERM_LIMIT:
                    raise LocalBudgetExceeded(
                        f"the band of layers {l1}..{l2} has more than {TERM_LIMIT} band paths"
                    )
                layer.append(acc)
            ys.append(layer)
        self.ys = ys  # ys[k - l1 + 1] = y of layer k (k = l1-1 .. l2-1)

    def w(self, l: int, i: int, j: int) -> int:
        """Phase index of ``W_l[i, j]``."""
        return self.shift + self.net.w_start[l - 1] + i * self.net.layers[l - 1] + j

    def b(self, l: int, i: int) -> int:
        """Phase index of ``b_l[i]``."""
        bs = self.net.b_start[l - 1]
        assert bs is not None
        return self.shift + bs + i

    def derivative(self, X: dict[int, Terms]) -> list[Terms]:
        """``ẏ`` of layer ``l2`` along ``X`` (``{parameter j: X_j terms}``)."""
        net = self.net
        dy: list[Terms] = [{} for _ in self.alpha]
        for k in range(self.l1, self.l2 + 1):
            y = self.ys[k - self.l1]
            n, m = net.layers[k], net.layers[k - 1]
            wk = net.w_start[k - 1]
            new: list[Terms] = [{} for _ in range(n)]
            for j in range(m):  # W_k ẏ
                if dy[j]:
                    for i in range(n):
                        _add_product(new[i], dy[j], {((self.w(k, i, j), 1),): 1})
            for i in range(n):  # Ẇ_k y + ḃ_k α_src
                for j in range(m):
                    xj = X.get(wk + i * m + j)
                    if xj:
                        _add_product(new[i], xj, y[j])
                if net.bias:
                    bs = net.b_start[k - 1]
                    xb = X.get(bs + i) if bs is not None else None
                    if xb:
                        _add_product(new[i], xb, {((self.alpha_src, 1),): 1})
            if k < self.l2:
                for i in range(n):
                    g = self.gamma.get((k, i))
                    if g is not None and new[i]:
                        new[i] = {mono_mul(mm, ((g, 1),)): c for mm, c in new[i].items()}
            dy = new
        return dy

    def symbol_names(self) -> dict[int, str]:
        net = self.net
        names = {a: f"alpha[{net.node_label(net.node_start[self.l1 - 1] + u)}]" for u, a in enumerate(self.alpha)}
        names[self.alpha_src] = "alpha[constant source]"
        for (k, i), g in self.gamma.items():
            names[g] = f"gamma[{net.node_label(net.node_start[k] + i)}]"
        return names


def _pairing_field(net: Network, flow: FlowSpec, h: Poly) -> dict[int, Terms]:
    """``X_j = w_j ∂h/∂x_{c(j)}`` for every parameter ``j`` where it is not zero."""
    D = net.dim
    target = D + 1 if flow.has_drift else 0
    grad = h.gradient()
    out: dict[int, Terms] = {}
    for j in range(D):
        d = grad.get(target + j)
        if d is None:
            continue
        w = _weight(flow, D, j, None)
        if w is not None:
            d = w * d
        if d:
            out[j] = d.terms
    return out


class _Cache:
    def __init__(self) -> None:
        self.bands: dict[tuple[int, int], _Band] = {}


def local_residual(
    net: Network, flow: FlowSpec, h: Poly, cache: _Cache | None = None, names: list[str] | None = None
) -> str | None:
    """``None`` if the law ``h`` passes the local condition, else a description of a failing identity.

    Parameters
    ----------
    net : Network
    flow : FlowSpec
        The flow; ``h`` is a polynomial in its phase coordinates.
    h : Poly
        The law, over Z.
    cache : optional
        From :func:`new_cache`, to share band networks between laws.
    names : list of str, optional
        Phase coordinate names, for the message.

    Raises
    ------
    LocalBudgetExceeded
        If the law's band has too many band paths to build.
    """
    X = _pairing_field(net, flow, h)
    if not X:
        return None
    layer_of = _layer_of(net)
    layers = [layer_of[j][0] for j in X]
    l1, l2 = min(layers), max(layers)
    cache = cache or _Cache()
    band = cache.bands.get((l1, l2))
    if band is None:
        shift = 1 if flow.has_drift else 0
        band = _Band(net, l1, l2, shift, flow.dim(net.dim))
        cache.bands[(l1, l2)] = band
    dy = band.derivative(X)
    for t, r in enumerate(dy):
        if r:
            node = net.node_label(net.node_start[l2] + t)
            sym = band.symbol_names()
            poly = Poly(r)
            width = band.symbols_end
            labels = [sym.get(i) or (names[i] if names and i < len(names) else f"x{i}") for i in range(width)]
            return (
                f"the band paths of layers {l1}..{l2} into {node} (alpha = band entry, gamma = relu-like "
                f"band nodes) give <X, grad P> = {poly.to_str(labels, max_terms=4)}, not 0"
            )
    return None


def drift_residual(flow: FlowSpec, D: int, h: Poly) -> Poly:
    """``⟨∇h, χ_0⟩`` over Z (zero when the law is conserved along the drift)."""
    return inner(h.gradient(), drift_field(flow, D))


def new_cache() -> _Cache:
    """A cache of band networks, to share between the laws of one certificate."""
    return _Cache()
