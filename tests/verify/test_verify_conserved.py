"""is_conserved / assert_conserved: exact law checks with counterexamples."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from flowlaws.errors import BudgetExceeded, DomainError, FlowlawsError, InvalidArgument
from flowlaws.laws import Law
from flowlaws.verify import NotConserved, assert_conserved, is_conserved


class NetModel:
    """A stand-in for fl.models.mlp: variables and the certificate's model object."""

    def __init__(self, layers, activation="relu", bias=False):
        self.layers, self.activation, self.bias = list(layers), activation, bias
        names = []
        for l in range(1, len(layers)):
            names += [f"W{l}[{i},{j}]" for i in range(layers[l]) for j in range(layers[l - 1])]
            if bias:
                names += [f"b{l}[{i}]" for i in range(layers[l])]
        self.variables = tuple(names)

    def to_json(self):
        acts = [self.activation] * (len(self.layers) - 2)
        return {"kind": "network", "layers": self.layers, "activations": acts, "bias": self.bias}


class PolyModel:
    """phi given by SymPy expressions in named variables."""

    def __init__(self, phi, variables):
        self.variables = tuple(variables)
        syms = [sp.Symbol(v) for v in variables]
        self._phi = []
        for f in phi:
            poly = sp.Poly(sp.sympify(f, locals=dict(zip(variables, syms))), *syms)
            self._phi.append([[str(c), [[i, e] for i, e in enumerate(m) if e]] for m, c in poly.terms()])

    def to_json(self):
        return {"kind": "polynomials", "phi": self._phi}


RELU = NetModel([2, 2, 1])
RELU_BIAS = NetModel([2, 2, 1], bias=True)
LINEAR = NetModel([2, 2, 2], activation="linear")


def uvt(n, r, m):
    U = [f"U[{i},{k}]" for i in range(n) for k in range(r)]
    V = [f"V[{j},{k}]" for j in range(m) for k in range(r)]
    phi = [" + ".join(f"U_{i}_{k}*V_{j}_{k}" for k in range(r)) for i in range(n) for j in range(m)]
    model = PolyModel(phi, [u.replace("[", "_").replace(",", "_").replace("]", "") for u in U + V])
    return model


# -- true and false ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "model, law",
    [
        (RELU, "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2"),
        (RELU, "W1[1,0]**2 + W1[1,1]**2 - W2[0,1]**2"),
        (RELU, "(W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2)^2 - 3*(W1[1,0]^2 + W1[1,1]^2 - W2[0,1]^2)"),
        (RELU_BIAS, "W1[1,0]^2 + W1[1,1]^2 + b1[1]^2 - W2[0,1]^2"),
        (LINEAR, "W1[0,0]*W1[1,0] + W1[0,1]*W1[1,1] - W2[0,0]*W2[0,1] - W2[1,0]*W2[1,1]"),
        (LINEAR, "1/2*W1[0,0]^2 + 1/2*W1[0,1]^2 - W2[0,0]^2/2 - W2[1,0]^2/2"),
        (RELU, "7"),
        (RELU, 0),
        (uvt(2, 2, 1), "U_0_0*U_0_1 + U_1_0*U_1_1 - V_0_0*V_0_1"),
    ],
)
def test_conserved(model, law):
    assert is_conserved(model, law)
    assert_conserved(model, law)


@pytest.mark.parametrize(
    "model, law",
    [
        (RELU, "W1[0,0]^2 - W2[0,0]^2"),
        (RELU, "W1[0,0]^2 + W1[0,1]^2 - 2*W2[0,0]^2"),
        (RELU_BIAS, "W1[1,0]^2 + W1[1,1]^2 - W2[0,1]^2"),  # forgets the bias
        (LINEAR, "W1[0,0]^2 + W1[1,0]^2 - W2[0,0]^2 - W2[0,1]^2"),  # the transpose: not a law
        (LINEAR, "W1[0,0]"),
    ],
)
def test_not_conserved(model, law):
    assert not is_conserved(model, law)
    with pytest.raises(NotConserved):
        assert_conserved(model, law)


def test_relu_law_is_not_conserved_by_linear_network_only_when_it_differs():
    # for a linear net the ReLU-style diagonal entry is still a law (entry (i, i))
    assert is_conserved(LINEAR, "W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2 - W2[1,0]^2")


def test_counterexample_content():
    law = "W1[0,0]^2 - W2[0,0]^2"
    with pytest.raises(NotConserved) as info:
        assert_conserved(RELU, law)
    err = info.value
    assert isinstance(err, AssertionError) and isinstance(err, FlowlawsError)
    assert err.law == law
    assert err.value != 0
    assert err.field.startswith("grad phi[")
    assert 0 <= err.field_index < 4
    assert set(err.point) <= set(RELU.variables) and err.point
    assert all(type(v) is int and abs(v) <= 100 for v in err.point.values())
    msg = str(err)
    assert law in msg and str(err.value) in msg and "is not identically 0" in msg
    for name, value in err.point.items():
        assert f"{name}: {value}" in msg
    # the stated value is really <grad h, grad phi_k> at the point, whatever the other parameters
    syms = {v: sp.Symbol(v) for v in RELU.variables}
    h = syms["W1[0,0]"] ** 2 - syms["W2[0,0]"] ** 2
    W1, W2 = syms, syms
    phis = [W1[f"W1[{i},{j}]"] * W2[f"W2[0,{i}]"] for j in range(2) for i in range(2)]
    values = []
    rng = random.Random(1)
    for phi in phis:
        for _ in range(3):
            pt = {syms[v]: rng.randint(-9, 9) for v in RELU.variables}
            pt.update({syms[k]: v for k, v in err.point.items()})
            values.append(sum(sp.diff(h, s) * sp.diff(phi, s) for s in syms.values()).subs(pt))
    assert err.value in values


