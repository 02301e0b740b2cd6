"""The step identity on real training steps, exactly (issue 19).

For linear, ReLU and attention models and the laws ``fl.analyze`` returns for them, one GD
step (full batch) or SGD step (a random minibatch) with the gradient of a squared loss
computed exactly (SymPy, rationals): the predicted change (the Taylor terms of
:func:`step_drift`) equals the observed change ``h(θ⁺) − h(θ)``, evaluated directly from the
law's terms, exactly; the gradient's first-order part is exactly 0. With weight decay the
first-order term is ``−2ηλ h(θ)`` for these homogeneous quadratic laws; with heavy ball it is
the momentum's ``β⟨∇h, θ − θ_prev⟩``, not zero.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp

import flowlaws as fl
from flowlaws.verify import step_drift


def _rat(rng: random.Random) -> sp.Rational:
    return sp.Rational(rng.randint(-5, 5), rng.randint(1, 4))


def _law_value(law, theta: dict[str, Fraction]) -> Fraction:
    """``h(θ)`` straight from the law's terms (not through step_drift's expansion)."""
    out = Fraction(0)
    for coef, mono in law.terms:
        term = Fraction(coef)
        for var, e in mono:
            term *= theta[law.variables[var]] ** e
        out += term
    return out


def _mlp_output(model, syms, x, widths, activation, masks):
    """The network's output on one sample, the ReLU masks fixed (a polynomial in the weights)."""
    a = [sp.Integer(v) for v in x]
    has_bias = any(v.startswith("b") for v in model.variables)
    for layer in range(1, len(widths)):
        z = []
        for i in range(widths[layer]):
            zi = sum(syms[f"W{layer}[{i},{j}]"] * a[j] for j in range(widths[layer - 1]))
            z.append(zi + (syms[f"b{layer}[{i}]"] if has_bias else 0))
        if layer < len(widths) - 1 and activation == "relu":
            z = [zi * m for zi, m in zip(z, masks[layer])]
        a = z
    return a


def _relu_masks(model, point, x, widths):
    """The activation pattern at ``point`` on sample ``x`` (None when a pre-activation is 0)."""
    syms = {v: point[v] for v in model.variables}
    a = [sp.Integer(v) for v in x]
    has_bias = any(v.startswith("b") for v in model.variables)
    masks = {}
    for layer in range(1, len(widths) - 1):
        z = [sum(syms[f"W{layer}[{i},{j}]"] * a[j] for j in range(widths[layer - 1]))
             + (syms[f"b{layer}[{i}]"] if has_bias else 0) for i in range(widths[layer])]
        if any(zi == 0 for zi in z):
            return None
        masks[layer] = [1 if zi > 0 else 0 for zi in z]
        a = [zi * m for zi, m in zip(z, masks[layer])]
    return masks


def _attention_output(syms, X, d, k):
    """Linear attention ``(X Q Kᵀ Xᵀ) X V Oᵀ`` of a sequence ``X`` (n × d): a polynomial of φ = (QKᵀ, VOᵀ)."""
    M = lambda name: sp.Matrix(d, k, lambda i, j: syms[f"{name}[{i},{j}]"])  # noqa: E731
    Xm = sp.Matrix(X)
    out = (Xm * M("Q") * M("K").T * Xm.T) * Xm * M("V") * M("O").T
    return list(out)


def _problem(spec: str, seed: int):
    """Model, laws, an exact point, a data set and a function sample -> output (polynomial)."""
    rng = random.Random(seed)
    if spec.startswith("attention"):
        d, k = 2, 1
        model = fl.models.attention(d, k)
        data = [([[rng.randint(-2, 2) for _ in range(d)] for _ in range(2)],
                 [rng.randint(-2, 2) for _ in range(2 * d)]) for _ in range(6)]
        point = {v: _rat(rng) for v in model.variables}
        syms = {v: sp.Symbol(v) for v in model.variables}
        outputs = [(_attention_output(syms, X, d, k), y) for X, y in data]
    else:
        activation, widths = spec.split(":")[0], [int(w) for w in spec.split(":")[1].split("x")]
        model = fl.models.mlp(widths, activation=activation, bias=activation == "relu")
        syms = {v: sp.Symbol(v) for v in model.variables}
        data = [([rng.randint(-3, 3) for _ in range(widths[0])], [rng.randint(-2, 2) for _ in range(widths[-1])])
                for _ in range(6)]
        while True:  # a point where no pre-activation is 0: the net is a polynomial nearby
            point = {v: _rat(rng) for v in model.variables}
            masks = [_relu_masks(model, point, x, widths) if activation == "relu" else {} for x, _ in data]
            if all(m is not None for m in masks):
                break
        outputs = [(_mlp_output(model, syms, x, widths, activation, m), y) for (x, y), m in zip(data, masks)]
    return model, fl.analyze(model).laws, point, syms, outputs


