"""Readable laws (``flowlaws._display``): structures recognised exactly, never claimed otherwise.

The round trip rebuilds each law from its *printed* form with an evaluator written
here (SymPy matrices named after the model's parameters), independent of the
module's own templates, and compares the polynomials exactly.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from functools import lru_cache

import pytest
import sympy

import flowlaws as fl
from flowlaws import _display as D
from flowlaws.laws import Law


@lru_cache(maxsize=None)
def analysed(spec: str, flow: str = "gradient", tau=None):
    return fl.analyze(fl.models.parse(spec), flow=flow, tau=tau)


# -- an independent evaluator of the printed forms -----------------------------------
_NAME = re.compile(r"^(?P<base>[A-Za-z]\w*)\[(?P<i>\d+)(?:,(?P<j>\d+))?\](?P<prime>'?)$")


def _matrices(variables):
    """SymPy matrices / vectors named after the parameters: ``W1``, ``W1'``, ``b1``, ``V``, …"""
    entries: dict[str, dict] = {}
    for name in variables:
        m = _NAME.match(name)
        if not m:
            continue
        base = m["base"] + m["prime"]
        key = (int(m["i"]),) if m["j"] is None else (int(m["i"]), int(m["j"]))
        entries.setdefault(base, {})[key] = sympy.Symbol(name)
    mats = {}
    for base, ent in entries.items():
        if len(next(iter(ent))) == 1:
            mats[base] = sympy.Matrix([ent[(i,)] for i in range(len(ent))])
        else:
            rows = 1 + max(i for i, _ in ent)
            cols = 1 + max(j for _, j in ent)
            mats[base] = sympy.Matrix(rows, cols, lambda i, j: ent[(i, j)])
    return mats


def _matrix_expr(inner: str, mats) -> sympy.Matrix:
    total = None
    for sign, term in re.findall(r"(^|[+−])\s*([^+−]+)", inner):
        prod = None
        for factor in term.split():
            name, transposed = (factor[:-1], True) if factor.endswith("ᵀ") else (factor, False)
            mat = mats[name].T if transposed else mats[name]
            prod = mat if prod is None else prod * mat
        prod = -prod if sign == "−" else prod
        total = prod if total is None else total + prod
    return total


def evaluate(text: str, variables) -> sympy.Expr:
    mats = _matrices(variables)
    factor, body, t = sympy.Integer(1), text, sympy.Symbol("t")
    while m := re.match(r"exp\((?:(\d+(?:/\d+)?)·)?t\)·|t(?:\^(\d+))?·|(\d+(?:/\d+)?)·", body):
        if m[0].startswith("exp"):
            factor *= sympy.exp(sympy.Rational(m[1] or 1) * t)
        elif m[0].startswith("t"):
            factor *= t ** int(m[2] or 1)
        else:
            factor *= sympy.Rational(m[3])
        body = body[m.end():]
    m = re.fullmatch(r"\((.*)\)\[(\d+),(\d+)\]", body)
    if m:
        return factor * _matrix_expr(m[1], mats)[int(m[2]), int(m[3])]
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    expr = sympy.Integer(0)
    for sign, term in re.findall(r"(^|[+−])\s*([^+−]+)", body):
        term = term.strip()
        if mm := re.fullmatch(r"‖(\S+?)\[(\d+),:\]‖²", term):
            val = sum(x**2 for x in mats[mm[1]].row(int(mm[2])))
        elif mm := re.fullmatch(r"‖(\S+?)\[:,(\d+)\]‖²", term):
            val = sum(x**2 for x in mats[mm[1]].col(int(mm[2])))
        elif mm := re.fullmatch(r"Σ(\S+?)\[(\d+),:\]", term):
            val = sum(mats[mm[1]].row(int(mm[2])))
        elif mm := re.fullmatch(r"Σ(\S+?)\[:,(\d+)\]", term):
            val = sum(mats[mm[1]].col(int(mm[2])))
        elif mm := re.fullmatch(r"(\S+?)\[(\d+)\]²", term):
            val = mats[mm[1]][int(mm[2])] ** 2
        else:
            raise AssertionError(f"cannot evaluate {term!r} of {text!r}")
        expr += -val if sign == "−" else val
    return factor * expr


def assert_round_trip(law: Law, model) -> str:
    text = D.law_text(law, model)
    rebuilt = evaluate(text, law.variables)
    assert sympy.expand(rebuilt - law.to_sympy()) == 0, (text, str(law))
    form = D.law_form(law, model)
    assert form is not None
    assert D.expand_form(form, model, law.variables) == {m: Fraction(c) for c, m in law.terms}
    return text


