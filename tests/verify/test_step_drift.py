"""One discrete step changes a law by an exactly computable amount (issue 19).

Cross-checks: the exact Taylor split against SymPy's h(θ − ηg) − h(θ); the first-order
term vanishing for loss gradients (and not for other directions); float64 against exact.
"""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import flowlaws as fl
from flowlaws.errors import DomainError, InvalidArgument
from flowlaws.verify import step_drift


def _loss_gradient(model, theta, rng):
    """The exact gradient of L = Σ_k c_k (φ_k − y_k)² / 2 at θ (random rational c, y), by SymPy."""
    syms = [sp.Symbol(v) for v in model.variables]
    phi = model.phi
    loss = sum(sp.Rational(rng.randint(1, 5), rng.randint(1, 3)) * (f - rng.randint(-3, 3)) ** 2 / 2 for f in phi)
    subs = dict(zip(syms, theta))
    return [sp.Rational(sp.diff(loss, x).subs(subs)) for x in syms], syms


@pytest.mark.parametrize("spec", ["relu:2x3x1", "linear:2x2x2", "factorization:2x2x1"])
def test_a_gd_step_moves_a_law_by_exactly_its_second_and_higher_order_terms(spec):
    rng = random.Random(spec)
    model = fl.models.parse(spec)
    res = fl.analyze(model)
    theta = [sp.Rational(rng.randint(-4, 4), rng.randint(1, 3)) for _ in model.variables]
    g, syms = _loss_gradient(model, theta, rng)
    eta = Fraction(1, 7)
    for law in res.laws:
        h = law.to_sympy()
        s = step_drift(law, [Fraction(int(x.p), int(x.q)) for x in theta], [Fraction(int(x.p), int(x.q)) for x in g], eta,
                       variables=model.variables)
        after = h.subs({x: t - sp.Rational(1, 7) * gi for x, t, gi in zip(syms, theta, g)})
        before = h.subs(dict(zip(syms, theta)))
        assert s.exact == Fraction(str(sp.nsimplify(after - before)))  # the exact difference, by SymPy
        assert s.first_order == 0  # ⟨∇h, ∇L⟩ = 0 for every loss: the law is conserved by the flow
        assert s.exact == s.second_order + s.higher and len(s.terms) == law.degree


def test_a_quartic_law_has_higher_order_terms_and_a_non_gradient_direction_a_first_order_one():
    model = fl.models.factorization(1, 1, 1)  # φ = u v; h = (u² − v²)² is a (dependent) law of degree 4
    names = model.variables
    law = f"({names[0]}^2 - {names[1]}^2)^2"
    s = step_drift(law, [2, 1], [1, 2], Fraction(1, 3), variables=names)  # g = ∇(uv) at (2, 1)
    u, v, t = sp.symbols("u v t")
    h = (u**2 - v**2) ** 2
    exact = h.subs({u: 2 - t, v: 1 - 2 * t}) - h.subs({u: 2, v: 1})
    assert s.exact == Fraction(str(exact.subs(t, sp.Rational(1, 3))))
    assert s.first_order == 0 and s.higher != 0 and len(s.terms) == 4
    other = step_drift(law, [2, 1], [1, 0], Fraction(1, 3), variables=names)  # not a gradient of a loss of uv
    assert other.first_order != 0


def test_floats_and_arrays_give_float64_close_to_the_exact_value():
    model = fl.models.parse("relu:2x3x1")
    law = fl.analyze(model).laws[0]
    rng = np.random.default_rng(0)
    theta, grad = rng.standard_normal(model.dim), rng.standard_normal(model.dim)
    f = step_drift(law, theta, grad, 0.01)
    e = step_drift(law, [Fraction(x) for x in theta], [Fraction(x) for x in grad], Fraction(0.01))
    assert isinstance(f.exact, float) and isinstance(e.exact, Fraction)
    assert f.exact == pytest.approx(float(e.exact), rel=1e-12, abs=1e-15)


def test_bad_inputs_are_one_line_errors():
    names = ("a", "b")
    with pytest.raises(InvalidArgument, match="variables=None"):
        step_drift("a^2 - b^2", [1, 2], [1, 1], 1)
    with pytest.raises(InvalidArgument, match="expected 2 values"):
        step_drift("a^2 - b^2", [1, 2, 3], [1, 1], 1, variables=names)
    with pytest.raises(InvalidArgument, match="no value for"):
        step_drift("a^2 - b^2", {"a": 1}, [1, 1], 1, variables=names)
    with pytest.raises(InvalidArgument, match="unknown name"):
        step_drift("a^2 - b^2", {"a": 1, "b": 2, "c": 3}, [1, 1], 1, variables=names)
    with pytest.raises(DomainError, match="not finite"):
        step_drift("a^2 - b^2", [1.0, float("nan")], [1, 1], 0.1, variables=names)
    with pytest.raises(InvalidArgument, match="bool"):
        step_drift("a^2 - b^2", [1, 2], [1, 1], True, variables=names)


def test_the_documented_call_form_point_keyword_gives_the_same_drift():
    """DESIGN's ``step_drift(law, grad, lr, point=θ)`` and ``step_drift(law, θ, grad, lr)`` agree exactly."""
    names = ("a", "b")
    law = "a^2 - b^2"
    documented = step_drift(law, [1, 2], Fraction(1, 3), point=[2, 1], variables=names)
    positional = step_drift(law, [2, 1], [1, 2], Fraction(1, 3), variables=names)
    keywords = step_drift(law, grad=[1, 2], lr=Fraction(1, 3), point=[2, 1], variables=names)
    assert documented == positional == keywords
    assert documented.exact == Fraction(-1, 3)  # (1/9)(1 - 4): the first order is 0 for g = ∇(ab)


def test_bad_call_forms_name_the_documented_form():
    names = ("a", "b")
    with pytest.raises(InvalidArgument, match="point=theta"):
        step_drift("a^2 - b^2", [1, 2], 1, [3, 4], point=[2, 1], variables=names)
    with pytest.raises(InvalidArgument, match="given twice"):
        step_drift("a^2 - b^2", [1, 2], 1, point=[2, 1], grad=[1, 2], variables=names)
    with pytest.raises(InvalidArgument, match="before the step"):
        step_drift("a^2 - b^2", grad=[1, 2], lr=1, variables=names)
