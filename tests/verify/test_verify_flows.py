"""The checker on momentum, Nesterov and NMF-metric flows (certificate-format.md, "Other flows").

Everything here is written by hand, without the engine: the certificates' words,
ranks and laws are recomputed in this file with SymPy, independently of the
checker (its own phase-space fields, its own Lie brackets, its own copy of the
``z`` node values of the format, ranks mod p with ``DomainMatrix`` over GF(p)),
and the laws come from DESIGN.md section 3-4:

* ``φ = U Vᵀ``: ``e^{τt}(UᵀU' − U'ᵀU + VᵀV' − V'ᵀV)`` is conserved by momentum;
* NMF under its metric: ``Σ_i U_ik − Σ_j V_jk``, not ``‖U_k‖² − ‖V_k‖²``;
* ReLU per-neuron laws are not conserved by momentum;
* with ``φ`` independent of ``x1``: ``τ x1 + v1`` and ``s v1`` (free motion).
"""

from __future__ import annotations

import copy
import json
import time
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.polys.matrices import DomainMatrix

from flowlaws.errors import CertificateError, DomainError, InvalidArgument
from flowlaws.laws import Law
from flowlaws.verify import NotConserved, assert_conserved, check_certificate, is_conserved

P = 16777213  # prime
Q = 2**61 - 1  # prime
ROOT = Path(__file__).resolve().parents[2]


# -- an independent reference: SymPy fields, brackets and ranks ---------------------------------
def z(seed: int, a: int, v: int, p: int) -> int:
    """The node values of the format (copied from docs/certificate-format.md, not from the checker)."""
    M = 2**64
    x = (seed * 0x9E3779B97F4A7C15 + a * 0xBF58476D1CE4E5B9 + v * 0x94D049BB133111EB + 0xD1B54A32D192ED03) % M
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) % M
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) % M
    x ^= x >> 31
    return x % p


def net_names(layers, bias=False):
    out = []
    for l in range(1, len(layers)):
        out += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
        if bias:
            out += [f"b{l}[{i}]" for i in range(layers[l])]
    return out


def network_potential(layers, activation, bias, seed, a, p):
    """F_a of the format, by a forward pass over symbolic weights."""
    n0 = layers[0]
    starts = [sum(layers[:l]) for l in range(len(layers))]
    source = sum(layers)
    x = [sp.Integer(z(seed, a, j, p)) for j in range(n0)]
    L = len(layers) - 1
    for l in range(1, L + 1):
        h = []
        for i in range(layers[l]):
            hi = sum(sp.Symbol(f"W{l}[{i},{j}]") * x[j] for j in range(layers[l - 1]))
            if bias:
                hi += sp.Symbol(f"b{l}[{i}]") * z(seed, a, source, p)
            if l < L and activation in ("relu", "leaky_relu"):
                hi *= z(seed, a, starts[l] + i, p)
            h.append(hi)
        x = h
    return sp.expand(sum(z(seed, a, starts[L] + o, p) * x[o] for o in range(layers[L])))


class Phase:
    """The phase space of a flow, built with SymPy from the format's definitions."""

    def __init__(self, params, flow="gradient", tau=None, metric="euclidean"):
        self.params = list(params)
        self.flow, self.metric = flow, metric
        self.tau = Fraction(tau) if tau is not None else None
        self.theta = [sp.Symbol(n) for n in params]
        if flow == "gradient":
            self.time = None
            self.vel = []
            self.X = list(self.theta)
        else:
            self.time = sp.Symbol("s" if flow == "momentum" and self.tau else "t")
            self.vel = [sp.Symbol(n + "'") for n in params]
            self.X = [self.time, *self.theta, *self.vel]
        self.names = [str(x) for x in self.X]

    def drift(self):
        T, v, D = self.time, self.vel, len(self.params)
        if self.flow == "momentum" and self.tau:
            a, b = self.tau.numerator, self.tau.denominator
            return [a * T, *[b * x for x in v], *[-a * x for x in v]]
        if self.flow == "momentum":
            return [sp.Integer(1), *v, *[sp.Integer(0)] * D]
        return [T, *[T * x for x in v], *[-3 * x for x in v]]

    def lift(self, G):
        """The generator built from a gradient field G (a list over the parameters)."""
        if self.flow == "gradient":
            return [x * g for x, g in zip(self.theta, G)] if self.metric == "nmf" else list(G)
        if self.metric == "nmf":
            a, b = self.tau.numerator, self.tau.denominator
            G = [(a * x + b * y) * g for x, y, g in zip(self.theta, self.vel, G)]
        return [sp.Integer(0)] * (len(self.params) + 1) + list(G)

    def grad(self, f):
        return [sp.diff(f, x) for x in self.theta]

    def leaves(self, potentials):
        """Word leaves: (χ_0,) + lifts of ∇F for the gradient generators' potentials F."""
        out = [self.drift()] if self.flow != "gradient" else []
        return out + [self.lift(self.grad(F)) for F in potentials]

    def bracket(self, U, V):
        n = len(self.X)
        return [
            sp.expand(sum(sp.diff(V[i], self.X[j]) * U[j] - sp.diff(U[i], self.X[j]) * V[j] for j in range(n)))
            for i in range(n)
        ]

    def word_field(self, word, leaves, memo):
        key = json.dumps(word)
        if key not in memo:
            if isinstance(word, int):
                memo[key] = leaves[word]
            else:
                memo[key] = self.bracket(self.word_field(word[0], leaves, memo), self.word_field(word[1], leaves, memo))
        return memo[key]

    def rank(self, words, leaves, point, p=P):
        """Rank mod p of the words' values at the point (SymPy, GF(p))."""
        memo = {}
        sub = dict(zip(self.X, point))
        rows = [[int(sp.sympify(c).subs(sub)) % p for c in self.word_field(w, leaves, memo)] for w in words]
        if not rows:
            return 0
        return DomainMatrix([[sp.GF(p)(x) for x in r] for r in rows], (len(rows), len(self.X)), sp.GF(p)).rank()

    def residuals(self, h, coordinate_potentials):
        """⟨∇h, χ⟩ for χ_0 and every lifted coordinate field."""
        fields = self.leaves(coordinate_potentials)
        return [sp.expand(sum(sp.diff(h, x) * c for x, c in zip(self.X, F))) for F in fields]

    def conserved(self, h, coordinate_potentials):
        return all(r == 0 for r in self.residuals(h, coordinate_potentials))

    def poly_json(self, expr):
        poly = sp.Poly(sp.expand(expr), *self.X)
        return [[str(c), [[i, e] for i, e in enumerate(m) if e]] for m, c in poly.terms()]


