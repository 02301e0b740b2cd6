"""The checker's fast route for networks: jets, NumPy rank mod p, local law check.

Each piece is cross-checked against the explicit route (path expansion, pure
Python rank) on small random networks, and tampered certificates of a medium
network are rejected through the fast route.
"""

from __future__ import annotations

import copy
import random
from fractions import Fraction

import numpy as np
import pytest

import flowlaws as fl
from flowlaws.errors import CertificateError
from flowlaws.verify import check_certificate
from flowlaws.verify.checker import _certificate
from flowlaws.verify.checker._model import _Generators, _NetworkModel
from flowlaws.verify.checker._parsed import parse_flow
from flowlaws.verify.checker._schema import parse_poly
from flowlaws.verify.checker._flows import FlowSpec, LiftedGenerators, law_fields
from flowlaws.verify.checker._local_laws import drift_residual, local_residual, new_cache
from flowlaws.verify.checker._modp import WordEvaluator, rank_mod_p
from flowlaws.verify.checker._network import Network, z
from flowlaws.verify.checker._network_eval import NetworkWords, fast_route_problem, z_array
from flowlaws.verify.checker._polys import Poly, inner
from flowlaws.verify.checker._rank_np import matmul_mod, rank_mod_p_np

PRIMES = [3, 7, 101, 1_000_003, 16_777_213, 67_108_859, 2**31 - 1]
FLOWS = [
    FlowSpec("gradient"),
    FlowSpec("gradient", "nmf"),
    FlowSpec("momentum", tau=Fraction(1, 2)),
    FlowSpec("momentum", tau=Fraction(0)),
    FlowSpec("momentum", "nmf", Fraction(3, 2)),
    FlowSpec("momentum", "nmf", Fraction(2**62 + 1, 3)),  # a huge tau: coefficients reduced before int64 products
    FlowSpec("nesterov"),
]


# -- rank mod p ----------------------------------------------------------------------------------------
def _random_rows(rng: random.Random, p: int) -> tuple[list[list[int]], int]:
    r, n, k = rng.randint(0, 12), rng.randint(1, 12), rng.randint(0, 5)
    basis = [[rng.randrange(p) for _ in range(n)] for _ in range(k)]
    rows = []
    for _ in range(r):
        if basis and rng.random() < 0.8:  # rank-deficient: combinations of a few rows
            cs = [rng.randrange(p) for _ in basis]
            rows.append([sum(c * b[j] for c, b in zip(cs, basis)) for j in range(n)])
        else:
            rows.append([rng.randrange(-p, p) for _ in range(n)])
    if rows and rng.random() < 0.3:
        rows.append(list(rows[0]))  # duplicate row
    return rows, n


@pytest.mark.parametrize("p", PRIMES)
def test_numpy_rank_matches_pure_rank(p):
    rng = random.Random(p)
    for _ in range(40):
        rows, n = _random_rows(rng, p)
        want = rank_mod_p([{j: v % p for j, v in enumerate(row) if v % p} for row in rows], p)
        matrix = rows if rows else np.zeros((0, n), dtype=np.int64)
        assert rank_mod_p_np(matrix, p) == want


def test_numpy_rank_edge_shapes():
    p = 16_777_213
    assert rank_mod_p_np(np.zeros((0, 5), dtype=np.int64), p) == 0
    assert rank_mod_p_np([[0], [p], [2 * p]], p) == 0
    assert rank_mod_p_np([[0], [3], [5]], p) == 1
    assert rank_mod_p_np([[1, 2, 3]] * 4, p) == 1
    assert rank_mod_p_np(np.eye(7, dtype=np.int64) * (p + 1), p) == 7
    assert rank_mod_p_np([[2**80, 1], [2**81, 2]], p) == 1  # object entries reduced exactly
    with pytest.raises(ValueError, match="2\\*\\*31"):
        rank_mod_p_np([[1]], 2**61 - 1)


def test_numpy_rank_medium_low_rank():
    p = 16_777_213
    rng = np.random.default_rng(0)
    a = rng.integers(0, p, (150, 40)).astype(object)
    b = rng.integers(0, p, (40, 170)).astype(object)
    m = (a.dot(b) % p).astype(np.int64)
    assert rank_mod_p_np(m, p) == 40
    assert rank_mod_p_np(m[:, :30], p) == 30


@pytest.mark.parametrize("p", [16_777_213, 2**31 - 1])
def test_matmul_mod_is_exact_with_long_inner_dimension(p):
    from flowlaws.verify.checker._rank_np import _centre

    rng = np.random.default_rng(1)
    x = rng.integers(0, p, (5, 700))
    y = rng.integers(0, p, (700, 4))
    want = (x.astype(object).dot(y.astype(object))) % p
    got = matmul_mod(_centre(x, p), _centre(y, p), p).astype(np.int64) % p
    assert got.tolist() == want.tolist()


