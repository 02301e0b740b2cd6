"""flowlaws.verify.strategies: what the strategies draw, and that drawn models check exactly."""

from __future__ import annotations

import inspect
from fractions import Fraction

import networkx as nx
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import flowlaws as fl
from flowlaws.errors import InvalidArgument
from flowlaws.verify import NotConserved, assert_conserved, check_certificate, is_conserved
from flowlaws.verify.strategies import (
    MAX_PATHS,
    Dataset,
    datasets,
    factorizations,
    given_model,
    graphs,
    loss_directions,
    mlps,
    points,
    polynomial_models,
)


def balancedness(model, layer, neuron):
    """The known law of a hidden neuron: |incoming|^2 (bias included) - |outgoing|^2."""
    incoming = [f"W{layer}[{neuron},{j}]^2" for j in range(model.layers[layer - 1])]
    if model.bias:
        incoming.append(f"b{layer}[{neuron}]^2")
    outgoing = [f"W{layer + 1}[{i},{neuron}]^2" for i in range(model.layers[layer + 1])]
    return " + ".join(incoming) + " - (" + " + ".join(outgoing) + ")"


# -- mlps -----------------------------------------------------------------------------------
@settings(max_examples=30)
@given(mlps(min_depth=2, max_depth=3, min_width=2, max_width=3, activations=["relu", "linear"], bias=True))
def test_mlps_respect_their_bounds(model):
    assert isinstance(model, fl.models.Model) and model.kind == "network"
    assert 3 <= len(model.layers) <= 4
    assert all(2 <= w <= 3 for w in model.layers)
    assert set(model.activations) <= {"relu", "linear"} and len(model.activations) == len(model.layers) - 2
    assert model.bias is True
    D = sum(a * b + b for a, b in zip(model.layers, model.layers[1:]))
    assert model.dim == D


@settings(max_examples=20)
@given(mlps(min_depth=3, max_depth=3, max_width=2, mixed=False))
def test_mlps_unmixed_use_one_activation(model):
    assert len(set(model.activations)) == 1


@settings(max_examples=25)
@given(mlps(min_depth=2, activations=["relu", "leaky_relu", "linear"]))
def test_every_hidden_neuron_of_a_drawn_mlp_has_its_balancedness_law(model):
    # the core property of DESIGN section 4 on drawn architectures, checked exactly
    for layer in range(1, len(model.layers) - 1):
        for neuron in range(model.layers[layer]):
            assert_conserved(model, balancedness(model, layer, neuron))


@settings(max_examples=10)
@given(mlps(min_depth=2, max_depth=2, min_width=2, max_width=3, activations=["relu"]))
def test_a_perturbed_law_fails_with_an_exact_counterexample(model):
    x = {v: sp.Symbol(v) for v in model.variables}
    h = sum(x[f"W1[0,{j}]"] ** 2 for j in range(model.layers[0])) + (x["b1[0]"] ** 2 if model.bias else 0)
    h -= sum(x[f"W2[{i},0]"] ** 2 for i in range(model.layers[2]))
    assert_conserved(model, h)  # the law itself (as a SymPy expression)
    perturbed = h + x["W1[0,0]"] * x["W2[0,0]"]
    with pytest.raises(NotConserved) as info:
        assert_conserved(model, perturbed)
    err = info.value
    assert err.value != 0 and set(err.point) <= set(model.variables)
    # <grad h, grad phi_k> at the counterexample, recomputed with SymPy on the engine's phi
    at = {x[v]: err.point.get(v, 0) for v in model.variables}
    grad = [sp.diff(perturbed, s).xreplace(at) for s in x.values()]
    values = {sum(g * sp.diff(f, s).xreplace(at) for g, s in zip(grad, x.values()) if g) for f in model.phi}
    assert err.value in values