# -- recognition ------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["relu:3x4x3", "relu+bias:2x3x2", "leaky:2x3x2x1"])
def test_per_neuron_laws_of_relu_nets(spec):
    res = analysed(spec)
    groups = D.group_laws(res)
    assert all(g["kind"] == "neuron" for g in groups) and sum(len(g["laws"]) for g in groups) == res.count
    for g in groups:
        assert g["neurons"] == list(range(res.model.layers[g["layer"]]))
    for law in res.laws:
        assert_round_trip(law, res.model)
    bias = "+bias" in spec
    assert D.law_text(res.laws[1], res.model) == (
        "‖W1[1,:]‖² + b1[1]² − ‖W2[:,1]‖²" if bias else "‖W1[1,:]‖² − ‖W2[:,1]‖²"
    )
    assert D.law_text(res.laws[1], res.model, latex=True).startswith(r"\lVert W_{1}[1,:]\rVert^2")


@pytest.mark.parametrize("spec", ["linear:2x3x2", "linear+bias:2x3x2", "linear:2x3x2x2", "factorization:2x2x3"])
def test_layer_matrix_laws_of_linear_nets_and_factorizations(spec):
    res = analysed(spec)
    groups = D.group_laws(res)
    assert [g["kind"] for g in groups] == ["layer-matrix"] * len(groups)
    for g in groups:
        n = res.model.layers[g["layer"]]
        assert sorted(g["entries"]) == [(i, j) for i in range(n) for j in range(i, n)]
    texts = [assert_round_trip(law, res.model) for law in res.laws]
    expected = {
        "linear:2x3x2": "(W1 W1ᵀ − W2ᵀ W2)[0,1]",
        "linear+bias:2x3x2": "(W1 W1ᵀ + b1 b1ᵀ − W2ᵀ W2)[0,1]",
        "linear:2x3x2x2": "(W1 W1ᵀ − W2ᵀ W2)[0,1]",
        "factorization:2x2x3": "(Vᵀ V − Uᵀ U)[0,1]",
    }[spec]
    assert expected in texts


def test_mirror_and_momentum_forms():
    res = analysed("nmf:2x2x2")
    assert [g["kind"] for g in D.group_laws(res)] == ["neuron-sum"]
    assert [assert_round_trip(law, res.model) for law in res.laws] == ["ΣV[:,0] − ΣU[:,0]", "ΣV[:,1] − ΣU[:,1]"]
    res = analysed("factorization:2x3x2", "momentum", "1/2")
    (g,) = D.group_laws(res)
    assert g["kind"] == "layer-antisymmetric" and g["entries"] == [(0, 1), (0, 2), (1, 2)]
    texts = [assert_round_trip(law, res.model) for law in res.laws]
    assert texts[0] == "exp(1/2·t)·(Vᵀ V' − V'ᵀ V + Uᵀ U' − U'ᵀ U)[0,1]"
    # the negated law is the transposed entry
    law = res.laws[0]
    neg = Law(tuple((-c, m) for c, m in law.terms), law.variables, law.time_rate)
    assert assert_round_trip(neg, res.model).endswith(")[1,0]")
    res = analysed("factorization:2x3x2", "nesterov")  # Nesterov's laws carry t³
    if res.laws:
        assert assert_round_trip(res.laws[0], res.model).startswith("t^3·(Vᵀ V' − V'ᵀ V")


def test_coefficients_and_signs_round_trip():
    res = analysed("relu+bias:2x3x2")
    law = res.laws[2]
    neg = Law(tuple((-c, m) for c, m in law.terms), law.variables)
    assert assert_round_trip(neg, res.model) == "‖W2[:,2]‖² − ‖W1[2,:]‖² − b1[2]²"
    twice = Law(tuple((2 * c, m) for c, m in law.terms), law.variables)
    assert assert_round_trip(twice, res.model) == "2·(‖W1[2,:]‖² + b1[2]² − ‖W2[:,2]‖²)"
    res = analysed("linear:2x3x2")
    entry = next(law for law in res.laws if D.law_form(law, res.model)["index"] == (0, 1))  # any law order
    neg = Law(tuple((-3 * c, m) for c, m in entry.terms), entry.variables)
    assert assert_round_trip(neg, res.model) == "3·(W2ᵀ W2 − W1 W1ᵀ)[0,1]"