def phi_json(phase, phi):
    """A "polynomials" model: φ's coordinates in the parameters (indices 0..D-1)."""
    out = []
    for f in phi:
        poly = sp.Poly(sp.expand(f), *phase.theta)
        out.append([[str(c), [[i, e] for i, e in enumerate(m) if e]] for m, c in poly.terms()])
    return {"kind": "polynomials", "phi": out}


def flow_json(flow, tau=None, metric="euclidean"):
    out = {"name": flow}
    if tau is not None:
        out["tau"] = str(Fraction(tau))
    if metric != "euclidean":
        out["metric"] = metric
    return out


def make_cert(phase, model, generators, words, rank, laws, point, ind_point, *, prime=P, ind_prime=Q):
    dim = len(phase.X)
    k, upper = len(laws), dim - rank
    return {
        "schema": "flowlaws-certificate/1",
        "library": {"name": "flowlaws", "version": "test"},
        "dim": dim,
        "variables": phase.names,
        "model": model,
        "flow": flow_json(phase.flow, phase.tau, phase.metric),
        "generators": generators,
        "rank": {"prime": prime, "point": list(point), "words": words, "value": rank},
        "laws": [phase.poly_json(h) for h in laws],
        "independence": {"prime": ind_prime, "point": list(ind_point), "value": k},
        "bounds": {"lower": k, "upper": upper},
        "count": upper,
        "complete": k == upper,
    }


def reject(cert, step, *fragments):
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == step, str(info.value)
    for f in fragments:
        assert f in str(info.value), str(info.value)
    return info.value


def points(n, a=3, b=11, c=5):
    """A deterministic integer point with distinct, non-zero-ish entries."""
    return [((a * i + 1) * b) % 23 - c for i in range(n)]


# -- the hand-made cases --------------------------------------------------------------------------------
class Case:
    """A certificate together with its SymPy reference (phase space, leaves, coordinate potentials)."""

    def __init__(self, phase, model, generators, potentials, coordinates, words, laws, point, ind_point):
        self.phase, self.potentials, self.coordinates = phase, potentials, coordinates
        self.leaves = phase.leaves(potentials)
        self.rank = phase.rank(words, self.leaves, point)
        self.laws = laws
        self.cert = make_cert(phase, model, generators, words, self.rank, laws, point, ind_point)


def product2(flow="momentum", tau=1):
    """φ = x0*x1 ("polynomials", D = 2, dim = 5): χ_0 and ∇φ lifted generate everything, no law."""
    ph = Phase(["x0", "x1"], flow, tau if flow == "momentum" else None)
    x0, x1 = ph.theta
    phi = [x0 * x1]
    words = [0, 1, [0, 1], [0, [0, 1]], [1, [0, 1]]]
    return Case(ph, phi_json(ph, phi), {"kind": "coordinates"}, phi, phi, words, [], [2, 3, 5, 7, 11], [1, 2, 3, 4, 5])


def uv_laws(ph, U, V, scale=1):
    """The two momentum laws of φ = u0 v0 + u1 v1 (n = m = 1, r = 2), times ``scale``."""
    (u0, u1), (v0, v1) = U, V
    du = {u: sp.Symbol(str(u) + "'") for u in (u0, u1, v0, v1)}
    return [
        scale * (u0 * du[u1] - u1 * du[u0] + v0 * du[v1] - v1 * du[v0]),
        scale * (u0 * du[v1] - du[u0] * v1 - u1 * du[v0] + du[u1] * v0),
    ]


UV_WORDS = [0, 1, [0, 1], [0, [0, 1]], [1, [0, 1]], [0, [1, [0, 1]]], [0, [0, [1, [0, 1]]]]]


def uv12(tau=1, flow="momentum"):
    """φ = u0 v0 + u1 v1 (UVᵀ, n = m = 1, r = 2), "polynomials": rank 7 in dim 9, two laws."""
    ph = Phase(["u0", "u1", "v0", "v1"], flow, tau if flow == "momentum" else None)
    u0, u1, v0, v1 = ph.theta
    phi = [u0 * v0 + u1 * v1]
    if flow == "nesterov":
        scale = ph.time**3
    else:
        scale = ph.time if ph.time.name == "s" else 1
    laws = uv_laws(ph, (u0, u1), (v0, v1), scale)
    return Case(ph, phi_json(ph, phi), {"kind": "coordinates"}, phi, phi, UV_WORDS, laws,
                [3, 1, -2, 4, 5, -1, 2, 3, 1], [2, 5, -3, 1, 4, 2, -1, 3, 6])


def network_case(layers, activation, flow, tau, words, laws_fn, point, ind_point, seed=0):
    names = net_names(layers)
    ph = Phase(names, flow, tau)
    model = {"kind": "network", "layers": list(layers), "activations": [activation] * (len(layers) - 2),
             "bias": False}
    leaves = set()

    def collect(w):
        if isinstance(w, int):
            leaves.add(w)
        else:
            collect(w[0]), collect(w[1])

    for w in words:
        collect(w)
    n = max(leaves)  # leaf k >= 1 is generator k - 1
    potentials = [network_potential(layers, activation, False, seed, a, P) for a in range(n)]
    coords = coordinate_potentials(layers, activation, names)
    laws = laws_fn(ph) if laws_fn else []
    return Case(ph, model, {"kind": "network-combinations", "seed": seed}, potentials, coords, words, laws,
                point, ind_point)


def coordinate_potentials(layers, activation, names):
    """φ's coordinates of a small network (path sums per (input, relu nodes, output)), by SymPy."""
    syms = {n: sp.Symbol(n) for n in names}
    if len(layers) != 3:
        raise NotImplementedError
    n0, n1, n2 = layers
    out = []
    for i in range(n0):
        for o in range(n2):
            paths = [syms[f"W1[{h},{i}]"] * syms[f"W2[{o},{h}]"] for h in range(n1)]
            if activation == "linear":
                out.append(sum(paths))
            else:
                out += paths
    return out


def linear121(flow="momentum", tau=1):
    def laws(ph):
        V = [sp.Symbol("W1[0,0]"), sp.Symbol("W1[1,0]")]
        U = [sp.Symbol("W2[0,0]"), sp.Symbol("W2[0,1]")]
        return uv_laws(ph, U, V, ph.time)

    return network_case((1, 2, 1), "linear", flow, tau, UV_WORDS, laws, [3, 1, -2, 4, 5, -1, 2, 3, 1],
                        [2, 5, -3, 1, 4, 2, -1, 3, 6])