# -- factorizations and polynomial maps ------------------------------------------------------
@settings(max_examples=20)
@given(factorizations(max_size=3, max_rank=2))
def test_factorization_laws_are_the_entries_of_UtU_minus_VtV(model):
    assert model.name.startswith("factorization:")
    n, r, m = map(int, model.name.split(":")[1].split("x"))
    assert 1 <= n <= 3 and 1 <= m <= 3 and 1 <= r <= 2
    for k in range(r):
        for l in range(k, r):
            law = " + ".join(f"U[{i},{k}]*U[{i},{l}]" for i in range(n))
            law += " - (" + " + ".join(f"V[{j},{k}]*V[{j},{l}]" for j in range(m)) + ")"
            assert_conserved(model, law)
    assert not is_conserved(model, "U[0,0]^2")


@settings(max_examples=10)
@given(factorizations(symmetric=True, max_size=2, max_rank=2))
def test_symmetric_factorizations(model):
    assert model.name.startswith("sym:") and all(v.startswith("U[") for v in model.variables)


@settings(max_examples=25)
@given(polynomial_models(max_variables=3, max_coordinates=2, max_terms=3, max_degree=3, max_coefficient=3))
def test_polynomial_models_respect_their_bounds(model):
    assert 1 <= model.dim <= 3 and model.variables == tuple(f"x{i}" for i in range(model.dim))
    phi = model.phi_polynomials()
    assert 1 <= len(phi) <= 2
    for coord in phi:
        assert 1 <= len(coord) <= 3
        for mono, c in coord.items():
            assert 1 <= sum(mono) <= 3 and 1 <= abs(c) <= 3


@settings(max_examples=10)
@given(polynomial_models(max_variables=3, max_coordinates=2, max_terms=2, max_degree=2))
def test_engine_laws_of_drawn_polynomial_maps_pass_the_independent_checker(model):
    res = fl.analyze(model)
    assert check_certificate(res.certificate)["proved"]["upper_bound"] == res.count
    for law in res.laws:
        assert is_conserved(model, law)


# -- graphs ---------------------------------------------------------------------------------
def _check_graph(G, *, acts=("linear", "relu", "leaky_relu"), skips=True, shared=True, fixed=True):
    assert isinstance(G, nx.DiGraph) and nx.is_directed_acyclic_graph(G)
    kinds = dict(G.nodes(data="kind"))
    assert set(kinds.values()) <= {"input", "hidden", "output", "bias"}
    sources = {n for n, k in kinds.items() if k in ("input", "bias")}
    outputs = {n for n, k in kinds.items() if k == "output"}
    assert any(k == "input" for k in kinds.values()) and outputs
    for node, kind in kinds.items():
        # on a path from an input (or the bias) to an output
        assert node in sources or nx.ancestors(G, node) & sources, node
        assert node in outputs or nx.descendants(G, node) & outputs, node
        if kind == "hidden":
            assert G.nodes[node]["activation"] in acts
        if kind in ("input", "bias"):
            assert G.in_degree(node) == 0
        if kind == "output":
            assert G.out_degree(node) == 0
    trainable = 0
    for u, v, data in G.edges(data=True):
        if data.get("trainable", True):
            trainable += 1
            assert "value" not in data
            assert shared or "param" not in data
        else:
            assert fixed and "param" not in data
            assert Fraction(data.get("value", 1)) > 0 and not isinstance(data.get("value", 1), float)
        if not skips and kinds[u] != "bias":
            assert G.nodes[v]["layer"] == G.nodes[u]["layer"] + 1
    assert trainable >= 1


@settings(max_examples=40)
@given(graphs())
def test_graphs_are_valid_architectures(G):
    _check_graph(G)
    if hasattr(fl.models, "from_graph"):
        model = fl.models.from_graph(G)
        names = {d.get("param", f"w[{u},{v}]") for u, v, d in G.edges(data=True) if d.get("trainable", True)}
        assert set(model.variables) == names
        assert any(model.phi_polynomials())


@settings(max_examples=20)
@given(graphs(activations=["relu"], skip_connections=False, shared=False, fixed=False, bias=False))
def test_graph_options_are_honoured(G):
    _check_graph(G, acts=("relu",), skips=False, shared=False, fixed=False)
    assert "bias" not in dict(G.nodes(data="kind")).values()