# -- words on jets -------------------------------------------------------------------------------------------
def test_z_array_matches_z():
    a = np.array([[0], [1], [2**63 + 5]], dtype=np.uint64)
    v = np.array([[0, 3, 77]], dtype=np.uint64)
    for seed in (0, 12345, 2**64 - 1):
        got = z_array(seed, a, v, 16_777_213)
        assert got.tolist() == [[z(seed, int(ai), int(vi), 16_777_213) for vi in v[0]] for ai in a[:, 0]]


def _random_net(rng: random.Random, max_width: int = 3) -> Network:
    L = rng.randint(1, 4)
    layers = [rng.randint(1, max_width) for _ in range(L + 1)]
    acts = [rng.choice(["linear", "relu", "leaky_relu"]) for _ in range(L - 1)]
    return Network(layers, acts, rng.random() < 0.5)


def _random_word(rng: random.Random, depth: int, leaves: int):
    if depth == 0 or rng.random() < 0.3:
        return rng.randrange(leaves)
    return (_random_word(rng, depth - 1, leaves), _random_word(rng, depth - 1, leaves))


def _explicit_evaluator(net: Network, flow: FlowSpec, seed: int, p: int, point: list[int]) -> WordEvaluator:
    gens = _Generators(_NetworkModel(net), {"kind": "network-combinations", "seed": seed}, p)
    if flow.has_drift or flow.metric != "euclidean":
        lifted = LiftedGenerators(flow, net.dim, p, gens.field, gens.value_at, gens.jvp_at)
        value, jvp = lifted.at(point)
        return WordEvaluator(lifted.field, point, p, value, jvp)
    return WordEvaluator(gens.field, point, p, gens.value_at(point), gens.jvp_at(point))


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f.describe())
def test_jet_words_match_the_explicit_path_expansion(flow):
    rng = random.Random(flow.describe())
    for _ in range(8):
        net = _random_net(rng)
        p = rng.choice([101, 1_000_003, 16_777_213])
        seed = rng.randrange(2**64)
        point = [rng.randint(-6, 6) for _ in range(flow.dim(net.dim))]
        words = [_random_word(rng, rng.randint(0, 2), 6) for _ in range(8)] + [((0, 1), (2, (3, 1)))]
        fast = NetworkWords(net, seed=seed, p=p, point=point, flow=flow).values(words)
        ev = _explicit_evaluator(net, flow, seed, p, [x % p for x in point])
        for w, row in zip(words, fast):
            assert {j: int(x) for j, x in enumerate(row) if x} == ev.value(w), (net.layers, net.activations, w)


def test_jet_route_refuses_primes_too_large_for_int64():
    net = Network((2, 2, 1), ("relu",), False)
    assert fast_route_problem(net, 2**61 - 1) is not None
    with pytest.raises(ValueError, match="2\\*\\*63"):
        NetworkWords(net, seed=0, p=2**61 - 1, point=[0] * net.dim)


# -- local law check -------------------------------------------------------------------------------------------
def _explicit_conserved(net: Network, flow: FlowSpec, h: Poly) -> bool:
    coords = _NetworkModel(net).coordinate_gradients()
    fields = law_fields(flow, net.dim, [(d, g) for d, _phi, g in coords])
    gh = h.gradient()
    return all(not inner(gh, chi) for _i, _l, chi in fields)


def _local_conserved(net: Network, flow: FlowSpec, h: Poly, cache) -> bool:
    if flow.has_drift and drift_residual(flow, net.dim, h):
        return False
    return local_residual(net, flow, h, cache) is None


CASES = [
    ([2, 3, 2], "relu", False, "gradient"),
    ([2, 3, 2], "relu", True, "gradient"),
    ([3, 2, 2, 2], "linear", False, "gradient"),
    ([2, 2, 3, 2], "leaky_relu", True, "gradient"),
    ([2, 2, 2, 2, 1], "relu", True, "gradient"),
    ([2, 3, 3], "linear", True, "gradient"),
    ([3, 3, 3], "linear", False, "momentum"),
    ([2, 3, 2, 2], "linear", False, "momentum"),
    ([2, 3, 2], "linear", False, "nesterov"),
]


@pytest.mark.parametrize("layers,act,bias,flowname", CASES)
def test_local_law_check_agrees_with_explicit_check(layers, act, bias, flowname):
    model = fl.models.mlp(layers, activation=act, bias=bias)
    res = fl.analyze(model, flow=flowname, tau=1 if flowname == "momentum" else None)
    cert = res.certificate
    flow = parse_flow(cert["flow"])
    net = Network(layers, [act] * (len(layers) - 2), bias)
    laws = [parse_poly(h, "law", cert["dim"]) for h in cert["laws"]]
    rng = random.Random(str(layers) + act + flowname)
    cache = new_cache()
    for h in laws:
        assert _explicit_conserved(net, flow, h)
        assert _local_conserved(net, flow, h, cache)
        for _ in range(3):  # perturbed laws: whenever the explicit check refuses, so does the local one
            j = rng.randrange(cert["dim"])
            bad = h + Poly({((j, rng.randint(1, 2)),): rng.choice([-1, 1])})
            if rng.random() < 0.5:
                bad = h + Poly({rng.choice(list(h.terms)): 1})
            if not _explicit_conserved(net, flow, bad):
                assert not _local_conserved(net, flow, bad, cache), bad.to_str()