def test_counterexample_for_a_high_degree_failure():
    model = PolyModel(["x*y*z"], ["x", "y", "z"])
    with pytest.raises(NotConserved) as info:
        assert_conserved(model, "x^3*y - z^4 + x*y*z")
    err = info.value
    x, y, z = sp.symbols("x y z")
    h = x**3 * y - z**4 + x * y * z
    phi = x * y * z
    r = sum(sp.diff(h, s) * sp.diff(phi, s) for s in (x, y, z))
    pt = {sp.Symbol(k): v for k, v in err.point.items()}
    assert r.free_symbols <= set(pt)
    assert r.subs(pt) == err.value != 0


# -- law inputs ---------------------------------------------------------------------------------
def test_sympy_expression_input():
    w = {v: sp.Symbol(v) for v in RELU.variables}
    law = w["W1[0,0]"] ** 2 + w["W1[0,1]"] ** 2 - w["W2[0,0]"] ** 2
    assert is_conserved(RELU, law)
    assert is_conserved(RELU, sp.Rational(1, 3) * law)
    assert not is_conserved(RELU, law + w["W2[0,1]"])
    # symbols with assumptions are matched by name
    pos = sp.Symbol("W2[0,0]", positive=True)
    assert is_conserved(RELU, w["W1[0,0]"] ** 2 + w["W1[0,1]"] ** 2 - pos**2)


def test_law_object_input():
    names = RELU.variables
    i = {v: k for k, v in enumerate(names)}
    law = Law(((1, ((i["W1[0,0]"], 2),)), (1, ((i["W1[0,1]"], 2),)), (-1, ((i["W2[0,0]"], 2),))), names)
    assert is_conserved(RELU, law)
    bad = Law(((1, ((i["W1[0,0]"], 2),)), (-1, ((i["W2[0,0]"], 2),))), names)
    with pytest.raises(NotConserved, match=r"law W1\[0,0\]\^2 - W2\[0,0\]\^2 is not conserved"):
        assert_conserved(RELU, bad)
    # a Law over a subset of the variables, in another order, is matched by name
    sub = Law(((-1, ((0, 2),)), (1, ((1, 2),)), (1, ((2, 2),))), ("W2[0,0]", "W1[0,0]", "W1[0,1]"))
    assert is_conserved(RELU, sub)
    frac = Law(((Fraction(1, 2), ((0, 2),)), (Fraction(-1, 2), ((1, 2),))), ("u", "v"))
    assert is_conserved(PolyModel(["u*v"], ["u", "v"]), frac)


def test_certificate_poly_list_input():
    assert is_conserved(PolyModel(["u*v"], ["u", "v"]), [["1", [[0, 2]]], ["-1", [[1, 2]]]])
    with pytest.raises(InvalidArgument, match="certificate POLY"):
        is_conserved(PolyModel(["u*v"], ["u", "v"]), [["1", [[5, 2]]]])


def test_names_that_are_prefixes_of_others():
    model = PolyModel(["x1*x10", "x10*x2"], ["x1", "x2", "x10"])
    # x10 must not be read as x1 followed by 0
    assert is_conserved(model, "x1^2 + x2^2 - x10^2") is True
    assert is_conserved(model, "x1^2 - x10^2 + x2^2") is True
    assert is_conserved(model, "x1^2 - x10^2") is False
    m2 = PolyModel(["x1*x10"], ["x1", "x10"])
    assert is_conserved(m2, "x1^2 - x10^2")
    assert is_conserved(m2, "x10^2 - x1^2")
    assert not is_conserved(m2, "x10^2")


# -- errors ------------------------------------------------------------------------------------------
def test_unknown_name_lists_valid_names():
    with pytest.raises(InvalidArgument, match=r"unknown name\(s\) \['W3\[0,0\]'\]") as info:
        is_conserved(RELU, "W1[0,0]^2 - W3[0,0]^2")
    assert "W1[0,0]" in str(info.value) or "W2[0,0]" in str(info.value)
    with pytest.raises(InvalidArgument, match="unknown name"):
        is_conserved(RELU, "W1[0,0]^2 - t")
    with pytest.raises(InvalidArgument, match="unknown name"):
        is_conserved(RELU, sp.Symbol("q") ** 2)
    with pytest.raises(InvalidArgument, match="unknown name"):
        is_conserved(RELU, "__import__")