def test_graphs_draw_skips_sharing_and_fixed_weights():
    seen = set()

    @settings(max_examples=60, database=None)
    @given(graphs(bias=True))
    def collect(G):
        layer = dict(G.nodes(data="layer"))
        for u, v, d in G.edges(data=True):
            if G.nodes[u]["kind"] != "bias" and layer[v] > layer[u] + 1:
                seen.add("skip")
            if "param" in d:
                seen.add("shared")
            if d.get("trainable", True) is False:
                seen.add("fixed")
        if "b" in G:
            seen.add("bias")

    collect()
    assert seen == {"skip", "shared", "fixed", "bias"}


# -- points, loss directions, data sets -----------------------------------------------------
MODEL = fl.models.mlp([2, 2, 1], activation="relu", bias=True)


@settings(max_examples=30)
@given(points(MODEL, max_value=2), points(MODEL, integer=False, max_value=2, max_denominator=3, nonzero=True, as_dict=False))
def test_points(p, q):
    assert list(p) == list(MODEL.variables)
    assert all(type(x) is int and -2 <= x <= 2 for x in p.values())
    assert isinstance(q, tuple) and len(q) == MODEL.dim
    assert all(isinstance(x, Fraction) and x != 0 and abs(x) <= 2 and x.denominator <= 3 for x in q)


@settings(max_examples=10)
@given(st.data())
def test_loss_directions_are_orthogonal_to_every_law(data):
    model = data.draw(mlps(min_depth=2, max_depth=2, max_width=3, activations=["relu"]))
    c = data.draw(loss_directions(model))
    theta = data.draw(points(model))
    assert any(c) and len(c) == len(model.phi)
    # the loss <c, phi(theta)>: its gradient is a velocity of the flow
    syms = [sp.Symbol(v) for v in model.variables]
    loss = sum(ck * f for ck, f in zip(c, model.phi))
    at = dict(zip(syms, theta.values()))
    velocity = [sp.diff(loss, s).subs(at) for s in syms]
    law = sum(syms[model.variables.index(f"W1[0,{j}]")] ** 2 for j in range(model.layers[0]))
    if model.bias:
        law += syms[model.variables.index("b1[0]")] ** 2
    law -= sum(syms[model.variables.index(f"W2[{i},0]")] ** 2 for i in range(model.layers[2]))
    assert sum(sp.diff(law, s).subs(at) * v for s, v in zip(syms, velocity)) == 0


def test_a_non_law_is_not_orthogonal_to_some_loss_direction():
    model = fl.models.mlp([1, 1, 1], activation="relu")
    found = []

    @settings(max_examples=30, database=None)
    @given(loss_directions(model), points(model, nonzero=True))
    def probe(c, theta):
        a, b = theta.values()
        # h = a^2: <grad h, c * grad(a*b)> = 2a * c * b
        found.append(2 * a * c[0] * b)

    probe()
    assert any(found)


@settings(max_examples=20)
@given(datasets(MODEL, max_samples=3, max_value=2), datasets(n_inputs=4, n_outputs=2, labels="sign"))
def test_datasets(d, s):
    assert isinstance(d, Dataset)
    assert d.X.shape[1] == 2 and d.y.shape[1] == 1 and 1 <= d.X.shape[0] <= 3
    assert d.X.shape[0] == d.y.shape[0] and d.X.dtype.name == "int64" and abs(d.X).max() <= 2
    assert s.X.shape[1] == 4 and s.y.shape[1] == 2 and set(s.y.ravel()) <= {-1, 1}


# -- given_model ----------------------------------------------------------------------------
@settings(max_examples=15)
@given_model(mlps(min_depth=2, max_depth=2, max_width=3, activations=["relu"]), point=points, c=loss_directions)
def test_given_model_draws_values_for_the_drawn_model(model, point, c, tmp_path_factory):
    assert list(point) == list(model.variables) and len(c) == len(model.phi_polynomials())
    assert tmp_path_factory.getbasetemp().is_dir()  # other arguments stay pytest fixtures


@settings(max_examples=5)
@given_model()
def test_given_model_defaults_to_mlps(model):
    assert isinstance(model, fl.models.Model) and len(model.layers) <= 4


def test_given_model_signature_hides_the_drawn_arguments():
    def test(model, point, tmp_path):
        pass

    wrapped = given_model(mlps(), point=points)(test)
    assert list(inspect.signature(wrapped).parameters) == ["tmp_path"]


