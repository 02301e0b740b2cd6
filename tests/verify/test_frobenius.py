"""Counts proved by Frobenius when the laws are not polynomial (issue 16).

The certificate's ``frobenius`` identities ``q·Z = Σ p_l·Y_l`` prove that the rank
words span an involutive distribution containing the generators, hence exactly
``dim − r`` local laws. Checked here: the non-polynomial cases (with their laws
verified by SymPy), agreement with polynomial-law certificates where both exist,
and tampering, each rejected at the step named.
"""

from __future__ import annotations

import copy
import json

import pytest
import sympy as sp

import flowlaws as fl
from flowlaws.algebra._lie import lie_rank
from flowlaws.engine.bounds import Bounds
from flowlaws.engine.certificate import certificate
from flowlaws.engine.family import generator_family
from flowlaws.engine.frobenius import frobenius_stage
from flowlaws.engine.problem import pose
from flowlaws.errors import CertificateError
from flowlaws.verify import check_certificate


def _conserved(law, phi, names):
    """``⟨∇law, ∇φ_k⟩ = 0`` for every coordinate, by SymPy (an independent check of a non-polynomial law)."""
    xs = sp.symbols(names)
    return all(sp.simplify(sum(sp.diff(law, x) * sp.diff(f, x) for x in xs)) == 0 for f in phi)


@pytest.mark.parametrize(
    ("model", "phi", "names", "laws"),
    [
        (fl.models.symmetric_factorization(1, 2), ["u0**2 + u1**2"], "u0 u1", ["u0/u1"]),
        (fl.models.symmetric_factorization(1, 3), ["u0**2 + u1**2 + u2**2"], "u0 u1 u2", ["u0/u2", "u1/u2"]),
        (fl.models.from_polynomials(["x0 + x1^2"], variables=["x0", "x1"]), ["x0 + x1**2"], "x0 x1",
         ["x1*exp(-2*x0)"]),
    ],
)
def test_non_polynomial_counts_are_proved_by_frobenius_alone(model, phi, names, laws):
    syms = sp.symbols(names)
    local = dict(zip(names.split(), syms))
    exprs = [sp.sympify(h, locals=local) for h in laws]
    assert all(_conserved(h, [sp.sympify(f, locals=local) for f in phi], names) for h in exprs)
    jac = sp.Matrix([[sp.diff(h, x) for x in syms] for h in exprs])
    assert jac.subs(dict(zip(syms, [3, 5, 7][: len(syms)]))).rank() == len(exprs)  # independent laws
    cert = _frobenius_certificate(model)  # no explicit law at all: the identities prove the count
    assert cert["laws"] == [] and "log_laws" not in cert
    report = check_certificate(json.loads(json.dumps(cert)))
    assert report["frobenius"] and report["proved"]["lower_bound"] == report["proved"]["upper_bound"] == len(exprs)
    assert [s["step"] for s in report["steps"]][-2:] == ["frobenius", "conclusion"]


def _frobenius_certificate(model, flow="gradient"):
    """A certificate proving ``model``'s count by Frobenius alone (no explicit law), built by the engine."""
    problem = pose(model, flow=flow)
    family = generator_family(problem.model, problem.flow, prime=problem.prime, seed=problem.seed, explicit=True)
    bounds = Bounds(rank=lie_rank(family, problem.point))
    *_, bounds = frobenius_stage(problem, family, bounds, None)
    assert bounds.frobenius is not None, bounds.notes
    return certificate(problem, bounds)


@pytest.mark.parametrize(
    ("polys", "names", "flow"),
    [
        (["a*c", "b*c"], "a b c", "gradient"),  # U V^T with n=2, m=r=1: one law a^2 + b^2 - c^2
        (["a*c + b*d"], "a b c d", "gradient"),  # a dot product: 3 laws
        (["a*c + b*d"], "a b c d", "momentum"),  # 2 laws on the phase space (s, θ, θ')
        (["a*c + b*d"], "a b c d", "nesterov"),
    ],
)
def test_frobenius_agrees_with_the_polynomial_law_certificate(polys, names, flow):
    model = fl.models.from_polynomials(polys, variables=names.split())
    with_laws = fl.analyze(model, flow=flow)
    assert with_laws.complete and not with_laws.frobenius  # all laws polynomial: no Frobenius needed
    cert = _frobenius_certificate(model, flow)
    assert cert["laws"] == [] and cert["bounds"]["lower"] == cert["bounds"]["upper"]
    report = check_certificate(cert)
    assert report["frobenius"] and report["count"] == with_laws.count == report["proved"]["lower_bound"]


@pytest.fixture(scope="module")
def sym13():
    return _frobenius_certificate(fl.models.symmetric_factorization(1, 3))


def _reject(cert, step, fragment):
    with pytest.raises(CertificateError) as err:
        check_certificate(cert)
    assert err.value.step == step and fragment in str(err.value), str(err.value)


