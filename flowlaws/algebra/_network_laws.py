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

from ..errors import BudgetExceeded
from ._gf2 import GF2Basis
from ._laws import SparsePoly, to_flint
from ._network_fields import HOMOGENEOUS, LayeredNetwork
from ._polynomial_fields import balanced_sum, pairing, sparse_gradient

__all__ = ["network_grading", "LocalVerifier", "parameter_layers", "structural_candidates", "momentum_candidates",
           "PhaseLocalVerifier"]



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
    """Exact law check for a layered network through the local polynomial of its layers.

    Only the part ``P_S`` of the local polynomial made of paths through an edge
    of the law's support ``S`` is built (``∂_v P = ∂_v P_S`` for ``v ∈ S``), in a
    context holding just the variables those paths use.
    """

    def __init__(self, net: LayeredNetwork) -> None:
        self.net = net
        self.layer = parameter_layers(net)
        self.edges = _edges(net)

    def _local_part(self, support: set[int], extra: tuple = ()):
        """``(ctx, index, P)``: the local polynomial of the paths through ``support``.

        ``index`` maps the parameters of ``P`` (and the keys of ``extra``, which
        become further variables of ``ctx``) to variable indices of ``ctx``.
        """
        import flint

        net = self.net
        layers = [self.layer[v] for v in support]
        l1, l2 = min(layers), max(layers)
        # edges by layer: (var, dst, src) with src = -1 for the constant (bias)
        S_heads: dict[int, set[int]] = {}
        S_tails: dict[int, set[int]] = {}
        for v in support:
            l, dst, src = self.edges[v]
            S_heads.setdefault(l, set()).add(dst)
            S_tails.setdefault(l - 1, set()).add(src)
        # down[l]: nodes of layer l reached from the head of an S edge; up[l]: nodes reaching a tail
        down: dict[int, set[int]] = {l1 - 1: set()}
        for l in range(l1, l2 + 1):
            prev = down[l - 1]
            reach = set(S_heads.get(l, set()))
            if prev:
                reach |= set(range(net.layers[l]))  # dense layers: everything downstream
            down[l] = reach
        up: dict[int, set[int]] = {l2: set()}
        for l in range(l2 - 1, l1 - 2, -1):
            nxt = up[l + 1]
            reach = set(S_tails.get(l, set()))
            if nxt:
                reach |= set(range(net.layers[l]))
            up[l] = reach
        names: list[str] = []
        index: dict = {}
        for key in extra:
            index[key] = len(names)
            names.append(str(key))

        def var(key) -> int:
            if key not in index:
                index[key] = len(names)
                names.append(str(key))
            return index[key]

        # first pass: collect variables, second: build polynomials
        plan = []
        for l in range(l1, l2 + 1):
            W, b = _indices(net)[l]
            for i in range(net.layers[l]):
                terms = []  # (param var, src, kind) kind: "S" (S edge from noS), "down" (from S part), "up" (noS→noS)
                sources = [(u, W(i, u)) for u in range(net.layers[l - 1])] + ([(-1, b(i))] if b else [])
                for u, v in sources:
                    if v in support:
                        terms.append((v, u, "S"))
                    if u >= 0 and u in down[l - 1]:
                        terms.append((v, u, "down"))
                    if v not in support and i in up[l] and l < l2:
                        terms.append((v, u, "up"))
                plan.append((l, i, terms))
                for v, u, _ in terms:
                    var(("t", v))
        for u in range(net.layers[l1 - 1]):
            var(("A", u))
        var(("A", -1))
        for w in range(net.layers[l2]):
            var(("B", w))
        gated = [(l, i) for l in range(l1, l2) if net.activations[l - 1] in HOMOGENEOUS for i in range(net.layers[l])]
        for key in gated:
            var(("g",) + key)
        ctx = flint.fmpz_mpoly_ctx.get(tuple(f"z{k}" for k in range(len(names))), "deglex")
        gens = ctx.gens()
        zero = ctx.from_dict({})
        noS = {(l1 - 1, u): gens[index[("A", u)]] for u in range(net.layers[l1 - 1])}
        Spart: dict = {}
        const = gens[index[("A", -1)]]
        for l, i, terms in plan:
            s_acc, n_acc = [], []
            for v, u, kind in terms:
                t = gens[index[("t", v)]]
                src_no = const if u < 0 else noS.get((l - 1, u))
                if kind == "S" and src_no is not None:
                    s_acc.append(t * src_no)
                elif kind == "down" and (l - 1, u) in Spart:
                    s_acc.append(t * Spart[(l - 1, u)])
                elif kind == "up" and src_no is not None:
                    n_acc.append(t * src_no)
            key = ("g", l, i)
            gate = gens[index[key]] if (l < l2 and key in index) else None
            if s_acc:
                val = balanced_sum(s_acc)
                Spart[(l, i)] = gate * val if gate is not None else val
            if n_acc:
                val = balanced_sum(n_acc)
                noS[(l, i)] = gate * val if gate is not None else val
        P = balanced_sum([gens[index[("B", w)]] * Spart[(l2, w)] for w in range(net.layers[l2]) if (l2, w) in Spart])
        var_index = {v: index[("t", v)] for v in support}
        for key in extra:
            var_index[key] = index[key]
        for key, k in index.items():
            if isinstance(key, tuple) and len(key) == 2 and key[0] == "t":
                var_index.setdefault(key[1], k)
        return ctx, var_index, (P if P is not None else zero)

    def __call__(self, h: SparsePoly) -> bool:
        if not h:
            return False
        support = {v for mono in h for v, _ in mono}
        ctx, index, P = self._local_part(support)
        grad = sparse_gradient(to_flint(h, ctx, index))
        dP = {v: P.derivative(v) for v in grad}
        value = pairing(grad, dP)
        return value is not None and value.is_zero()