def _gradient(model, syms, point, outputs, batch):
    """The exact gradient of ``Σ_{s in batch} ‖out_s − y_s‖² / 2`` at ``point``."""
    loss = sum(sum((o - yi) ** 2 for o, yi in zip(outputs[s][0], outputs[s][1])) / 2 for s in batch)
    at = {syms[v]: point[v] for v in model.variables}
    return {v: Fraction(str(sp.diff(loss, syms[v]).subs(at))) for v in model.variables}


SPECS = ["linear:2x3x2", "relu:2x3x2", "attention:2x1"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("batch", ["full", "minibatch"])
def test_predicted_equals_observed_exactly_for_gd_and_sgd_steps(spec, batch):
    model, laws, point, syms, outputs = _problem(spec, seed=hash((spec, batch)) % 1000)
    assert laws, spec
    rng = random.Random(spec + batch)
    rows = list(range(len(outputs))) if batch == "full" else rng.sample(range(len(outputs)), 2)
    theta = {v: Fraction(str(point[v])) for v in model.variables}
    g = _gradient(model, syms, point, outputs, rows)
    assert any(g.values())
    eta = Fraction(1, 9)
    after = {v: theta[v] - eta * g[v] for v in model.variables}
    for law in laws:
        s = step_drift(law, theta, g, eta)
        observed = _law_value(law, after) - _law_value(law, theta)
        assert s.exact == observed  # predicted = observed, exactly
        assert s.parts == {"gradient": 0} and s.first_order == 0  # ⟨∇h, ∇L_batch⟩ = 0 for any minibatch
        assert s.exact == s.second_order + s.higher
        assert law.degree == 2 and s.second_order == eta**2 * _law_value(law, g)  # (η²/2) gᵀ∇²h g = η² h(g)


@pytest.mark.parametrize("spec", SPECS)
def test_weight_decay_adds_the_first_order_term_minus_two_eta_lambda_h(spec):
    model, laws, point, syms, outputs = _problem(spec, seed=7)
    theta = {v: Fraction(str(point[v])) for v in model.variables}
    g = _gradient(model, syms, point, outputs, [0, 1, 2])
    eta, lam = Fraction(1, 10), Fraction(1, 3)
    after = {v: theta[v] - eta * (g[v] + lam * theta[v]) for v in model.variables}
    for law in laws:
        s = step_drift(law, theta, g, eta, weight_decay=lam)
        assert s.exact == _law_value(law, after) - _law_value(law, theta)
        assert s.parts["gradient"] == 0
        assert s.parts["weight_decay"] == s.first_order == -2 * eta * lam * _law_value(law, theta)  # Euler, degree 2
        same = step_drift(law, theta, update={v: after[v] - theta[v] for v in model.variables})
        assert same.terms == s.terms and same.parts == {}


@pytest.mark.parametrize("spec", SPECS)
def test_heavy_ball_step_is_exact_and_its_first_order_term_is_the_momentums(spec):
    model, laws, point, syms, outputs = _problem(spec, seed=11)
    rng = random.Random(spec)
    theta = {v: Fraction(str(point[v])) for v in model.variables}
    previous = {v: theta[v] + Fraction(rng.randint(-3, 3), 20) for v in model.variables}
    g = _gradient(model, syms, point, outputs, [1, 3])
    eta, beta = Fraction(1, 8), Fraction(9, 10)
    after = {v: theta[v] - eta * g[v] + beta * (theta[v] - previous[v]) for v in model.variables}
    moved = False
    for law in laws:
        s = step_drift(law, theta, g, eta, momentum=beta, previous=previous)
        assert s.exact == _law_value(law, after) - _law_value(law, theta)
        assert s.parts["gradient"] == 0 and s.first_order == s.parts["momentum"]
        push = {v: theta[v] - previous[v] for v in model.variables}
        grad_h = step_drift(law, theta, update=push)  # ⟨∇h, θ − θ_prev⟩ is the first order along push
        assert s.parts["momentum"] == beta * grad_h.first_order
        moved |= s.first_order != 0
    assert moved  # momentum moves the laws at first order


def test_update_and_gradient_forms_are_refused_together():
    with pytest.raises(fl.errors.InvalidArgument, match="drop grad"):
        step_drift("a^2", [1], [1], 1, update=[1], variables=("a",))
    with pytest.raises(fl.errors.InvalidArgument, match="give grad= and lr="):
        step_drift("a^2", [1], variables=("a",))
    with pytest.raises(fl.errors.InvalidArgument, match="previous"):
        step_drift("a^2", [1], [1], 1, momentum="1/2", variables=("a",))