def linear111(flow="momentum", tau=1):
    return network_case((1, 1, 1), "linear", flow, tau, [0, 1, [0, 1], [0, [0, 1]], [1, [0, 1]]], None,
                        [3, 1, -2, 4, 5], [1, 2, 3, 4, 5])


LIN222_WORDS = [0, 1, 2, 3, 4, [0, 1], [0, 2], [0, 3], [0, 4], [0, [0, 1]], [0, [0, 2]], [0, [0, 3]], [0, [0, 4]],
                [1, [0, 1]], [1, [0, 2]], [1, [0, 3]]]
LIN222_POINT = [3, 1, -2, 4, 5, -1, 2, 3, 1, 2, -3, 1, 4, -2, 5, 1, 3]


def linear222():
    """φ = W2 W1 (2x2x2 linear, UVᵀ with n = m = r = 2, N = 4): one momentum law (r(r-1)/2)."""

    def laws(ph):
        s = ph.time
        V = [[sp.Symbol(f"W1[{k},{j}]") for k in range(2)] for j in range(2)]  # V[j][k] = W1[k,j]
        U = [[sp.Symbol(f"W2[{i},{k}]") for k in range(2)] for i in range(2)]
        d = lambda x: sp.Symbol(str(x) + "'")  # noqa: E731
        return [s * sum(M[i][0] * d(M[i][1]) - M[i][1] * d(M[i][0]) for M in (U, V) for i in range(2))]

    return network_case((2, 2, 2), "linear", "momentum", 1, LIN222_WORDS, laws, LIN222_POINT, points(17))


def relu221_momentum():
    words = [0, 1, 2, 3, 4, [0, 1], [0, 2], [0, 3], [0, 4], [0, [0, 1]], [0, [0, 2]], [1, [0, 1]], [1, [0, 2]]]
    return network_case((2, 2, 1), "relu", "momentum", 1, words, None, [3, 1, -2, 4, 5, -1, 2, 3, 1, 2, -3, 1, 4],
                        points(13))


def nmf_uv(flow="gradient", tau=None):
    """NMF φ = UVᵀ, n = m = 2, r = 1 (variables U00, U10, V00, V10) with the metric diag(θ)."""
    ph = Phase(["U00", "U10", "V00", "V10"], flow, tau, metric="nmf")
    U00, U10, V00, V10 = ph.theta
    phi = [U00 * V00, U00 * V10, U10 * V00, U10 * V10]
    if flow == "gradient":
        words, laws, point, ind = [0, 1, 2], [U00 + U10 - V00 - V10], [2, 3, 5, 7], [1, 2, 3, 4]
    else:
        words = [0, 1, 2, 3, [1, 0], [2, 0], [3, 0], [0, [1, 0]], [1, [1, 0]]]
        laws, point, ind = [], [2, 3, 5, 7, 11, 13, 17, 19, 23], points(9)
    return Case(ph, phi_json(ph, phi), {"kind": "coordinates"}, phi, phi, words, laws, point, ind)


def nmf_network():
    """The same NMF as a linear network [2, 1, 2]: W1 = Vᵀ, W2 = U."""
    ph = Phase(net_names((2, 1, 2)), "gradient", None, metric="nmf")
    law = [sp.Symbol("W2[0,0]") + sp.Symbol("W2[1,0]") - sp.Symbol("W1[0,0]") - sp.Symbol("W1[0,1]")]
    model = {"kind": "network", "layers": [2, 1, 2], "activations": ["linear"], "bias": False}
    potentials = [network_potential((2, 1, 2), "linear", False, 0, a, P) for a in range(3)]
    coords = coordinate_potentials((2, 1, 2), "linear", net_names((2, 1, 2)))
    return Case(ph, model, {"kind": "network-combinations", "seed": 0}, potentials, coords, [0, 1, 2], law,
                [2, 3, 5, 7], [1, 2, 3, 4])


def free_x1(tau="1"):
    """φ = x0 with a second, free parameter x1: rank 3 in dim 5, the laws a x1 + b v1 and s v1 (τ = a/b)."""
    tau = Fraction(tau)
    ph = Phase(["x0", "x1"], "momentum", tau)
    x0, x1 = ph.theta
    v1 = ph.vel[1]
    if tau:
        laws = [tau.numerator * x1 + tau.denominator * v1, ph.time * v1]
    else:
        laws = [v1, x1 - ph.time * v1]  # tau = 0: x1' is constant, x1 - t x1' too
    words = [0, 1, [0, 1]]
    return Case(ph, phi_json(ph, [x0]), {"kind": "coordinates"}, [x0], [x0], words, laws, [2, 3, 5, 7, 11],
                [1, 2, 3, 4, 5])


CASES = {
    "product2 momentum tau=1": (lambda: product2("momentum", 1), 5, 5, 0),
    "product2 momentum tau=1/2": (lambda: product2("momentum", Fraction(1, 2)), 5, 5, 0),
    "product2 momentum tau=0": (lambda: product2("momentum", 0), 5, 5, 0),
    "product2 nesterov": (lambda: product2("nesterov"), 5, 5, 0),
    "uv12 momentum tau=1": (lambda: uv12(1), 9, 7, 2),
    "uv12 momentum tau=2/3": (lambda: uv12(Fraction(2, 3)), 9, 7, 2),
    "uv12 momentum tau=0": (lambda: uv12(0), 9, 7, 2),
    "uv12 nesterov": (lambda: uv12(flow="nesterov"), 9, 7, 2),
    "linear111 momentum": (linear111, 5, 5, 0),
    "linear121 momentum": (linear121, 9, 7, 2),
    "linear222 momentum": (linear222, 17, 16, 1),
    "relu221 momentum": (relu221_momentum, 13, 13, 0),
    "nmf gradient": (nmf_uv, 4, 3, 1),
    "nmf network gradient": (nmf_network, 4, 3, 1),
    "nmf momentum tau=1": (lambda: nmf_uv("momentum", 1), 9, 9, 0),
    "free x1 tau=1": (free_x1, 5, 3, 2),
    "free x1 tau=3/2": (lambda: free_x1("3/2"), 5, 3, 2),
    "free x1 tau=0": (lambda: free_x1("0"), 5, 3, 2),
}

_built: dict = {}


def case(name) -> Case:
    if name not in _built:
        _built[name] = CASES[name][0]()
    return _built[name]


