"""The law side of the DAG route (grading, local verifier, candidates) against the
layered route and against explicit path-liftings (``from_graph``) on random DAGs.

The explicit oracle is built here from ``model.phi_polynomials()`` (the
gradients of φ's coordinates, and the momentum phase fields of DESIGN section 3),
so it shares no code with the verifiers under test.
"""

import random
from fractions import Fraction

import networkx as nx
import pytest

import flowlaws as fl
from flowlaws.algebra._dag_candidates import dag_momentum_candidates, dag_structural_candidates, parameter_levels
from flowlaws.algebra._dag_laws import DagLocalVerifier, dag_grading
from flowlaws.algebra._graph_network import GraphNetwork
from flowlaws.algebra._laws import FieldVerifier
from flowlaws.algebra._network_fields import LayeredNetwork
from flowlaws.algebra._network_laws import (
    LocalVerifier,
    PhaseLocalVerifier,
    momentum_candidates,
    network_grading,
    parameter_layers,
    structural_candidates,
)
from flowlaws.algebra._polynomial_fields import sparse_gradient
from flowlaws.models._graph import graph_network

LAYERED = [
    ((2, 3, 2), ("relu",), False),
    ((2, 2, 3, 2), ("linear", "relu"), True),
    ((3, 2, 2, 2), ("linear", "linear"), True),
    ((2, 3, 3, 2), ("relu", "leaky_relu"), True),
    ((1, 2, 2, 2, 1), ("relu", "linear", "relu"), False),
    ((2, 3, 3, 3, 2), ("linear", "linear", "linear"), True),
]
PHASES = [("exp", 1, 2, 1), ("time", 0, 1, 0), ("nesterov", 0, 1, 3)]


# -- helpers ---------------------------------------------------------------------------
def _ctx(n):
    import flint

    return flint.fmpz_mpoly_ctx.get(("x", n), "deglex")


def _gradient_oracle(model):
    ctx = _ctx(model.dim)
    fields = [sparse_gradient(ctx.from_dict(c)) for c in model.phi_polynomials() if c]
    return FieldVerifier(fields, ctx)


def _phase_oracle(model, kind, a, b):
    """Explicit phase fields: drift χ_0 and lifts (0, 0, ∇φ_k) (index 0 time, 1+j θ_j, 1+D+j v_j)."""
    D = model.dim
    n = 2 * D + 1
    ctx = _ctx(n)
    g = ctx.gens()
    one = ctx.from_dict({(0,) * n: 1})
    drift = {}
    if kind == "exp":
        drift[0] = a * g[0]
        for j in range(D):
            drift[1 + j], drift[1 + D + j] = b * g[1 + D + j], -a * g[1 + D + j]
    elif kind == "time":
        drift[0] = one
        for j in range(D):
            drift[1 + j] = g[1 + D + j]
    else:
        drift[0] = g[0]
        for j in range(D):
            drift[1 + j], drift[1 + D + j] = g[0] * g[1 + D + j], -3 * g[1 + D + j]
    fields = [drift]
    for coord in model.phi_polynomials():
        lifted = ctx.from_dict({(0,) + m + (0,) * D: c for m, c in coord.items()})
        fields.append({D + j: comp for j, comp in sparse_gradient(lifted).items()})
    return FieldVerifier(fields, ctx)


def _canon(polys):
    return {frozenset(h.items()) for h in polys}


def _same_span(a, b):
    return all(b.reduce(r) == 0 for r in a.rows.values()) and all(a.reduce(r) == 0 for r in b.rows.values())


def _perturbed(h):
    k = next(iter(h))
    return {**h, k: h[k] + 1}


def _add(a, b, sign=1):
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + sign * c
    return {m: c for m, c in out.items() if c}


def _parity(mono):
    mask = 0
    for v, e in enumerate(mono):
        if e & 1:
            mask ^= 1 << v
    return mask


