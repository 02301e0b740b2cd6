"""Momentum and Nesterov flows of layered networks through the network route.

The phase fields (drift and lifted seeded generators) are evaluated on jets and the
laws come from the structural Noether charges, verified locally. Small networks
are compared with the explicit route (the same φ as explicit polynomials).
"""

import json

import numpy as np
import pytest

import flowlaws as fl
import flowlaws.engine.family as family_module
import flowlaws.engine.search as search_module
from flowlaws.engine.fields import flint_context as _ctx, explicit_fields
from flowlaws.engine.flow import check_flow
from flowlaws.algebra._laws import FieldVerifier
from flowlaws.algebra._lie import drift_lie_rank
from flowlaws.algebra._network_fields import LayeredNetwork
from flowlaws.algebra._network_laws import PhaseLocalVerifier, momentum_candidates
from flowlaws.algebra._phase_fields import Drift, PhaseNetworkGenerators
from flowlaws.models._model import Model

P = 16777213


def explicit_model(model):
    """The same φ as explicit polynomials: analyze takes the explicit route."""
    return Model(variables=model.variables, kind="polynomials", name=model.name, phi=model.phi_polynomials())


def checked(res):
    report = fl.verify.check_certificate(json.loads(json.dumps(res.certificate)))
    assert report["proved"]["exact"] is res.complete
    return res


def kwargs(flow, tau):
    return dict(flow=flow) if flow == "nesterov" else dict(flow=flow, tau=tau)


CASES = [  # (widths, activations, bias, flow, tau)
    ([2, 3, 2], "relu", False, "momentum", 1),
    ([2, 2, 2], "relu", True, "momentum", "1/2"),
    ([2, 2, 2, 1], "leaky_relu", False, "momentum", 0),
    ([2, 2, 1], "relu", False, "nesterov", None),
    ([2, 3, 2], "linear", False, "momentum", 1),
    ([2, 2, 2], "linear", True, "momentum", 0),
    ([2, 2, 2, 2], ["linear", "relu"], False, "momentum", "1/2"),
    ([2, 2, 2, 2, 1], "relu", True, "momentum", 1),
]


@pytest.mark.parametrize("widths,act,bias,flow,tau", CASES)
def test_network_route_matches_the_explicit_route(widths, act, bias, flow, tau):
    model = fl.models.mlp(widths, act, bias=bias)
    net = checked(fl.analyze(model, **kwargs(flow, tau)))
    assert net.certificate["generators"]["kind"] == "network-combinations"
    assert net.certificate["model"]["kind"] == "network"
    ref = fl.analyze(explicit_model(model), **kwargs(flow, tau))
    assert ref.certificate["generators"]["kind"] == "coordinates"
    assert (net.dim, net.count, net.rank, net.complete) == (ref.dim, ref.count, ref.rank, ref.complete)
    assert net.complete
    # same span: each law of one route is conserved by the flow, checked independently
    for law in net.laws + ref.laws:
        assert fl.verify.is_conserved(model, law, **kwargs(flow, tau))


@pytest.mark.parametrize("widths,bias", [([3, 4, 4, 3], True), ([2, 3, 3, 2], False)])
@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_relu_nets_have_no_momentum_law(widths, bias, act, monkeypatch):
    # the rank alone proves 0: no law search, the path-lifting is never expanded
    def refuse(*args, **kw):
        raise AssertionError("the explicit fields were built")

    monkeypatch.setattr(family_module, "explicit_fields", refuse)
    monkeypatch.setattr(search_module, "explicit_fields", refuse)
    res = checked(fl.analyze(fl.models.mlp(widths, act, bias=bias), flow="momentum", tau=1))
    assert res.count == 0 and res.rank == res.dim and res.complete and not res.laws