def test_local_check_names_the_failing_band():
    net = Network((2, 2, 1), ("relu",), False)
    w = [Poly.variable(j) for j in range(net.dim)]
    msg = local_residual(net, FlowSpec("gradient"), w[0] * w[0] - w[5] * w[5])
    assert msg is not None and "layers 1..2" in msg and "layer 2 neuron 0" in msg


# -- check_certificate through the fast route -----------------------------------------------------------
@pytest.fixture(scope="module")
def medium_cert():
    """relu 10-10-10-10 (D = 300, 20 laws), about 1 s for the engine."""
    return fl.analyze(fl.models.mlp([10, 10, 10, 10], activation="relu")).certificate


@pytest.fixture
def local_laws(monkeypatch):
    """Force the band check (medium networks are below the explicit threshold)."""
    monkeypatch.setitem(_certificate.LIMITS, "explicit_law_paths", 0)
    monkeypatch.setitem(_certificate.LIMITS, "paths", 10)  # any expansion would now be refused


def test_fast_route_proves_the_medium_certificate(medium_cert, local_laws):
    calls = []
    report = check_certificate(medium_cert, progress=lambda *a: calls.append(a))
    assert report["proved"] == {"upper_bound": 20, "lower_bound": 20, "exact": True}
    assert "band by band" in " ".join(s["detail"] for s in report["steps"])
    assert report["routes"] == {"words": "jets", "laws": "bands"}
    assert ("rank", len(medium_cert["rank"]["words"]), len(medium_cert["rank"]["words"])) in calls
    assert ("laws", 20, 20) in calls


@pytest.mark.parametrize(
    "spec,flow",
    [
        ("linear:3x4x4x3", "gradient"), ("relu+bias:3x4x3", "gradient"), ("leaky:2x3x3x2", "gradient"),
        ("linear:2x3x3", "momentum"), ("linear:3x3x2", "nesterov"),
    ],
)
def test_fast_and_explicit_routes_agree(spec, flow, monkeypatch):
    cert = fl.analyze(fl.models.parse(spec), flow=flow, tau=1 if flow == "momentum" else None).certificate
    with monkeypatch.context() as m:
        m.setitem(_certificate.LIMITS, "explicit_law_paths", 0)
        fast = check_certificate(cert)
    monkeypatch.setattr(_certificate, "_fast_words_problem", lambda c, p: "forced explicit")
    explicit = check_certificate(cert)
    assert fast["proved"] == explicit["proved"]
    assert "band by band" in fast["steps"][2]["detail"] and "band" not in explicit["steps"][2]["detail"]


def test_fast_route_rejects_a_wrong_rank(medium_cert, local_laws):
    cert = copy.deepcopy(medium_cert)
    cert["rank"]["value"] -= 1
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == "rank"
    cert = copy.deepcopy(medium_cert)
    cert["rank"]["words"][-1] = cert["rank"]["words"][0]  # a repeated word: the rank drops
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == "rank"


def test_fast_route_rejects_a_law_that_is_not_conserved(medium_cert, local_laws):
    cert = copy.deepcopy(medium_cert)
    law = cert["laws"][3]
    law[0] = [str(int(law[0][0]) + 1), law[0][1]]  # one coefficient off
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == "laws" and "laws[3]" in str(info.value) and "band" in str(info.value)
    cert = copy.deepcopy(medium_cert)
    cert["laws"][0] = cert["laws"][0] + [["1", [[0, 1], [299, 1]]]]  # couples the first and last layer
    with pytest.raises(CertificateError) as info:
        check_certificate(cert)
    assert info.value.step == "laws"


def test_fast_route_for_momentum_certificates(local_laws):
    cert = fl.analyze(fl.models.mlp([3, 4, 3], activation="linear"), flow="momentum", tau=1).certificate
    assert cert["model"]["kind"] == "network"
    report = check_certificate(cert)
    assert report["proved"]["exact"]
    bad = copy.deepcopy(cert)
    bad["laws"][0] = bad["laws"][0] + [["1", [[0, 1]]]]  # + s: breaks the drift condition
    with pytest.raises(CertificateError) as info:
        check_certificate(bad)
    assert info.value.step == "laws" and "chi_0" in str(info.value)