# -- valid certificates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_reference_agrees_with_the_known_counts(name):
    """The SymPy reference itself: rank as expected, laws conserved (so the certificates mean something)."""
    _, dim, rank, nlaws = CASES[name]
    c = case(name)
    assert (len(c.phase.X), c.rank, len(c.laws)) == (dim, rank, nlaws)
    for h in c.laws:
        assert c.phase.conserved(h, c.coordinates), h


@pytest.mark.parametrize("name", list(CASES))
def test_hand_made_certificates_are_certified(name):
    _, dim, rank, nlaws = CASES[name]
    cert = case(name).cert
    report = check_certificate(json.loads(json.dumps(cert)))
    assert report["proved"] == {"upper_bound": dim - rank, "lower_bound": nlaws, "exact": True}
    assert (report["dim"], report["rank"], report["count"]) == (dim, rank, dim - rank)
    assert report["flow"] == cert["flow"]
    assert [s["step"] for s in report["steps"]] == [
        "schema", "prime", "generators", "rank", "laws", "independence", "conclusion"]


def test_design_counts_for_momentum():
    """DESIGN section 4: MF on UVᵀ with N = 4 >= 3, r = 2 has r(r-1)/2 = 1 law; ReLU has none;
    NMF has r laws under gradient flow and none under momentum."""
    assert check_certificate(case("linear222 momentum").cert)["proved"]["upper_bound"] == 1
    assert check_certificate(case("relu221 momentum").cert)["proved"]["upper_bound"] == 0
    assert check_certificate(case("nmf gradient").cert)["proved"]["upper_bound"] == 1
    assert check_certificate(case("nmf momentum tau=1").cert)["proved"]["upper_bound"] == 0


def test_other_primes_and_points():
    cert = copy.deepcopy(case("uv12 momentum tau=1").cert)
    cert["rank"]["prime"] = Q
    check_certificate(cert)
    cert["rank"]["point"] = [10**30 + 7, 1, -2, 4, 5, -1, 2, 3, 1]  # s huge: reduced mod p
    check_certificate(cert)


def test_fewer_words_give_an_incomplete_but_valid_certificate():
    cert = copy.deepcopy(case("uv12 momentum tau=1").cert)
    cert["rank"]["words"] = cert["rank"]["words"][:5]
    cert["rank"]["value"] = 5
    cert["bounds"] = {"lower": 2, "upper": 4}
    cert["count"] = 4
    cert["complete"] = False
    assert check_certificate(cert)["proved"] == {"upper_bound": 4, "lower_bound": 2, "exact": False}


def test_momentum_checks_are_fast():
    cert = case("linear222 momentum").cert
    start = time.perf_counter()
    for _ in range(5):
        check_certificate(cert)
    assert (time.perf_counter() - start) / 5 < 1.0


def test_deeper_words_of_a_bigger_network_match_the_reference():
    """Words up to depth 4 on a 2x2x1 linear network under NMF momentum (lifted fields with the (τθ + v) weight)."""
    layers = (2, 2, 1)
    names = net_names(layers)
    ph = Phase(names, "momentum", Fraction(2, 3), metric="nmf")
    words = [0, 1, 2, [0, 1], [1, [0, 2]], [0, [1, [0, 2]]], [[0, 1], [0, 2]], [2, [1, [0, [0, 1]]]]]
    potentials = [network_potential(layers, "linear", False, 5, a, P) for a in range(2)]
    leaves = ph.leaves(potentials)
    point = points(len(ph.X))
    rank = ph.rank(words, leaves, point)
    model = {"kind": "network", "layers": list(layers), "activations": ["linear"], "bias": False}
    cert = make_cert(ph, model, {"kind": "network-combinations", "seed": 5}, words, rank, [], point, point)
    assert rank == len(words)  # every word raised the rank: a sharp test of each bracket
    check_certificate(cert)


# -- tampering ---------------------------------------------------------------------------------------
def tampered(name):
    return copy.deepcopy(case(name).cert)


def test_tampered_law_coefficient():
    cert = tampered("uv12 momentum tau=1")
    cert["laws"][0][0][0] = str(int(cert["laws"][0][0][0]) + 1)
    reject(cert, "laws", "laws[0]", "not conserved by the momentum flow (tau=1)")


def test_law_without_its_time_factor_fails_at_chi0():
    cert = tampered("uv12 momentum tau=1")
    ph = case("uv12 momentum tau=1").phase
    u0, u1, v0, v1 = ph.theta
    cert["laws"][0] = ph.poly_json(uv_laws(ph, (u0, u1), (v0, v1))[0])  # no s factor
    reject(cert, "laws", "chi_0 = s d/ds + v.d/dtheta - v.d/dv")


def test_tampered_tau_breaks_a_tau_dependent_law():
    cert = tampered("free x1 tau=1")
    cert["flow"]["tau"] = "2"
    reject(cert, "laws", "laws[0]", "chi_0 = 2*s d/ds")


def test_tampered_tau_changes_the_time_coordinate():
    cert = tampered("uv12 momentum tau=1")
    cert["flow"]["tau"] = "0"
    reject(cert, "schema", "variables[0]='s'", "'t'")


def test_tampered_metric():
    cert = tampered("nmf gradient")
    del cert["flow"]["metric"]  # euclidean: the rank is still 3, the NMF law is not conserved
    reject(cert, "laws", "<grad h, grad phi[0]>")
    cert = tampered("uv12 momentum tau=1")
    cert["flow"]["metric"] = "nmf"
    reject(cert, "rank", "claimed 7")


def test_tampered_flow_name():
    cert = tampered("product2 nesterov")
    cert["flow"] = {"name": "momentum", "tau": "0"}  # same names (t first): the words now have rank 5 too
    check_certificate(cert)
    cert = tampered("uv12 nesterov")
    cert["flow"] = {"name": "momentum", "tau": "0"}  # t^3 (...) is a Nesterov law, not a momentum one
    reject(cert, "laws", "chi_0 = d/dt + v.d/dtheta")


@pytest.mark.parametrize("name", ["uv12 momentum tau=1", "linear222 momentum", "nmf momentum tau=1"])
def test_tampered_rank(name):
    cert = tampered(name)
    cert["rank"]["value"] -= 1
    reject(cert, "rank", f"claimed {cert['rank']['value']}")


def test_dropping_a_word_lowers_the_rank():
    cert = tampered("linear222 momentum")
    cert["rank"]["words"] = cert["rank"]["words"][1:]
    reject(cert, "rank", "claimed 16", "rank 15")


def test_swapping_bracket_order_keeps_the_rank():
    cert = tampered("uv12 momentum tau=1")
    swap = lambda w: w if isinstance(w, int) else [swap(w[1]), swap(w[0])]  # noqa: E731
    cert["rank"]["words"] = [swap(w) for w in cert["rank"]["words"]]
    check_certificate(cert)