def _edges(net: LayeredNetwork) -> list[tuple[int, int, int]]:
    """Per parameter: (layer, destination neuron, source neuron or -1 for a bias)."""
    out = [None] * net.dim
    for l, (ws, bs) in enumerate(net.slices(), start=1):
        n_in = net.layers[l - 1]
        for k in range(ws.stop - ws.start):
            out[ws.start + k] = (l, k // n_in, k % n_in)
        if bs is not None:
            for k in range(bs.stop - bs.start):
                out[bs.start + k] = (l, k, -1)
    return out


def structural_candidates(net: LayeredNetwork) -> list[SparsePoly]:
    """Laws suggested by the architecture's symmetries (each still to be verified exactly).

    * per ReLU / leaky-ReLU neuron (rescaling invariance): ``‖incoming‖² − ‖outgoing‖²``,
      its bias counted as incoming;
    * per linear hidden layer (invariance under ``W_l → A W_l``, ``W_{l+1} → W_{l+1} A⁻¹``):
      the entries of ``W_l W_lᵀ + b_l b_lᵀ − W_{l+1}ᵀ W_{l+1}``.

    Wide linear layers give dependent entries; the caller keeps an independent subset.
    """
    idx = _indices(net)
    out: list[SparsePoly] = []

    def incoming(l: int, a: int) -> list[int]:
        W, b = idx[l]
        return [W(a, u) for u in range(net.layers[l - 1])] + ([b(a)] if b else [])

    def outgoing(l: int, a: int) -> list[int]:
        W, _ = idx[l + 1]
        return [W(w, a) for w in range(net.layers[l + 1])]

    for l in range(1, net.depth):
        n = net.layers[l]
        if net.activations[l - 1] in HOMOGENEOUS:
            for a in range(n):
                h: SparsePoly = {((v, 2),): 1 for v in incoming(l, a)}
                h.update({((v, 2),): -1 for v in outgoing(l, a)})
                out.append(h)
        else:
            for a in range(n):
                for b in range(a, n):
                    h = {}
                    for sign, va, vb in [(1, x, y) for x, y in zip(incoming(l, a), incoming(l, b))] + [
                        (-1, x, y) for x, y in zip(outgoing(l, a), outgoing(l, b))
                    ]:
                        mono = ((va, 2),) if va == vb else tuple(sorted(((va, 1), (vb, 1))))
                        h[mono] = h.get(mono, 0) + sign
                    out.append({m: c for m, c in h.items() if c})
    return out


# -- momentum / Nesterov (phase space (time, θ, v)) -------------------------------------
def _phase_monomial(time_power: int, *factors: int) -> tuple[tuple[int, int], ...]:
    exps: dict[int, int] = {0: time_power} if time_power else {}
    for v in factors:
        exps[v] = exps.get(v, 0) + 1
    return tuple(sorted(exps.items()))


def momentum_candidates(net: LayeredNetwork, time_power: int) -> list[SparsePoly]:
    """Noether charges of the linear hidden layers under a momentum flow (to be verified exactly).

    On the phase space (index 0 the time coordinate, ``1 + j`` the parameter
    ``θ_j``, ``1 + D + j`` its velocity): per linear hidden layer ``l`` and pair
    ``a < b`` of its neurons, ``time^k · Σ (θ_x v_y − θ_y v_x)`` over the pairs
    ``(x, y)`` of corresponding incoming weights (bias included) and outgoing
    weights of ``a`` and ``b`` — the entries of
    ``e^{τt}(W_l W_l'ᵀ − W_l' W_lᵀ + W_{l+1}ᵀ W_{l+1}' − W_{l+1}'ᵀ W_{l+1})``, the charges
    of the rotations ``W_l → A W_l``, ``W_{l+1} → W_{l+1} A⁻¹``. ``k`` is the drift's
    ``time_power`` (1 for ``s = e^{τt}``, 0 for ``τ = 0``, 3 for Nesterov).

    Examples
    --------
    >>> net = LayeredNetwork((1, 2, 1), ("linear",), False)   # W1 = (x0, x1)ᵀ, W2 = (x2, x3)
    >>> momentum_candidates(net, 1)
    [{((0, 1), (1, 1), (6, 1)): 1, ((0, 1), (2, 1), (5, 1)): -1, ((0, 1), (3, 1), (8, 1)): 1, ((0, 1), (4, 1), (7, 1)): -1}]
    """
    idx = _indices(net)
    D = net.dim
    out: list[SparsePoly] = []
    for l in range(1, net.depth):
        if net.activations[l - 1] in HOMOGENEOUS:
            continue
        W, bias = idx[l]
        W_next, _ = idx[l + 1]
        n = net.layers[l]

        def edges(a: int) -> list[int]:
            return (
                [W(a, u) for u in range(net.layers[l - 1])]
                + ([bias(a)] if bias else [])
                + [W_next(w, a) for w in range(net.layers[l + 1])]
            )

        for a in range(n):
            for b in range(a + 1, n):
                h: SparsePoly = {}
                for x, y in zip(edges(a), edges(b)):
                    h[_phase_monomial(time_power, 1 + x, 1 + D + y)] = 1
                    h[_phase_monomial(time_power, 1 + y, 1 + D + x)] = -1
                out.append(h)
    return out


class PhaseLocalVerifier:
    """Exact check of a momentum / Nesterov law of a layered network, without the path-lifting.

    A law ``h(time, θ, v)`` must satisfy ``⟨∇h, χ_0⟩ ≡ 0`` (explicit and sparse:
    built on ``h``'s variables, the time coordinate and the velocities of ``h``'s
    parameters) and, for every path-lifting coordinate,
    ``Σ_j ∂h/∂v_j · ∂φ_key/∂θ_j ≡ 0``. The second condition is checked on the
    local polynomial of :class:`LocalVerifier` for the parameters whose velocity
    (or value) ``h`` uses, with the values entering and leaving those layers and
    the gates as independent indeterminates: an identity there stays one after
    substituting the actual values, so a law that passes is a law (a sufficient,
    exact check over Z).

    Parameters
    ----------
    net : LayeredNetwork or GraphNetwork
        A :class:`~flowlaws.algebra._graph_network.GraphNetwork` is checked through
        :class:`~flowlaws.algebra._dag_laws.DagLocalVerifier` (a law past its
        budget is reported as not proved).
    kind : {"exp", "time", "nesterov"}
        The drift (see :class:`~flowlaws.algebra._phase_fields.Drift`).
    a, b : int
        ``τ = a/b`` for ``kind="exp"``.

    Examples
    --------
    >>> net = LayeredNetwork((1, 2, 1), ("linear",), False)
    >>> check = PhaseLocalVerifier(net, "exp", 1, 1)
    >>> (h,) = momentum_candidates(net, 1)
    >>> check(h), check({m: c for m, c in h.items() if c > 0})
    (True, False)
    """

    def __init__(self, net: LayeredNetwork, kind: str, a: int = 0, b: int = 1, k: int = 0) -> None:
        self.net = net
        self.kind = kind
        self.a = a
        self.b = b
        self.k = k  # weight decay: χ_0 has −k θ on the velocities (``Drift``)
        if isinstance(net, LayeredNetwork):
            self.local = LocalVerifier(net)
        else:
            from ._dag_laws import DagLocalVerifier

            self.local = DagLocalVerifier(net)

    def drift_ok(self, h: SparsePoly) -> bool:
        """``⟨∇h, χ_0⟩ ≡ 0`` exactly."""
        import flint

        D = self.net.dim
        used = {v for mono in h for v, _ in mono}
        theta = [v for v in used if 1 <= v <= D]
        decayed = {v - D for v in used if v > D} if self.k else set()  # θ of a velocity h uses: −k θ ∂_v
        variables = sorted(used | {0} | {v + D for v in theta} | decayed)
        index = {v: k for k, v in enumerate(variables)}
        ctx = flint.fmpz_mpoly_ctx.get(tuple(f"y{k}" for k in range(len(variables))), "deglex")
        gens = ctx.gens()
        one = ctx.from_dict({(0,) * len(variables): 1})
        t = gens[index[0]]
        chi: dict[int, object] = {}
        if self.kind == "exp":
            chi[index[0]] = self.a * t
        elif self.kind == "time":
            chi[index[0]] = self.b * one
        else:
            chi[index[0]] = t
        for v in theta:
            vel = gens[index[v + D]]
            chi[index[v]] = self.b * vel if self.kind != "nesterov" else t * vel
        for v in used:
            if v > D:
                if self.kind == "exp":
                    chi[index[v]] = -self.a * gens[index[v]]
                elif self.kind == "nesterov":
                    chi[index[v]] = -3 * gens[index[v]]
                if self.k and self.kind != "nesterov":  # −k θ_v: θ_v is in the context (theta ∪ velocities)
                    th = gens[index[v - D]]
                    chi[index[v]] = chi[index[v]] - self.k * th if index[v] in chi else -self.k * th
        grad = sparse_gradient(to_flint(h, ctx, index))
        value = pairing(grad, chi)
        return value is None or value.is_zero()

    def lifts_ok(self, h: SparsePoly) -> bool:
        """``Σ_j ∂h/∂v_j ∂φ_key/∂θ_j ≡ 0`` for every key, through the local polynomial."""
        D = self.net.dim
        used = {v for mono in h for v, _ in mono}
        velocities = {v - D - 1 for v in used if v > D}
        if not velocities:
            return True
        support = velocities | {v - 1 for v in used if 1 <= v <= D}
        extra = tuple(("x", v) for v in sorted(used) if v == 0 or v > D)
        try:
            ctx, index, P = self.local._local_part(support, extra)
        except BudgetExceeded:
            return False
        phase_index = {v: index[("x", v)] for v in used if v == 0 or v > D}
        phase_index.update({v: index[v - 1] for v in used if 1 <= v <= D})
        grad = sparse_gradient(to_flint(h, ctx, phase_index))
        terms = []
        for j in velocities:
            dh = grad.get(index[("x", 1 + D + j)])
            if dh is not None:
                terms.append(dh * P.derivative(index[j]))
        value = balanced_sum(terms)
        return value is None or value.is_zero()

    def __call__(self, h: SparsePoly) -> bool:
        if not h:
            return False
        return self.drift_ok(h) and self.lifts_ok(h)
