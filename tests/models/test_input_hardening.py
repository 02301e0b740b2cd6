"""Issue 15: every bad input to the builders, parsers and ``load`` is a one-line FlowlawsError.

Each case used to end in a traceback (TypeError, SympifyError, RecursionError,
MemoryError) or a hang; each must now fail fast, naming the limit or the bad value.
"""

from __future__ import annotations

import json
import time

import pytest

import flowlaws as fl
from flowlaws._parse import MAX_DEPTH, is_variable_name, parse_polynomial
from flowlaws.errors import BudgetExceeded, FlowlawsError, InvalidArgument
from flowlaws.models import from_polynomials, mlp
from flowlaws.models._spec import parse
from flowlaws.verify.checker._jsonlimits import json_too_deep


def one_line_error(fn, kind=FlowlawsError, seconds=2.0):
    t0 = time.perf_counter()
    with pytest.raises(kind) as info:
        fn()
    assert time.perf_counter() - t0 < seconds
    msg = str(info.value)
    assert "\n" not in msg and 0 < len(msg) < 600
    return msg


@pytest.mark.parametrize("bad", [None, ["x"], b"x", object()])
@pytest.mark.parametrize("variables", [None, ["x"]])
def test_from_polynomials_refuses_coordinates_of_other_types(bad, variables):
    msg = one_line_error(lambda: from_polynomials([bad], variables=variables), InvalidArgument)
    assert f"(type={type(bad).__name__})" in msg and "polynomials[0]" in msg


def test_from_polynomials_still_takes_int_and_dict_coordinates():
    m = from_polynomials(["x*y", 3, {(1, 1): 2}], variables=["x", "y"])
    assert len(m.phi) == 2   # the constant coordinate carries no flow information


@pytest.mark.parametrize("text, key", [
    ("(" * 5000 + "x" + ")" * 5000, "max_depth"),
    ("-" * 100000 + "x", "max_length"),
    ("-" * 90000 + "x", "max_depth"),
    ("x^1000000000", "max_degree"),
    ("x^" + "9" * 5000, "max_degree"),
    ("(x*y)^6000", "max_degree"),
    ("(x+y+z+w)^100", "max_terms"),
    ("(x+y+z+w)^40 * (x+y+z+w)^40", "max_terms"),
])
def test_polynomial_strings_beyond_a_limit(text, key):
    names = ["x", "y", "z", "w"]
    msg = one_line_error(lambda: from_polynomials([text], variables=names), BudgetExceeded)
    assert f"{key}=" in msg and f"from_polynomials(..., {key}=...)" in msg


def test_limits_can_be_raised_with_the_named_keyword():
    from_polynomials(["x^20000"], variables=["x"], max_degree=20000)
    p = parse_polynomial("(" * 150 + "x" + ")" * 150, ["x"], max_depth=150)
    assert p == {(1,): 1}
    with pytest.raises(BudgetExceeded, match="max_depth=150"):
        parse_polynomial("(" * 151 + "x" + ")" * 151, ["x"], max_depth=150)
    # beyond Python's recursion limit: still one line, no RecursionError
    msg = one_line_error(lambda: parse_polynomial("(" * 20000 + "x" + ")" * 20000, ["x"], max_depth=10**6),
                         BudgetExceeded)
    assert "recursion limit" in msg
    assert MAX_DEPTH >= 50   # deep enough for any hand-written polynomial


def test_long_integer_literal_is_refused_not_a_valueerror():
    one_line_error(lambda: from_polynomials(["1" * 5000 + "*x"], variables=["x"]), InvalidArgument)


def test_unicode_digits_in_specs_are_refused():
    msg = one_line_error(lambda: parse("relu:३x४x३"), InvalidArgument)
    assert "ASCII digits" in msg
    one_line_error(lambda: parse("relu:" + "9" * 5000), InvalidArgument)
    assert parse("relu:3x4x3").dim == 24


@pytest.mark.parametrize("name", ["1", "x*y", "y[0", "1.5", "1e5", "x y", "x'", "३", "", "a[]", "a[0,]"])
def test_variable_names_outside_the_grammar_are_refused(name):
    assert not is_variable_name(name)
    msg = one_line_error(lambda: from_polynomials(["z"], variables=["z", name]), InvalidArgument)
    assert "variables[1]" in msg


def test_variable_names_the_library_generates_are_accepted():
    import networkx as nx

    G = nx.DiGraph()
    G.add_node("x0", kind="input")
    G.add_node("h1_0", kind="hidden", activation="relu")
    G.add_node("y0", kind="output")
    G.add_edge("x0", "h1_0")
    G.add_edge("h1_0", "y0")
    generated = (list(mlp([2, 3, 1], bias=True).variables) + list(fl.models.factorization(2, 1, 2).variables)
                 + list(fl.models.from_graph(G).variables) + list(fl.models.conv1d(3, 2).variables)
                 + ["0.weight[3,0]", "layer1.0.conv1.weight[3,1,0,2]", "2.bias[0]"])
    assert "w[x0,h1_0]" in generated
    for name in generated:
        assert is_variable_name(name), name
    assert is_variable_name("W1[0,2]'", velocity=True)   # phase-space velocities