def test_leaf_beyond_the_coordinates():
    cert = tampered("uv12 momentum tau=1")
    cert["rank"]["words"].append([0, 2])
    reject(cert, "generators", "leaf 2", "lift of generator 1", "leaf 0 is chi_0")


def test_dependent_laws_and_conclusion():
    cert = tampered("uv12 momentum tau=1")
    cert["laws"][1] = cert["laws"][0]
    reject(cert, "independence", "rank 1")
    cert = tampered("uv12 momentum tau=1")
    cert["count"] = 3
    reject(cert, "conclusion", "count=3")
    cert = tampered("uv12 momentum tau=1")
    cert["bounds"]["upper"] = 7
    reject(cert, "conclusion", "bounds.upper=7", "9 - 7 = 2")


def test_law_in_the_wrong_phase_variables():
    cert = tampered("uv12 momentum tau=1")
    cert["laws"][0] = [["1", [[9, 1]]]]
    reject(cert, "schema", "variable index")


# -- schema of flows, tau, dim and names ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "tau, fragment",
    [
        (1, "write '1'"),
        (1.0, "floats are not exact"),
        (0.5, "floats are not exact"),
        (None, "a rational written as a string"),
        ("-1", "negative"),
        ("-1/2", "negative"),
        ("2/4", "lowest terms; write '1/2'"),
        ("0/3", "lowest terms; write '0'"),
        ("1/0", "not a rational"),
        ("01", "not a rational"),
        (" 1", "not a rational"),
        ("1/", "not a rational"),
        ("0.5", "not a rational"),
        ("1e3", "not a rational"),
        ("a", "not a rational"),
        ("+1", "not a rational"),
        (["1"], "a rational written as a string"),
    ],
)
def test_bad_tau(tau, fragment):
    cert = tampered("uv12 momentum tau=1")
    cert["flow"]["tau"] = tau
    reject(cert, "schema", "flow.tau", fragment)


def test_tau_in_lowest_terms_is_accepted_with_or_without_denominator():
    for tau in ("2/1", "2"):
        cert = tampered("free x1 tau=1")
        cert["flow"]["tau"] = tau
        cert["laws"] = [cert["laws"][1]]  # s v1 holds for every tau
        cert["independence"]["value"] = cert["bounds"]["lower"] = 1
        cert["complete"] = False
        check_certificate(cert)


@pytest.mark.parametrize(
    "flow, fragment",
    [
        ({"name": "momentum"}, "momentum needs its damping"),
        ({"name": "rmsprop"}, "is not one of ['gradient', 'momentum', 'nesterov']"),
        ({"name": "momentum", "tau": "1", "metric": "riemann"}, "flow.metric"),
        ({"name": "momentum", "tau": "1", "metric": 1}, "flow.metric"),
        ({"name": "nesterov", "tau": "1"}, "nesterov flow has no tau"),
        ({"name": "nesterov", "metric": "nmf"}, "euclidean metric only"),
        ({"name": "momentum", "tau": "1", "extra": 1}, "unknown field(s) ['extra']"),
        ("momentum", "expected an object"),
    ],
)
def test_bad_flow_objects(flow, fragment):
    cert = tampered("uv12 momentum tau=1")
    cert["flow"] = flow
    reject(cert, "schema", fragment)


def test_gradient_flow_still_refuses_tau_and_accepts_euclidean_or_null_metric():
    cert = tampered("nmf gradient")
    cert["flow"]["tau"] = "1"
    reject(cert, "schema", "gradient flow has no tau")
    cert = tampered("nmf network gradient")
    cert["flow"]["metric"] = None  # euclidean: W2 sums - W1 sums is not a gradient-flow law
    reject(cert, "laws")
    cert["flow"]["metric"] = "euclidean"
    reject(cert, "laws")


def test_explicit_euclidean_metric_and_null_tau():
    cert = tampered("uv12 nesterov")
    cert["flow"] = {"name": "nesterov", "metric": "euclidean", "tau": None}
    check_certificate(cert)


@pytest.mark.parametrize(
    "dim, fragment",
    [(8, "dimension 2D + 1 (odd, >= 3)"), (1, "dimension 2D + 1"), (7, "variable index")],
)
def test_momentum_dimension_of_a_polynomials_model(dim, fragment):
    cert = tampered("uv12 momentum tau=1")
    cert["dim"] = dim
    cert["variables"] = cert["variables"][:dim]
    reject(cert, "schema", fragment)


def test_momentum_dimension_of_a_network():
    cert = tampered("linear121 momentum")
    cert["dim"] = 4  # the gradient-flow dimension
    cert["variables"] = cert["variables"][:4]
    cert["rank"]["point"] = cert["rank"]["point"][:4]
    reject(cert, "schema", "2*4 + 1 = 9; set dim to 9")


@pytest.mark.parametrize(
    "index, name, fragment",
    [
        (0, "t", "named 's'"),
        (0, "time", "named 's'"),
        (5, "u0", "is named \"u0'\""),
        (8, "v1_dot", "velocity of parameter 'v1'"),
    ],
)
def test_phase_variable_names(index, name, fragment):
    cert = tampered("uv12 momentum tau=1")
    cert["variables"][index] = name
    reject(cert, "schema", f"variables[{index}]", fragment)


def test_time_name_for_tau_zero_and_nesterov():
    for name in ("uv12 momentum tau=0", "uv12 nesterov"):
        cert = tampered(name)
        assert cert["variables"][0] == "t"
        cert["variables"][0] = "s"
        reject(cert, "schema", "named 't'")


def test_parameter_names_are_information_only():
    cert = tampered("uv12 momentum tau=1")
    cert["variables"] = ["s", "a", "b", "c", "d", "a'", "b'", "c'", "d'"]
    check_certificate(cert)


# -- the checker stays apart ---------------------------------------------------------------------------------
_BODY = r"""
certs = json.loads(sys.argv[2])
import flowlaws.verify.checker._certificate as c
print(json.dumps([c.check_certificate(x)["proved"] for x in certs]))
"""


def test_flow_certificates_check_without_engine_flint_sympy_or_numpy(run_without_engine):
    certs = [case(n).cert for n in ("linear222 momentum", "uv12 nesterov", "nmf momentum tau=1", "nmf gradient")]
    proved = run_without_engine(_BODY, json.dumps(certs))
    assert [p["upper_bound"] for p in proved] == [1, 2, 0, 1]