def random_dag(seed, *, frozen=0.2, shared=0.2, n_hidden=5):
    """A random valid architecture: skips, shared and frozen (rational) weights, biases, mixed activations."""
    rng = random.Random(seed)
    G = nx.DiGraph()
    inputs = [f"x{i}" for i in range(rng.randint(1, 2))]
    biases = [f"b{i}" for i in range(rng.randint(0, 2))]
    hidden = [f"h{i}" for i in range(n_hidden)]
    outputs = [f"y{i}" for i in range(rng.randint(1, 2))]
    for x in inputs:
        G.add_node(x, kind="input")
    for x in biases:
        G.add_node(x, kind="bias")
    for x in hidden:
        G.add_node(x, kind="hidden", activation=rng.choice(["relu", "linear", "leaky_relu", "linear"]))
    for x in outputs:
        G.add_node(x, kind="output")
    sources = inputs + biases
    pool = ["s0", "s1"]

    def edge(u, v):
        r = rng.random()
        if r < frozen:
            G.add_edge(u, v, trainable=False, value=rng.choice([1, -1, 2, Fraction(1, 2), Fraction(-3, 2)]))
        elif r < frozen + shared:
            G.add_edge(u, v, param=rng.choice(pool))
        else:
            G.add_edge(u, v)

    targets = hidden + outputs
    for k, v in enumerate(targets):
        before = sources + hidden[: min(k, len(hidden))]
        for u in before:
            if rng.random() < 0.35:
                edge(u, v)
        if G.in_degree(v) == 0:
            edge(rng.choice(before), v)
    for k in range(len(hidden) - 1, -1, -1):
        if G.out_degree(hidden[k]) == 0:
            edge(hidden[k], rng.choice(hidden[k + 1:] + outputs))
    for u in sources:
        if G.out_degree(u) == 0:
            edge(u, rng.choice(targets))
    if not any(d.get("trainable", True) for _, _, d in G.edges(data=True)):
        u, v = next(iter(G.edges))
        G.remove_edge(u, v)
        G.add_edge(u, v)
    return G


def _random_models(count, **kw):
    out = []
    for seed in range(count):
        G = random_dag(seed, **kw)
        try:
            model = fl.models.from_graph(G)
        except fl.errors.InvalidArgument:  # e.g. every coordinate constant
            continue
        net, names = graph_network(G)
        assert list(model.variables) == names
        out.append((seed, model, net))
    return out


def _quadratics(rng, D, count):
    out = []
    for _ in range(count):
        u, v = rng.randrange(D), rng.randrange(D)
        out.append({((u, 2),) if u == v else tuple(sorted(((u, 1), (v, 1)))): 1})
        w = rng.randrange(D)
        out.append({((u, 2),): 1, ((w, 2),): -1} if u != w else {((u, 2),): 1})
    return out


# -- layered networks: the DAG route equals the layered one -----------------------------
@pytest.mark.parametrize("layers,acts,bias", LAYERED)
def test_layered_grading_and_candidates_agree(layers, acts, bias):
    L, G = LayeredNetwork(layers, acts, bias), GraphNetwork.layered(layers, acts, bias)
    assert _same_span(network_grading(L), dag_grading(G))
    assert _same_span(network_grading(L), dag_grading(G, max_relations=0)) or any(
        a == "linear" for a in acts
    )
    assert _canon(structural_candidates(L)) == _canon(dag_structural_candidates(G))
    for k in (0, 1, 3):
        assert _canon(momentum_candidates(L, k)) == _canon(dag_momentum_candidates(G, k))
    assert parameter_layers(L) == parameter_levels(G)


@pytest.mark.parametrize("layers,acts,bias", LAYERED)
def test_layered_verifiers_agree(layers, acts, bias):
    L, G = LayeredNetwork(layers, acts, bias), GraphNetwork.layered(layers, acts, bias)
    local, dag = LocalVerifier(L), DagLocalVerifier(G)
    oracle = _gradient_oracle(fl.models.mlp(list(layers), list(acts), bias=bias))
    cands = structural_candidates(L)
    cases = list(cands) + [_perturbed(h) for h in cands]
    cases += [_add(a, b, s) for a, b in zip(cands, cands[1:]) for s in (1, -2)]
    cases += _quadratics(random.Random(3), L.dim, 10)
    for h in cases:
        assert dag(h) == local(h) == oracle(h), h
    assert all(dag(h) for h in cands)


@pytest.mark.parametrize("layers,acts,bias", LAYERED)
@pytest.mark.parametrize("kind,a,b,power", PHASES)
def test_layered_phase_verifiers_agree(layers, acts, bias, kind, a, b, power):
    L, G = LayeredNetwork(layers, acts, bias), GraphNetwork.layered(layers, acts, bias)
    old, new = PhaseLocalVerifier(L, kind, a, b), PhaseLocalVerifier(G, kind, a, b)
    cands = momentum_candidates(L, power)
    for h in cands:
        assert old(h) and new(h)
        bad = _perturbed(h)
        assert not new(bad) and not old(bad)
    if cands and len(cands) < 40:
        oracle = _phase_oracle(fl.models.mlp(list(layers), list(acts), bias=bias), kind, a, b)
        assert all(oracle(h) for h in cands)