def test_a_wrong_coefficient_is_rejected_at_the_frobenius_step(sym13):
    cert = copy.deepcopy(sym13)
    row = cert["frobenius"]["generators"][0]
    row[0] = row[0] + [["1", [[1, 1]]]]  # p_0 + u1
    _reject(cert, "frobenius", "q*Z - sum p_l*Y_l is not 0")


def test_q_zero_is_rejected_before_any_work(sym13):
    cert = copy.deepcopy(sym13)
    cert["frobenius"]["q"] = []
    _reject(cert, "schema", "frobenius.q is the zero polynomial")


def test_a_word_that_does_not_span_the_algebra_is_rejected():
    cert = _frobenius_certificate(fl.models.from_polynomials(["a*c + b*d"], variables=list("abcd")))
    words = cert["rank"]["words"]
    assert len(words) == 1
    cert["rank"]["words"] = [[words[0], words[0]]]  # [Y, Y] = 0: the rank step fails first
    _reject(cert, "rank", "have rank 0")


def test_the_identities_must_cover_every_bracket_and_generator(sym13):
    cert = copy.deepcopy(sym13)
    cert["frobenius"]["generators"] = []
    _reject(cert, "frobenius", "one row per field")
    cert = copy.deepcopy(sym13)
    cert["frobenius"]["brackets"] = [[[]]]  # r = 1 has no pair
    _reject(cert, "schema", "frobenius.brackets")


def test_a_count_claimed_without_the_identities_is_rejected(sym13):
    cert = copy.deepcopy(sym13)
    del cert["frobenius"]
    _reject(cert, "conclusion", "bounds.lower=2 but the certificate proves 0 laws")


def test_the_engine_lists_the_rational_and_logarithmic_laws_themselves():
    cases = [(fl.models.symmetric_factorization(1, 2), ["U[0,0]/U[0,1]"]),
             (fl.models.symmetric_factorization(1, 3), ["U[0,0]/U[0,1]", "U[0,0]/U[0,2]"]),
             (fl.models.from_polynomials(["x0 + x1^2"], variables=["x0", "x1"]), ["log(x1) - 2*x0"])]
    for model, expected in cases:
        res = fl.analyze(model)
        assert res.complete and not res.frobenius and [str(h) for h in res.nonpolynomial_laws] == expected
        phi = [sp.sympify(f) for f in model.phi]
        xs = [sp.Symbol(v) for v in model.variables]
        for h in res.nonpolynomial_laws:  # each conserved, by SymPy
            e = h.to_sympy()
            assert all(sp.simplify(sum(sp.diff(e, x) * sp.diff(f, x) for x in xs)) == 0 for f in phi)
        report = check_certificate(json.loads(json.dumps(res.certificate)))
        assert report["laws"] == len(expected) and report["proved"]["exact"] and not report["frobenius"]


def test_a_tampered_log_law_is_rejected():
    cert = fl.analyze(fl.models.from_polynomials(["x0 + x1^2"], variables=["x0", "x1"])).certificate
    bad = copy.deepcopy(cert)
    bad["log_laws"][0]["polynomial"] = [["-3", [[0, 1]]]]  # log(x1) - 3*x0
    _reject(bad, "laws", "log_laws[0]")
    bad = copy.deepcopy(cert)
    bad["log_laws"][0]["logs"] = [["1", [["5", []]]]]  # log of a constant
    _reject(bad, "schema", "log of a constant")
    bad = copy.deepcopy(cert)
    bad["independence"]["point"][1] = 0  # x1 = 0: log(x1) undefined at the point
    _reject(bad, "independence", "vanishes at independence.point")


def test_frobenius_needs_one_word_per_rank(sym13):
    cert = copy.deepcopy(sym13)
    cert["rank"]["words"] = cert["rank"]["words"] * 2
    _reject(cert, "schema", "rank.value = len(rank.words)")


def test_a_small_network_is_proved_on_its_explicit_fields():
    # linear 1-3-2-1 under gradient flow: 9 polynomial laws and one more that the search up to degree 4
    # does not find; the rank is redone on the explicit fields and the Frobenius identities close the gap
    res = fl.analyze(fl.models.parse("linear:1x3x2x1"))
    assert res.complete and res.frobenius and (len(res.laws), res.count) == (9, 10)
    cert = res.certificate
    assert cert["model"]["kind"] == "polynomials" and cert["generators"] == {"kind": "coordinates"}
    report = check_certificate(json.loads(json.dumps(cert)))
    assert report["frobenius"] and report["proved"]["lower_bound"] == 10 and report["laws"] == 9


def test_frobenius_closes_a_corpus_case_the_law_search_left_open():
    # from benchmarks/frobenius_corpus.py (case 909): a sampled candidate failed the exact check, the search
    # found 1 of 2 laws, and the count was left as bounds [1, 2]; the Frobenius identities prove 2
    m = fl.models.from_polynomials(["3*x1 + 2*x0*x2 + 3*x0*x1"], variables=["x0", "x1", "x2"])
    res = fl.analyze(m)
    assert res.complete and res.frobenius and (len(res.laws), res.count) == (1, 2)
    assert check_certificate(res.certificate)["proved"]["exact"]