# -- is_conserved / assert_conserved ---------------------------------------------------------------------------
class PolyModel:
    """A stand-in model: φ from SymPy expressions in named parameters; optional metric attribute."""

    def __init__(self, phi, variables, metric=None):
        self.variables = tuple(variables)
        if metric is not None:
            self.metric = metric
        syms = [sp.Symbol(v) for v in variables]
        self._phi = []
        for f in phi:
            poly = sp.Poly(sp.sympify(f, locals=dict(zip(variables, syms))), *syms)
            self._phi.append([[str(c), [[i, e] for i, e in enumerate(m) if e]] for m, c in poly.terms()])

    def to_json(self):
        return {"kind": "polynomials", "phi": self._phi}


class NetModel:
    def __init__(self, layers, activation="relu", bias=False):
        self.layers, self.activation, self.bias = list(layers), activation, bias
        self.variables = tuple(net_names(layers, bias))

    def to_json(self):
        acts = [self.activation] * (len(self.layers) - 2)
        return {"kind": "network", "layers": self.layers, "activations": acts, "bias": self.bias}


def uv_model(n, r, m, metric=None):
    U = [f"U{i}{k}" for i in range(n) for k in range(r)]
    V = [f"V{j}{k}" for j in range(m) for k in range(r)]
    phi = [" + ".join(f"U{i}{k}*V{j}{k}" for k in range(r)) for i in range(n) for j in range(m)]
    return PolyModel(phi, U + V, metric)


UV222 = uv_model(2, 2, 2)
MF_LAW = "U00*U01' - U01*U00' + U10*U11' - U11*U10' + V00*V01' - V01*V00' + V10*V11' - V11*V10'"


def test_uvt_momentum_law_from_the_brief():
    law = f"s*({MF_LAW})"
    for tau in (1, Fraction(1, 2), "3", sp.Rational(2, 5)):
        assert is_conserved(UV222, law, flow="momentum", tau=tau)
        assert_conserved(UV222, law, flow="momentum", tau=tau)
    assert is_conserved(UV222, law, flow="momentum")  # tau defaults to 1
    assert is_conserved(UV222, MF_LAW, flow="momentum", tau=0)  # tau = 0: no time factor
    assert not is_conserved(UV222, MF_LAW, flow="momentum", tau=1)  # the factor is needed
    assert not is_conserved(UV222, MF_LAW, flow="nesterov")
    assert is_conserved(UV222, f"t^3*({MF_LAW})", flow="nesterov")
    with pytest.raises(InvalidArgument, match="unknown name"):
        is_conserved(UV222, law, flow="momentum", tau=0)  # no s when tau = 0: t is the time coordinate


@pytest.mark.parametrize(
    "perturbed",
    [
        f"s*({MF_LAW}) + s*U00*V00'",
        f"s*({MF_LAW}) + U00",
        f"s^2*({MF_LAW})",
        f"s*({MF_LAW.replace('V10*V11', '2*V10*V11')})",
        "s*(U00*U01' - U01*U00')",
    ],
)
def test_uvt_momentum_perturbations_are_not_conserved(perturbed):
    assert not is_conserved(UV222, perturbed, flow="momentum", tau=1)
    with pytest.raises(NotConserved) as info:
        assert_conserved(UV222, perturbed, flow="momentum", tau=1)
    check_counterexample(UV222, perturbed, info.value, Phase(UV222.variables, "momentum", 1))


def check_counterexample(model, law, err, phase, potentials=None):
    """The reported value is ⟨∇h, χ⟩ at the reported point, recomputed with SymPy."""
    if potentials is None:
        potentials = [_phi_expr(coord, model.variables) for coord in model.to_json()["phi"]]
    h = phase_expr(law, phase) if isinstance(law, str) else law
    r = phase.residuals(h, potentials)[err.field_index]
    assert r != 0
    assert set(err.point) <= set(phase.names)
    sub = {x: 0 for x in phase.X}
    sub.update({x: err.point[n] for n, x in zip(phase.names, phase.X) if n in err.point})
    assert Fraction(str(r.subs(sub))) == Fraction(err.value) != 0
    if phase.time is not None:
        assert err.point[phase.names[0]] > 0  # s = exp(tau t) > 0, t > 0


def phase_expr(law, phase):
    """A law string in the phase names (with primes) as a SymPy expression in ``phase.X``."""
    import re

    key = {n: f"_c{i}_" for i, n in enumerate(phase.names)}
    pattern = re.compile("|".join(re.escape(n) + (r"(?![\w'\[])" if n[-1].isalnum() else "(?!')")
                                  for n in sorted(phase.names, key=len, reverse=True)))
    text = pattern.sub(lambda m: key[m.group()], law).replace("^", "**")
    return sp.sympify(text, locals={key[n]: x for n, x in zip(phase.names, phase.X)})


def _phi_expr(coord, variables):
    return sum(int(c) * sp.Mul(*[sp.Symbol(variables[v]) ** e for v, e in mono]) for c, mono in coord)


def test_sympy_laws_with_exp_factors():
    t = sp.Symbol("t")
    syms = {n: sp.Symbol(n) for n in UV222.variables}
    A = phase_expr(MF_LAW, Phase(UV222.variables, "momentum", 1))
    assert is_conserved(UV222, sp.exp(t) * A, flow="momentum", tau=1)
    assert is_conserved(UV222, sp.exp(t / 2) * A, flow="momentum", tau=Fraction(1, 2))
    assert not is_conserved(UV222, sp.exp(t) * A, flow="momentum", tau=Fraction(1, 2))  # s^2 A: d/dt = e^t A / 2
    assert is_conserved(UV222, sp.exp(3 * t) * A**2 * sp.exp(-t), flow="momentum", tau=1)  # (s A)^2
    assert not is_conserved(UV222, sp.exp(-t) * A, flow="momentum", tau=1)  # s^-1 A
    with pytest.raises(InvalidArgument, match="not an integer power of s"):
        is_conserved(UV222, sp.exp(t / 2) * A, flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="t appears outside"):
        is_conserved(UV222, t * A, flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="is not exp"):
        is_conserved(UV222, sp.exp(t + syms["U00"]) * A, flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="is not exp"):
        is_conserved(UV222, sp.exp(sp.sqrt(2) * t) * A, flow="momentum", tau=1)
    # tau = 0 and Nesterov: t is a coordinate, exp is not a polynomial
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(UV222, sp.exp(t) * A, flow="momentum", tau=0)
    assert is_conserved(UV222, A, flow="momentum", tau=0)
    assert not is_conserved(UV222, t * A, flow="momentum", tau=0)
    assert is_conserved(UV222, t**3 * A, flow="nesterov")