@pytest.mark.parametrize("build, keyword", [
    (lambda: parse("relu:99999x99999"), "mlp(..., max_parameters=...)"),
    (lambda: mlp([50000, 50000, 2]), "mlp(..., max_parameters=...)"),
    (lambda: parse("sym:1000x1"), "symmetric_factorization(..., max_parameters=...)"),
    (lambda: parse("attention:1000x100"), "from_products(..., max_parameters=...)"),
    (lambda: parse("resnet:1000x1000"), "resnet_block(..., max_parameters=...)"),
    (lambda: parse("conv1d:100000x50000"), "conv1d(..., max_parameters=...)"),
    (lambda: parse("factorization:100000x100x100000"), "factorization(..., max_parameters=...)"),
])
def test_total_parameter_limit_checked_before_allocating(build, keyword):
    msg = one_line_error(build, BudgetExceeded)
    assert "max_parameters=" in msg and keyword in msg


def test_parameter_limit_can_be_raised():
    assert mlp([10, 10, 10], max_parameters=200).dim == 200
    with pytest.raises(BudgetExceeded, match="200 parameters, more than max_parameters=199"):
        mlp([10, 10, 10], max_parameters=199)


@pytest.mark.parametrize("path", [None, 3, ["a.json"]])
def test_load_names_the_expected_type(path):
    msg = one_line_error(lambda: fl.load(path), InvalidArgument)
    assert "expected a str or os.PathLike" in msg


def test_load_refuses_deeply_nested_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    msg = one_line_error(lambda: fl.load(str(path)), fl.errors.CertificateError)
    assert "nests more than" in msg
    # a real certificate is far below the depth limit
    res = fl.analyze(mlp([2, 2, 1], activation="relu"))
    good = tmp_path / "ok.json"
    res.save(str(good))
    assert fl.load(good).count == res.count


def test_json_depth_scan_ignores_brackets_inside_strings():
    assert json_too_deep(json.dumps({"a": "[[[[[[[[", "b": ["\\\"[[[["]}), 2) is None
    assert json_too_deep(json.dumps({"a": [[1]]}), 2) == 7
    assert json_too_deep("[" * 100000, 64) == 64


# -- tau: an int too large for int64 is exact; one too long for a certificate is refused -------
def test_huge_tau_is_reduced_mod_p_not_an_overflow():
    model = parse("linear:2x2x2")
    res = fl.analyze(model, flow="momentum", tau=11111111111111111111)  # was OverflowError in the fields
    assert res.complete and res.count == 1
    assert fl.verify.check_certificate(res.certificate)["count"] == 1
    # the law is the same as for tau = 1 up to the time factor exp(tau*t)
    assert fl.verify.is_conserved(model, res.laws[0], flow="momentum", tau=11111111111111111111)


@pytest.mark.parametrize("tau", [10**1200, "1" + "0" * 1200, "1/" + "7" * 1200])
def test_tau_longer_than_a_certificate_holds_is_refused_first(tau):
    model = parse("linear:2x2x2")
    for call in (lambda: fl.analyze(model, flow="momentum", tau=tau),
                 lambda: fl.verify.is_conserved(model, "W1[0,0]", flow="momentum", tau=tau)):
        assert "MAX_TAU_CHARS=1000" in one_line_error(call, BudgetExceeded)


# -- law strings of is_conserved go through the budgeted parser -------------------------------
@pytest.mark.parametrize(
    ("law", "key"),
    [("(u+v)^100000", "max_degree"), ("(u+v+u*v)^400", "max_terms"), ("(" * 5000 + "u" + ")" * 5000, "max_depth"),
     ("-" * 100_000 + "u", "max_depth")],
)
def test_is_conserved_law_strings_are_bounded(law, key):
    model = from_polynomials(["u*v"], variables=["u", "v"])
    msg = one_line_error(lambda: fl.verify.is_conserved(model, law), BudgetExceeded)
    assert f"{key}=" in msg and "pass a flowlaws.laws.Law" in msg


def test_is_conserved_reads_polynomial_strings_exactly():
    model = from_polynomials(["u*v"], variables=["u", "v"])
    assert fl.verify.is_conserved(model, "(u+v)^2 - 2*u*v - 2*v^2 + 1/3")
    assert not fl.verify.is_conserved(model, "u^2 + v^2")
    net = parse("linear:1x2x1")
    res = fl.analyze(net, flow="momentum")
    text = str(res.laws[0])  # printed with exp(t)*(...): read back through the same parser
    assert "exp(" in text and fl.verify.is_conserved(net, text, flow="momentum")
    assert not fl.verify.is_conserved(net, text.replace("exp(t)", "exp(2*t)", 1), flow="momentum")