def test_grading_on_big_nets_equals_the_layered_one():
    for layers, acts, bias in [((8, 8, 8, 8, 8), ("linear",) * 3, True), ((6, 7, 7, 5), ("linear", "relu"), True)]:
        L, G = LayeredNetwork(layers, acts, bias), GraphNetwork.layered(layers, acts, bias)
        assert _same_span(network_grading(L), dag_grading(G))
    relu = GraphNetwork.layered((30, 40, 40, 40, 30), ("relu",) * 3, True)
    assert not dag_grading(relu)


# -- random DAGs against the explicit path-lifting -----------------------------------------
MODELS = _random_models(30)


def test_random_dags_are_varied():
    nets = [net for _, _, net in MODELS]
    assert len(nets) >= 20
    assert any(v is not None for net in nets for _, _, _, v in net.edges)  # frozen
    assert any(len({p for *_, p, _ in net.edges if p is not None}) < sum(p is not None for *_, p, _ in net.edges)
               for net in nets)  # shared


@pytest.mark.parametrize("seed,model,net", MODELS, ids=[f"dag{s}" for s, _, _ in MODELS])
def test_random_dag_grading_makes_phi_homogeneous(seed, model, net):
    grading = dag_grading(net)
    coarse = dag_grading(net, max_relations=0)
    for coord in model.phi_polynomials():
        classes = {grading.reduce(_parity(m)) for m in coord if any(m)}
        assert len(classes) <= 1
        assert len({coarse.reduce(_parity(m)) for m in coord if any(m)}) <= 1
    frozen = any(v is not None for *_, v in net.edges)
    fields = _gradient_oracle(model).fields
    from flowlaws.algebra._laws import grading_from_fields

    exact = grading_from_fields(fields)
    assert all(grading.reduce(r) == 0 for r in exact.rows.values())  # contains the true relations
    assert all(coarse.reduce(r) == 0 for r in grading.rows.values())
    if not frozen:  # no constant paths, no cancellations: exactly the true relations
        assert _same_span(grading, exact)


@pytest.mark.parametrize("seed,model,net", MODELS, ids=[f"dag{s}" for s, _, _ in MODELS])
def test_random_dag_verifier_is_sound(seed, model, net):
    dag, oracle = DagLocalVerifier(net), _gradient_oracle(model)
    cands = dag_structural_candidates(net)
    true = [h for h in cands if oracle(h)]
    cases = list(cands) + [_perturbed(h) for h in cands] + [_add(a, b) for a, b in zip(true, true[1:])]
    cases += _quadratics(random.Random(seed), net.dim, 12)
    for h in cases:
        if dag(h):
            assert oracle(h), h
    for h in true:
        if not any(v is not None for *_, v in net.edges):
            assert dag(h), h


@pytest.mark.parametrize("seed,model,net", MODELS[:12], ids=[f"dag{s}" for s, _, _ in MODELS[:12]])
def test_random_dag_phase_verifier_is_sound(seed, model, net):
    kind, a, b, power = PHASES[seed % 3]
    check, oracle = PhaseLocalVerifier(net, kind, a, b), _phase_oracle(model, kind, a, b)
    D = net.dim
    rng = random.Random(seed)
    cases = list(dag_momentum_candidates(net, power))
    for _ in range(10):
        x, y = rng.randrange(D), rng.randrange(D)
        t = ((0, power),) if power else ()
        cases.append({tuple(sorted(t + ((1 + x, 1), (1 + D + y, 1)))): 1,
                      tuple(sorted(t + ((1 + y, 1), (1 + D + x, 1)))): -1} if x != y else
                     {tuple(sorted(t + ((1 + x, 1), (1 + D + y, 1)))): 1})
    for h in cases:
        if check(h):
            assert oracle(h), h


# -- residual and convolution blocks --------------------------------------------------------
BLOCKS = [
    fl.models.resnet_block(2, 3),
    fl.models.resnet_block(3, 2, bias=True),
    fl.models.resnet_block(2, 3, activation="linear"),
    fl.models.conv1d(4, 2, channels=2),
    fl.models.conv1d(5, 3, channels=2, outputs=2),
]