def test_negative_powers_of_s_are_checked_exactly():
    model = PolyModel(["x0"], ["x0", "x1"])  # x1 is free: s*v1 and x1 + v1 are laws (tau = 1)
    assert is_conserved(model, "s*x1'", flow="momentum", tau=1)
    t, v1, x1 = sp.Symbol("t"), sp.Symbol("x1'"), sp.Symbol("x1")
    assert is_conserved(model, (x1 + v1) ** 2 - sp.exp(2 * t) * v1**2, flow="momentum", tau=1)
    assert not is_conserved(model, sp.exp(-t) * (x1 + v1), flow="momentum", tau=1)
    with pytest.raises(NotConserved) as info:
        assert_conserved(model, sp.exp(-2 * t) * (x1 + v1), flow="momentum", tau=1)
    err = info.value
    assert err.field_index == 0 and err.field.startswith("chi_0")
    s = err.point["s"]
    x1v = err.point.get("x1", 0) + err.point.get("x1'", 0)
    # h = s^-2 (x1 + v1): <grad h, chi_0> = -2 s^-2 (x1 + v1) + s^-2 (v1 - v1) = -2 s^-2 (x1 + v1)
    assert err.value == Fraction(-2 * x1v, s**2) != 0


def test_derivative_notation():
    t = sp.Symbol("t")
    f = {n: sp.Function(n)(t) for n in ("u0", "u1", "v0", "v1")}
    d = {n: sp.Derivative(g, t) for n, g in f.items()}
    model = PolyModel(["u0*v0 + u1*v1"], ["u0", "u1", "v0", "v1"])
    law = sp.exp(t) * (f["u0"] * d["u1"] - f["u1"] * d["u0"] + f["v0"] * d["v1"] - f["v1"] * d["v0"])
    assert is_conserved(model, law, flow="momentum", tau=1)
    assert not is_conserved(model, law + f["u0"], flow="momentum", tau=1)
    positive_t = sp.Symbol("t", positive=True)
    g = sp.Function("u0")(positive_t)
    assert not is_conserved(model, sp.exp(positive_t) * g * sp.Derivative(g, positive_t), flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="only first derivatives"):
        is_conserved(model, sp.Derivative(f["u0"], t, 2), flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="unknown function"):
        is_conserved(model, sp.Function("w")(t), flow="momentum", tau=1)


def test_law_objects_in_the_phase_space():
    model = PolyModel(["u0*v0 + u1*v1"], ["u0", "u1", "v0", "v1"])
    names = ("s", "u0", "u1", "v0", "v1", "u0'", "u1'", "v0'", "v1'")
    law = Law(((1, ((0, 1), (1, 1), (6, 1))), (-1, ((0, 1), (2, 1), (5, 1))),
               (1, ((0, 1), (3, 1), (8, 1))), (-1, ((0, 1), (4, 1), (7, 1)))), names)
    assert is_conserved(model, law, flow="momentum", tau=1)
    # the same law with the factor as a time rate, variables without s
    law2 = Law(tuple((c, tuple((v - 1, e) for v, e in mono if v)) for c, mono in law.terms), names[1:], time_rate=1)
    assert is_conserved(model, law2, flow="momentum", tau=1)
    law3 = Law(law2.terms, law2.variables, time_rate=Fraction(1, 2))
    assert is_conserved(model, law3, flow="momentum", tau=Fraction(1, 2))
    with pytest.raises(InvalidArgument, match="not an integer power"):
        is_conserved(model, law3, flow="momentum", tau=1)
    with pytest.raises(InvalidArgument, match="phase coordinate"):
        is_conserved(model, law2, flow="nesterov")
    with pytest.raises(InvalidArgument, match="time dependent"):
        is_conserved(model, law2, flow="gradient")
    assert is_conserved(model, law.to_json(), flow="momentum", tau=3)  # a certificate POLY


def test_nmf_metric():
    nmf = uv_model(2, 1, 2, metric="nmf")
    assert is_conserved(nmf, "U00 + U10 - V00 - V10")
    assert not is_conserved(nmf, "U00^2 + U10^2 - V00^2 - V10^2")
    # metric= overrides the model's attribute
    assert is_conserved(nmf, "U00^2 + U10^2 - V00^2 - V10^2", metric="euclidean")
    assert not is_conserved(nmf, "U00 + U10 - V00 - V10", metric="euclidean")
    plain = uv_model(2, 1, 2)
    assert is_conserved(plain, "U00 + U10 - V00 - V10", metric="nmf")
    with pytest.raises(NotConserved) as info:
        assert_conserved(nmf, "U00^2 + U10^2 - V00^2 - V10^2")
    err = info.value
    assert "gradient flow (metric nmf)" in str(err) and err.field.startswith("theta * grad phi")
    assert all(v > 0 for v in err.point.values())  # theta > 0 on the NMF domain
    check_counterexample(nmf, "U00^2 + U10^2 - V00^2 - V10^2", err, Phase(nmf.variables, metric="nmf"))


def test_nmf_momentum_has_no_such_laws():
    nmf = uv_model(2, 1, 2, metric="nmf")
    ph = Phase(nmf.variables, "momentum", 1, metric="nmf")
    for law in ("U00 + U10 - V00 - V10", "s*(U00 + U10 - V00 - V10)", "s*(U00' + U10' - V00' - V10')"):
        assert not is_conserved(nmf, law, flow="momentum", tau=1)
        with pytest.raises(NotConserved) as info:
            assert_conserved(nmf, law, flow="momentum", tau=1)
        check_counterexample(nmf, law, info.value, ph)
    with pytest.raises(InvalidArgument, match="euclidean metric only"):
        is_conserved(nmf, "U00", flow="nesterov")
    assert not is_conserved(nmf, "U00", flow="nesterov", metric="euclidean")


def test_relu_neuron_laws_are_not_conserved_by_momentum():
    relu = NetModel([2, 2, 1])
    gf_law = "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2"
    assert is_conserved(relu, gf_law)
    for law in (gf_law, f"s*({gf_law})", "s*(W1[0,0]*W1[0,0]' + W1[0,1]*W1[0,1]' - W2[0,0]*W2[0,0]')"):
        assert not is_conserved(relu, law, flow="momentum", tau=1)
    assert not is_conserved(relu, gf_law, flow="nesterov")
    with pytest.raises(NotConserved) as info:
        assert_conserved(relu, gf_law, flow="momentum", tau=1)
    err = info.value
    assert err.field_index == 0 and "chi_0" in err.field
    assert "W1[0,0]'" in err.point or "W1[0,1]'" in err.point or "W2[0,0]'" in err.point
    assert err.point["s"] >= 1
    assert "momentum flow (tau=1)" in str(err) and "other coordinates do not matter" in str(err)