def test_near_misses_are_other():
    res = analysed("relu:2x2x2")
    law = res.laws[0]  # W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2 - W2[1,0]^2
    variants = [
        law.terms[:-1],                                            # a term missing
        ((2, law.terms[0][1]),) + law.terms[1:],                   # one coefficient off
        law.terms + res.laws[1].terms,                             # the sum of two neuron laws
        tuple((c, tuple((v, 4) for v, _ in m)) for c, m in law.terms),  # fourth powers
    ]
    for terms in variants:
        odd = Law(tuple(terms), law.variables)
        assert D.law_form(odd, res.model) is None
        assert D.law_text(odd, res.model) == str(odd)
    groups = D.group_laws([Law(tuple(variants[1]), law.variables), law], res.model)
    assert [(g["kind"], g["indices"]) for g in groups] == [("other", [0]), ("neuron", [1])]
    # a neuron law with a term missing is no neuron law, but still an exact sum over slices
    groups = D.group_laws([Law(tuple(variants[0]), law.variables), law], res.model)
    assert [(g["kind"], g["indices"]) for g in groups] == [("slice-norms", [0]), ("neuron", [1])]
    assert groups[0]["text"] == ["‖W1[0,:]‖² − W2[0,0]²"]
    # models outside the layered layout without slice structure: "other", printed as before
    # (attention, residual and conv laws are grouped by flowlaws._display_blocks)
    for spec in ("product:3", "sym:2x1"):
        res = analysed(spec)
        assert all(g["kind"] == "other" for g in D.group_laws(res))
        assert str(res).splitlines()[2:2 + len(res.laws)] == [f"  {law}" for law in res.laws]


# -- printing a result ---------------------------------------------------------------------
def test_str_groups_and_keeps_first_line():
    res = analysed("relu:3x4x3")
    lines = str(res).splitlines()
    assert lines[0] == "relu:3x4x3 under gradient flow: 4 independent conservation law(s), certified exact"
    assert lines[2] == "  per-neuron laws, hidden layer 1 (4): ‖W1[i,:]‖² − ‖W2[:,i]‖²,  i = 0..3"
    assert "full expansions" in lines[-1]
    assert res.expanded().splitlines()[2] == f"  {res.laws[0]}"
    assert str(res.laws[0]) == "W1[0,0]^2 + W1[0,1]^2 + W1[0,2]^2 - W2[0,0]^2 - W2[1,0]^2 - W2[2,0]^2"
    part = dataclasses.replace(res, laws=res.laws[1:3])  # not every neuron: one line per law
    assert str(part).splitlines()[2:5] == [
        "  per-neuron laws, hidden layer 1 (2):", "    ‖W1[1,:]‖² − ‖W2[:,1]‖²", "    ‖W1[2,:]‖² − ‖W2[:,2]‖²",
    ]
    many = dataclasses.replace(res, laws=res.laws[:3])
    assert "… and 1 more" in "\n".join(D.format_groups(many, max_lines=2))


def test_latex_and_html():
    res = analysed("linear:2x3x2")
    tex = res.to_latex()
    assert tex.startswith("% linear:2x3x2 under gradient flow: 6 independent law(s), certified exact")
    assert r"\begin{align*}" in tex and tex.endswith(r"\end{align*}")
    assert r"(W_{1} W_{1}^{\top} - W_{2}^{\top} W_{2})[i,j], \quad 0 \le i \le j \le 2" in tex
    assert res._repr_latex_().startswith(r"\begin{align*}")
    assert r"\begin{align}" in res.to_latex(environment="align")
    other = analysed("product:3").to_latex()
    assert "x_{0}^{2} - x_{2}^{2}" in other and r"\text{other laws (2)}" in other
    momentum = analysed("factorization:2x3x2", "momentum", "1/2").to_latex()
    assert r"e^{\frac{1}{2} t} \cdot (V^{\top} V' - V'^{\top} V + U^{\top} U' - U'^{\top} U)[i,j]" in momentum
    html = res._repr_html_()
    for cell in ("<td>count</td><td>6</td>", "<td>dim</td><td>12</td>", "<td>rank</td><td>6</td>",
                 "<td>certified</td><td>yes</td>"):
        assert cell in html
    assert "layer-matrix laws, hidden layer 1 (6)" in html and "(W1 W1ᵀ − W2ᵀ W2)[i,j]" in html
    partial = dataclasses.replace(res, laws=res.laws[:2], interrupted=True)
    html = partial._repr_html_()
    assert "<td>count</td><td>2..6</td>" in html and "no (bounds only)" in html and "interrupted" in html


def test_to_json_readable_and_groups():
    out = analysed("relu+bias:2x3x2").to_json()
    assert out["readable"][0] == "‖W1[0,:]‖² + b1[0]² − ‖W2[:,0]‖²"
    assert out["groups"] == [{"kind": "neuron", "layer": 1, "laws": [0, 1, 2]}]
    assert out["laws"][0] == str(analysed("relu+bias:2x3x2").laws[0])