@pytest.mark.parametrize("model", BLOCKS, ids=lambda m: m.name)
def test_blocks_structural_laws_are_proved(model):
    net, _ = graph_network(model.graph)
    dag, oracle = DagLocalVerifier(net), _gradient_oracle(model)
    cands = dag_structural_candidates(net)
    assert cands
    for h in cands:
        assert dag(h) == oracle(h)
        assert not dag(_perturbed(h))
    assert all(dag(h) for h in cands if oracle(h))
    for coord in model.phi_polynomials():
        assert len({dag_grading(net).reduce(_parity(m)) for m in coord if any(m)}) <= 1


def test_conv_channels_give_one_law_each():
    model = fl.models.conv1d(5, 2, channels=3)
    net, _ = graph_network(model.graph)
    cands = dag_structural_candidates(net)
    assert len(cands) == 3 and all(DagLocalVerifier(net)(h) for h in cands)


def test_budget_reports_not_proved():
    net = GraphNetwork.layered((3, 3, 3, 3), ("linear", "linear"), False)
    h = {((0, 2),): 1, ((net.dim - 1, 2),): -1}
    assert not DagLocalVerifier(net, max_terms=5)(h)
    law = dag_structural_candidates(net)[0]
    assert DagLocalVerifier(net)(law) and not DagLocalVerifier(net, max_terms=1)(law)


def _linear_with_skips():
    G = nx.DiGraph()
    layers = (2, 3, 3, 2)
    name = lambda l, i: f"x{i}" if l == 0 else (f"y{i}" if l == 3 else f"h{l}_{i}")  # noqa: E731
    for l, n in enumerate(layers):
        for i in range(n):
            kind = "input" if l == 0 else ("output" if l == 3 else "hidden")
            G.add_node(name(l, i), kind=kind, **({"activation": "linear"} if kind == "hidden" else {}))
    G.add_node("b", kind="bias")
    for l in range(1, 4):
        for i in range(layers[l]):
            for j in range(layers[l - 1]):
                G.add_edge(name(l - 1, j), name(l, i))
            G.add_edge("b", name(l, i))
    G.add_edge("x0", "y1")                                          # trainable skip
    G.add_edge("x1", "y0", trainable=False, value=Fraction(1, 2))   # frozen skip
    G.add_edge("x0", "h2_0", trainable=False, value=3)              # frozen layer skip
    return G


@pytest.mark.parametrize("kind,a,b,power", PHASES)
def test_phase_verifier_on_a_linear_dag_with_skips(kind, a, b, power):
    G = _linear_with_skips()
    model = fl.models.from_graph(G)
    net, _ = graph_network(G)
    check, oracle = PhaseLocalVerifier(net, kind, a, b), _phase_oracle(model, kind, a, b)
    cands = dag_momentum_candidates(net, power)
    assert len(cands) == 3 + 1  # layer 1: all pairs; layer 2: h2_0 has a frozen edge, so only (h2_1, h2_2)
    assert all(check(h) for h in cands)
    for h in cands:
        assert check(h) == oracle(h)
        assert not check(_perturbed(h))
    grad = DagLocalVerifier(net)
    gradient_oracle = _gradient_oracle(model)
    for h in dag_structural_candidates(net):
        assert grad(h) == gradient_oracle(h)


def test_frozen_only_values_are_exact():
    """h0 carries 2·(the bias constant), so φ sees a + 2c only: 2a − c is a law (degree 1)."""
    G = nx.DiGraph()
    G.add_node("b", kind="bias"); G.add_node("x", kind="input")
    G.add_node("h0", kind="hidden", activation="linear"); G.add_node("h1", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("b", "h0", trainable=False, value=Fraction(2))
    G.add_edge("b", "h1", param="a"); G.add_edge("h0", "h1", param="c"); G.add_edge("x", "h1", param="d")
    G.add_edge("h1", "y", param="e")
    model = fl.models.from_graph(G)
    net, names = graph_network(G)
    a, c = names.index("a"), names.index("c")
    check, oracle = DagLocalVerifier(net), _gradient_oracle(model)
    for h, law in [({((a, 1),): 2, ((c, 1),): -1}, True), ({((a, 1),): 3, ((c, 1),): -1}, False)]:
        assert check(h) == oracle(h) == law