@pytest.mark.parametrize("widths", [[3, 3, 4, 3], [2, 3, 3, 2], [3, 4, 3], [2, 3, 2, 3, 2]])
@pytest.mark.parametrize("tau", [1, 0, "1/2"])
def test_deep_linear_momentum_count(widths, tau):
    res = checked(fl.analyze(fl.models.mlp(widths, "linear"), flow="momentum", tau=tau))
    assert res.complete
    assert res.count == sum(n * (n - 1) // 2 for n in widths[1:-1])
    for law in res.laws:  # e^{τt}·(bilinear in θ, θ'): the exponential is factored out
        assert law.degree == 2
        assert ("exp(" in str(law)) == bool(tau)


def test_nesterov_linear_laws_carry_t_cubed():
    model = fl.models.mlp([2, 3, 2], "linear")
    res = checked(fl.analyze(model, flow="nesterov"))
    assert res.complete and res.count == 3
    assert all("t^3" in str(law) for law in res.laws)
    assert fl.verify.is_conserved(model, res.laws[0], flow="nesterov")


def test_uvt_law_reads_as_the_design_formula():
    model = fl.models.factorization(2, 2, 2)
    (law,) = checked(fl.analyze(model, flow="momentum", tau=1)).laws
    assert str(law).startswith("exp(t)*(") and "U[0,0]*U[0,1]'" in str(law)
    assert fl.verify.is_conserved(model, law, flow="momentum", tau=1)


def test_out_of_regime_falls_back_to_the_generic_search():
    # N = 2 < 3: two laws under τ = 0, one structural charge; the generic search finds the other
    res = checked(fl.analyze(fl.models.factorization(1, 2, 1), flow="momentum", tau=0))
    assert res.complete and res.count == 2
    assert res.certificate["generators"]["kind"] == "network-combinations"


DRIFTS = [("exp", 1, 1, 1), ("exp", 1, 2, 1), ("time", 0, 1, 0), ("nesterov", 0, 1, 3)]
NETS = [((2, 3, 2), ("linear",), False), ((2, 2, 2, 2), ("linear", "linear"), True), ((2, 2, 3, 1), ("relu", "linear"), True)]


def _flow_of(kind, a, b):
    return check_flow("nesterov") if kind == "nesterov" else check_flow("momentum", 0 if kind == "time" else f"{a}/{b}")


@pytest.mark.parametrize("kind,a,b,power", DRIFTS)
@pytest.mark.parametrize("layers,acts,bias", NETS)
def test_local_verifier_agrees_with_explicit_fields(layers, acts, bias, kind, a, b, power):
    model = fl.models.mlp(list(layers), list(acts), bias=bias)
    net = LayeredNetwork(layers, acts, bias)
    flow = _flow_of(kind, a, b)
    local = PhaseLocalVerifier(net, kind, a, b)
    explicit = FieldVerifier(explicit_fields(model, flow), _ctx(flow.dim(model.dim)))
    D = model.dim
    cands = momentum_candidates(net, power)
    assert cands
    cases = list(cands)
    for h in cands:
        k = next(iter(h))
        cases.append({**h, k: h[k] + 1})  # a perturbed coefficient
        cases.append({tuple((v, e + 1) if v == 0 else (v, e) for v, e in m) if power else ((0, 1),) + m: c
                      for m, c in h.items()})  # a wrong power of the time coordinate
        cases.append({m: (c if m[-1][0] > D and m[-2][0] <= D and (m[-2][0] - 1) < (m[-1][0] - D - 1) else -c)
                      for m, c in h.items()})  # a symmetric (gradient-flow-like) combination
    cases.append({m: c for h in cands for m, c in h.items()})  # a sum of charges is a law
    verdicts = [(local(h), explicit(h)) for h in cases]
    assert all(x == y for x, y in verdicts), verdicts
    assert all(local(h) for h in cands)
    assert not all(local(h) for h in cases)


def test_false_candidate_is_rejected():
    net = LayeredNetwork((2, 3, 2), ("linear",), False)
    check = PhaseLocalVerifier(net, "exp", 1, 1)
    h = momentum_candidates(net, 1)[0]
    assert check(h)
    assert not check({m: -c if i == 0 else c for i, (m, c) in enumerate(h.items())})
    assert not check({tuple(x for x in m if x[0] != 0): c for m, c in h.items()})  # s dropped: χ_0 fails
    relu = PhaseLocalVerifier(LayeredNetwork((2, 3, 2), ("relu",), False), "exp", 1, 1)
    assert not relu(h)  # the rotation charge of a linear layer is no law of a ReLU layer


def test_phase_rank_reaches_the_design_values():
    for layers, act, laws in [((4, 4, 4, 4), "relu", 0), ((4, 4, 4, 4), "linear", 12), ((2, 2, 5, 2, 4), "linear", 12)]:
        net = LayeredNetwork(layers, (act,) * (len(layers) - 2), False)
        fam = PhaseNetworkGenerators(net, Drift("exp", 1, 1), seed=0, prime=P)
        point = np.random.default_rng(0).integers(1, P, size=fam.dim)
        assert drift_lie_rank(fam, point, target=fam.dim).rank == fam.dim - laws