def test_linear_network_momentum_law():
    lin = NetModel([1, 2, 1], activation="linear")
    law = ("s*(W2[0,0]*W2[0,1]' - W2[0,1]*W2[0,0]' + W1[0,0]*W1[1,0]' - W1[1,0]*W1[0,0]')")
    assert is_conserved(lin, law, flow="momentum", tau=1)
    assert not is_conserved(lin, law.replace("s*", "", 1), flow="momentum", tau=1)
    # the lifted generators fail: a law in the parameters' velocities only
    with pytest.raises(NotConserved) as info:
        assert_conserved(lin, "s*W2[0,0]'", flow="momentum", tau=1)
    assert info.value.field_index == 1 and info.value.field.startswith("(0, 0, grad phi[0]")


@pytest.mark.parametrize("flow, tau", [("momentum", 1), ("momentum", 0), ("nesterov", None)])
def test_certificate_laws_pass_is_conserved(flow, tau):
    """The laws of the hand-made certificates, given back to is_conserved as strings."""
    c = uv12(tau, flow) if flow == "momentum" else uv12(flow="nesterov")
    model = PolyModel(["u0*v0 + u1*v1"], ["u0", "u1", "v0", "v1"])
    for h in c.laws:
        text = str(h).replace("**", "^")
        assert is_conserved(model, text, flow=flow, tau=tau), text
        assert is_conserved(model, h, flow=flow, tau=tau)


def test_bad_arguments():
    with pytest.raises(DomainError, match="float"):
        is_conserved(UV222, "s", flow="momentum", tau=0.5)
    with pytest.raises(DomainError, match="float"):
        is_conserved(UV222, "s", flow="momentum", tau=sp.Float(0.5))
    with pytest.raises(InvalidArgument, match=">= 0"):
        is_conserved(UV222, "s", flow="momentum", tau=-1)
    with pytest.raises(InvalidArgument, match=">= 0"):
        is_conserved(UV222, "s", flow="momentum", tau="-1/2")
    with pytest.raises(DomainError, match="not an exact rational"):
        is_conserved(UV222, "s", flow="momentum", tau="1/0")
    with pytest.raises(DomainError, match="not an exact rational"):
        is_conserved(UV222, "s", flow="momentum", tau="half")
    with pytest.raises(DomainError, match="not an exact rational"):
        is_conserved(UV222, "s", flow="momentum", tau="nan")
    assert is_conserved(UV222, f"exp(t/2)*({MF_LAW})", flow="momentum", tau="0.5")  # an exact decimal, as analyze
    with pytest.raises(InvalidArgument, match="bool"):
        is_conserved(UV222, "s", flow="momentum", tau=True)
    with pytest.raises(InvalidArgument, match="nesterov flow has no tau"):
        is_conserved(UV222, "t", flow="nesterov", tau=1)
    with pytest.raises(InvalidArgument, match="metric"):
        is_conserved(UV222, "U00", metric="riemann")
    with pytest.raises(InvalidArgument, match="model.metric"):
        is_conserved(uv_model(1, 1, 1, metric="hyperbolic"), "U00")
    with pytest.raises(InvalidArgument, match="rename"):
        is_conserved(PolyModel(["s*x"], ["s", "x"]), "s", flow="momentum")
    with pytest.raises(InvalidArgument, match="rename"):
        is_conserved(PolyModel(["t*x"], ["t", "x"]), "t", flow="nesterov")
    with pytest.raises(InvalidArgument, match="unexpected character"):
        is_conserved(UV222, "U00''", flow="momentum")  # no accelerations
    with pytest.raises(InvalidArgument, match="unexpected character"):
        is_conserved(UV222, "U00'", flow="gradient")  # no velocities under gradient flow
    with pytest.raises(InvalidArgument, match="unknown name"):
        is_conserved(UV222, "exp(t)*U00", flow="gradient")
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(UV222, "exp(t)*U00", flow="nesterov")
    assert is_conserved(UV222, f"exp(t)*({MF_LAW})", flow="momentum", tau=1)  # strings may use exp(k*tau*t)
    assert is_conserved(UV222, f"exp(t/2)*({MF_LAW})", flow="momentum", tau="1/2")


# -- a differential test against the SymPy reference --------------------------------------------------------------
def _free_laws(ph):
    """Laws in (time, x1, v1) when φ does not depend on x1 (free motion of x1)."""
    T, x1, v1 = ph.time, ph.theta[1], ph.vel[1]
    if ph.flow == "nesterov":
        return [T**3 * v1, 2 * x1 + T * v1]
    if ph.tau:
        return [ph.tau.numerator * x1 + ph.tau.denominator * v1, T * v1]
    return [v1, x1 - T * v1]


@settings(max_examples=40, deadline=None, database=None)
@given(
    flow=st.sampled_from([("momentum", 1), ("momentum", Fraction(1, 2)), ("momentum", 0), ("nesterov", None)]),
    metric=st.sampled_from(["euclidean", "nmf"]),
    law_terms=st.lists(st.tuples(st.integers(-2, 2), st.integers(0, 2), st.integers(0, 2)), max_size=3),
    noise=st.lists(st.tuples(st.integers(-2, 2), st.lists(st.integers(0, 4), min_size=1, max_size=3)), max_size=2),
)
def test_is_conserved_matches_sympy(flow, metric, law_terms, noise):
    """φ = x0², x1 free: a random polynomial in the two known laws, plus random noise terms."""
    name, tau = flow
    if name == "nesterov":
        metric = "euclidean"
    model = PolyModel(["x0^2"], ["x0", "x1"])
    ph = Phase(["x0", "x1"], name, tau, metric)
    L1, L2 = _free_laws(ph)
    h = sum((c * L1**i * L2**j for c, i, j in law_terms), sp.Integer(0))
    h += sum((c * sp.Mul(*[ph.X[i] for i in idx]) for c, idx in noise), sp.Integer(0))
    h = sp.expand(h)
    expected = ph.conserved(h, [ph.theta[0] ** 2])
    if not noise:
        assert expected
    assert is_conserved(model, h, flow=name, tau=tau, metric=metric) == expected
    if not expected:
        with pytest.raises(NotConserved) as info:
            assert_conserved(model, h, flow=name, tau=tau, metric=metric)
        check_counterexample(model, h, info.value, ph)