@pytest.mark.parametrize("law", ["0.5*W1[0,0]^2", "W1[0,0]^2 - 1.", "1e3*W2[0,0]", ".5"])
def test_float_in_string_is_a_domain_error(law):
    with pytest.raises(DomainError, match="1/3"):
        is_conserved(RELU, law)


def test_float_elsewhere_is_a_domain_error():
    with pytest.raises(DomainError):
        is_conserved(RELU, 0.5)
    with pytest.raises(DomainError, match="Rational"):
        is_conserved(RELU, sp.Float(0.5) * sp.Symbol("W1[0,0]") ** 2)
    with pytest.raises(DomainError, match="float"):
        is_conserved(RELU, Law(((0.5, ((0, 2),)),), RELU.variables))


@pytest.mark.parametrize(
    "law, fragment",
    [
        ("", "empty"),
        ("W1[0,0] +", "does not parse"),
        ("W1[0,0] == 1", "unexpected character"),
        ("W1[0,0]; 1", "unexpected character"),
        (True, "bool"),
        (object(), "expected a flowlaws Law"),
    ],
)
def test_bad_law_inputs(law, fragment):
    with pytest.raises(InvalidArgument, match=fragment):
        is_conserved(RELU, law)


def test_non_polynomial_laws():
    w = sp.Symbol("W1[0,0]")
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(RELU, sp.sin(w))
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(RELU, "1/W1[0,0]")
    with pytest.raises(InvalidArgument, match="rational"):
        is_conserved(RELU, sp.sqrt(2) * w)
    with pytest.raises(InvalidArgument, match="rational"):
        is_conserved(RELU, sp.pi * w + 1)
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(RELU, w ** sp.Rational(1, 2))
    with pytest.raises(BudgetExceeded, match="exponent 100000000 .* exceeds max_degree=10000"):
        is_conserved(RELU, "W1[0,0]^100000000")
    with pytest.raises(InvalidArgument, match="not a polynomial"):
        is_conserved(RELU, sp.exp(w))
    with pytest.raises(InvalidArgument, match="time dependent"):
        is_conserved(RELU, Law(((1, ((0, 2),)),), RELU.variables, time_rate=1))



def test_bad_flow_and_tau():
    with pytest.raises(InvalidArgument, match="expected one of"):
        is_conserved(RELU, "W1[0,0]", flow="adam")
    with pytest.raises(InvalidArgument, match="tau"):
        is_conserved(RELU, "W1[0,0]", tau=2)


def test_bad_models():
    with pytest.raises(InvalidArgument, match="variables"):
        is_conserved(object(), "x")

    class Broken(NetModel):
        def to_json(self):
            return {"kind": "network", "layers": [2, 2, 1], "activations": ["tanh"], "bias": False}

    with pytest.raises(InvalidArgument, match="not a valid certificate model"):
        is_conserved(Broken([2, 2, 1]), "W1[0,0]")

    wrong = NetModel([2, 2, 1])
    wrong.variables = ("a", "b")
    with pytest.raises(InvalidArgument, match="dim=2"):
        is_conserved(wrong, "a")

    m = PolyModel(["u"], ["u"])
    m.variables = ("u", "u")
    with pytest.raises(InvalidArgument, match="repeated"):
        is_conserved(m, "u")


def test_networks_too_large_to_expand(monkeypatch):
    from flowlaws.verify import _conserved_space
    from flowlaws.verify.checker import _certificate

    monkeypatch.setitem(_certificate.LIMITS, "paths", 10)
    _conserved_space._gradient_space.cache_clear()  # an earlier test may have cached this model
    with pytest.raises(BudgetExceeded, match="27 paths"):
        is_conserved(NetModel([3, 3, 3], bias=False), "W1[0,0]")


_small_polys = st.lists(
    st.tuples(st.integers(-3, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=4
).map(lambda ts: sum((c * sp.Symbol("a") ** i * sp.Symbol("b") ** j * sp.Symbol("c") ** k for c, i, j, k in ts),
                     sp.Integer(0)))


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(_small_polys, min_size=1, max_size=2), _small_polys, st.booleans())
def test_agrees_with_sympy_and_counterexamples_are_right(phi, h, use_product_law):
    a, b, c = sp.symbols("a b c")
    if use_product_law:  # phi = a*b*c has the laws a^2 - b^2, b^2 - c^2
        phi, h = [a * b * c], (a**2 - b**2) * 3 - (b**2 - c**2) + h * 0
    phi = [f for f in phi if f.free_symbols] or [a]
    model = PolyModel([str(f) for f in phi], ["a", "b", "c"])
    residuals = [sp.expand(sum(sp.diff(h, s) * sp.diff(f, s) for s in (a, b, c))) for f in phi]
    expected = all(r == 0 for r in residuals)
    assert is_conserved(model, h) == expected
    assert is_conserved(model, str(h).replace("**", "^")) == expected
    if not expected:
        with pytest.raises(NotConserved) as info:
            assert_conserved(model, h)
        err = info.value
        r = residuals[err.field_index]
        pt = {sp.Symbol(k): v for k, v in err.point.items()}
        assert r.free_symbols <= set(pt)
        assert r.subs(pt) == err.value != 0