def test_settings_and_marks_below_given_model_are_kept():
    calls = []

    @given_model(points=lambda m: points(m, integer=False))  # a large space: max_examples limits the run
    @settings(max_examples=3, database=None)
    @pytest.mark.filterwarnings("ignore")
    def inner(model, points):
        calls.append(model.dim)

    inner()
    assert 1 <= len(calls) <= 3
    assert [m.name for m in inner.pytestmark] == ["filterwarnings"]


class TestGivenModelOnMethods:
    @settings(max_examples=3)
    @given_model(mlps(max_depth=1), point=points)
    def test_self_is_passed_positionally(self, model, point):
        assert isinstance(self, TestGivenModelOnMethods) and len(point) == model.dim


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: given_model(st.integers(), point=points)(lambda model: None), r"does not take \['point'\]"),
        (lambda: given_model(mlps(), model=points), "'model' is the drawn model itself"),
        (lambda: given_model(mlps(), point=3), r"point=3 \(type=int\)"),
        (lambda: given_model([1, 2]), r"models=\[1, 2\] \(type=list\): expected a strategy"),
    ],
)
def test_given_model_errors(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()


# -- validation at call time -----------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: mlps(max_width=2.5), r"max_width=2\.5 \(type=float\): expected an int; pass e\.g\. max_width=3"),
        (lambda: mlps(max_width=True), r"max_width=True \(type=bool\): expected an int"),
        (lambda: mlps(min_depth=0), r"min_depth=0 \(type=int\): must be at least 1"),
        (lambda: mlps(min_depth=3, max_depth=2), "min_depth=3 > max_depth=2: min_depth must not exceed max_depth"),
        (lambda: mlps(min_width=5), "min_width=5 > max_width=4"),
        (lambda: mlps(max_width=20, max_depth=5), f"more than MAX_PATHS={MAX_PATHS}"),
        (lambda: mlps(max_depth=9), r"max_depth=9 \(type=int\): must be at most 8"),
        (lambda: mlps(activations=["tanh"]), r"'tanh' is not one of \['linear', 'relu', 'leaky_relu'\]"),
        (lambda: mlps(activations=[]), "give at least one activation"),
        (lambda: mlps(activations=3), r"activations=3 \(type=int\): expected a list of names"),
        (lambda: mlps(bias="yes"), r"bias='yes' \(type=str\): expected True, False or None"),
        (lambda: factorizations(min_size=3, max_size=2), "min_size=3 > max_size=2"),
        (lambda: factorizations(max_rank=0), r"max_rank=0 \(type=int\): must be at least 1"),
        (lambda: factorizations(symmetric=1), r"symmetric=1 \(type=int\)"),
        (lambda: polynomial_models(max_degree=0), r"max_degree=0 \(type=int\): must be at least 1"),
        (lambda: polynomial_models(min_variables=4), "min_variables=4 > max_variables=3"),
        (lambda: graphs(max_hidden_layers=-1), r"max_hidden_layers=-1 \(type=int\): must be at least 0"),
        (lambda: graphs(max_outputs="2"), r"max_outputs='2' \(type=str\)"),
        (lambda: graphs(skip_connections=None), r"skip_connections=None \(type=NoneType\): expected True or False"),
        (lambda: points(object()), "expected a flowlaws model with .variables"),
        (lambda: points(MODEL, max_value=0), r"max_value=0 \(type=int\): must be at least 1"),
        (lambda: loss_directions(MODEL, max_value=-1), r"max_value=-1 \(type=int\)"),
        (lambda: datasets(), "pass a network model or n_inputs="),
        (lambda: datasets(fl.models.symmetric_factorization(2, 1)), "takes its sizes from a layered network"),
        (lambda: datasets(MODEL, labels="binary"), r"labels='binary' \(type=str\): expected 'integer' or 'sign'"),
        (lambda: datasets(n_inputs=2, min_samples=5), "min_samples=5 > max_samples=4"),
    ],
)
def test_arguments_are_validated_when_the_strategy_is_built(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()
