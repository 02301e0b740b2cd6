"""DagGenerators: the seeded generators of a DAG network, evaluated on jets.

Cross-checks: on layered networks the values equal NetworkGenerators' word for
word (gradient and phase-space flows); on random DAGs (skips, shared and
frozen weights, biases, mixed activations) the generators equal a brute-force
oracle that enumerates the paths with exact Fractions, brackets equal those of
the explicit polynomials ``F_a``, and the Lie rank (gradient flow; momentum
with τ = 1 and τ = 0; Nesterov) equals the explicit route's.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import lcm

import networkx as nx
import numpy as np
import pytest

from flowlaws.algebra._dag_fields import DagGenerators
from flowlaws.algebra._graph_network import GraphNetwork
from flowlaws.algebra._lie import drift_lie_rank, lie_rank
from flowlaws.algebra._network_fields import LayeredNetwork, NetworkGenerators
from flowlaws.algebra._phase_fields import Drift, PhaseNetworkGenerators
from flowlaws.algebra._polynomial_fields import PolynomialGenerators, gradient
from flowlaws.errors import InvalidArgument
from flowlaws.models._graph import graph_network, graph_path_lifting, mlp_graph

P = 16777213
M64 = 2**64


def z(seed: int, a: int, v: int, p: int) -> int:
    """The certificate's seeded value, from its written specification."""
    x = (seed * 0x9E3779B97F4A7C15 + a * 0xBF58476D1CE4E5B9 + v * 0x94D049BB133111EB + 0xD1B54A32D192ED03) % M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) % M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) % M64
    x ^= x >> 31
    return x % p


# -- layered networks: the same values as NetworkGenerators -----------------------------

LAYERED = [
    ((2, 3, 2), ("relu",), False),
    ((2, 3, 2), ("relu",), True),
    ((3, 4, 5, 2), ("linear", "leaky_relu"), True),
    ((2, 2, 2, 2, 2), ("relu", "linear", "relu"), False),
    ((1, 4, 1), ("linear",), True),
    ((4, 3, 3, 1), ("leaky_relu", "relu"), False),
]


def _words(rng: np.random.Generator, depths, per: int, leaves: int, low: int = 0) -> list[tuple[int, ...]]:
    return [tuple(int(a) for a in rng.integers(low, leaves, size=k)) for k in depths for _ in range(per)]


@pytest.mark.parametrize("layers,acts,bias", LAYERED)
def test_layered_gradient_words_equal_network_generators(layers, acts, bias):
    old = NetworkGenerators(LayeredNetwork(layers, acts, bias), seed=7, prime=P)
    new = DagGenerators(GraphNetwork.layered(layers, acts, bias), seed=7, prime=P)
    assert new.dim == old.dim and new.prime == P and new.seed == 7 and new.finite_generators is None
    rng = np.random.default_rng(len(layers) + bias)
    point = rng.integers(1, P, size=old.dim)
    words = _words(rng, (1, 2, 3, 4), 6, 40)
    assert np.array_equal(new.evaluate(words, point), old.evaluate(words, point))


@pytest.mark.parametrize("drift", [Drift("exp", 1, 1), Drift("exp", 2, 3), Drift("time"), Drift("nesterov")])
@pytest.mark.parametrize("layers,acts,bias", LAYERED[:4])
def test_layered_phase_words_equal_network_generators(layers, acts, bias, drift):
    old = PhaseNetworkGenerators(LayeredNetwork(layers, acts, bias), drift, seed=3, prime=P)
    new = PhaseNetworkGenerators(GraphNetwork.layered(layers, acts, bias), drift, seed=3, prime=P)
    assert isinstance(new.base, DagGenerators) and isinstance(old.base, NetworkGenerators)
    rng = np.random.default_rng(11)
    point = rng.integers(1, P, size=old.dim)
    words = _words(rng, (1, 2, 3, 4), 6, 4)
    assert np.array_equal(new.evaluate(words, point), old.evaluate(words, point))


# -- random DAGs --------------------------------------------------------------------------


def random_dag(seed: int) -> nx.DiGraph:
    """A small network: skips, shared and frozen weights, bias nodes, mixed activations."""
    r = random.Random(seed)
    G = nx.DiGraph()
    inputs = [f"x{i}" for i in range(r.randint(1, 3))]
    biases = [f"b{i}" for i in range(r.randint(0, 2))]
    hidden = [f"h{i}" for i in range(r.randint(1, 5))]
    outputs = [f"y{i}" for i in range(r.randint(1, 2))]
    for v in inputs:
        G.add_node(v, kind="input")
    for v in biases:
        G.add_node(v, kind="bias")
    for v in hidden:
        G.add_node(v, kind="hidden", activation=r.choice(["linear", "relu", "leaky_relu"]))
    for v in outputs:
        G.add_node(v, kind="output")
    shared = [f"s{i}" for i in range(2)]

    def connect(u: str, v: str) -> None:
        if G.has_edge(u, v):
            return
        roll = r.random()
        if roll < 0.15:
            G.add_edge(u, v, trainable=False, value=Fraction(r.choice([-2, -1, 1, 3]), r.choice([1, 2, 3])))
        elif roll < 0.35:
            G.add_edge(u, v, param=r.choice(shared))
        else:
            G.add_edge(u, v)

    order = inputs + biases + hidden + outputs
    sources = inputs + biases
    for k, v in enumerate(hidden + outputs):
        earlier = sources + hidden[: min(k, len(hidden))]
        for u in r.sample(earlier, r.randint(1, min(3, len(earlier)))):
            connect(u, v)
    for k, u in enumerate(order[: len(order) - len(outputs)]):  # every node reaches a later node
        if not G.out_degree(u):
            later = [v for v in hidden + outputs if order.index(v) > k]
            connect(u, r.choice(later))
    if not any(d.get("trainable", True) for _, _, d in G.edges(data=True)):
        u, v = next(iter(G.edges))
        G.remove_edge(u, v)
        G.add_edge(u, v)
    return G


def brute_force_gradient(net: GraphNetwork, seed: int, a: int, theta: list[int], p: int) -> list[int]:
    """``∇F_a(θ) mod p`` from the paths: ``F_a = Σ_paths c_key(a) · Π weights`` in Fractions."""
    nums = net.numbers()
    out_edges: dict[int, list] = {}
    for e in net.edges:
        out_edges.setdefault(e[0], []).append(e)
    grad = [Fraction(0)] * net.dim

    def walk(node: int, path: list, c: int) -> None:
        if net.kinds[node] == "output":
            c = c * z(seed, a, nums[node], p)
            for k, (_, _, par, _) in enumerate(path):
                if par is None:
                    continue
                rest = Fraction(c)
                for m, (_, _, q, val) in enumerate(path):
                    if m != k:
                        rest *= theta[q] if q is not None else val
                grad[par] += rest
            return
        for e in out_edges.get(node, []):
            dst = e[1]
            walk(dst, path + [e], c * (z(seed, a, nums[dst], p) if net.gated(dst) else 1))

    for v, kind in enumerate(net.kinds):
        if kind in ("input", "bias"):
            walk(v, [], z(seed, a, nums[v], p))
    return [g.numerator * pow(g.denominator, -1, p) % p for g in grad]


def shuffled(net: GraphNetwork, seed: int) -> GraphNetwork:
    """The same network listed in another random topological order (levels no longer contiguous)."""
    r = random.Random(seed)
    preds = {v: {s for s, d, _, _ in net.edges if d == v} for v in range(len(net.kinds))}
    order: list[int] = []
    while len(order) < len(net.kinds):
        ready = [v for v in range(len(net.kinds)) if v not in order and preds[v] <= set(order)]
        order.append(r.choice(ready))
    new = {old: k for k, old in enumerate(order)}
    return GraphNetwork(
        tuple(net.kinds[v] for v in order), tuple(net.activations[v] for v in order),
        tuple((new[s], new[d], q, val) for s, d, q, val in net.edges), net.dim,
    )


SEEDS = range(40)


@pytest.mark.parametrize("reorder", [False, True])
@pytest.mark.parametrize("seed", SEEDS)
def test_random_dag_generators_equal_brute_force(seed, reorder):
    net, _ = graph_network(random_dag(seed))
    net = shuffled(net, seed) if reorder else net
    p = 1000003
    fam = DagGenerators(net, seed=seed, prime=p)
    theta = [random.Random(100 + seed).randrange(1, p) for _ in range(net.dim)]
    got = fam.evaluate([(a,) for a in range(4)], np.array(theta))
    for a in range(4):
        assert got[a].tolist() == brute_force_gradient(net, seed, a, theta, p)


def combination_polynomials(net: GraphNetwork, seed: int, gens: range, p: int) -> list:
    """``F_a`` as integer polynomials whose reduction mod ``p`` is exact (frozen weights as residues)."""
    import flint

    ctx = flint.fmpz_mpoly_ctx.get(("t", net.dim), "deglex")
    t = ctx.gens()
    one = ctx.from_dict({(0,) * net.dim: 1})
    nums = net.numbers()
    polys = []
    for a in gens:
        value = [None] * len(net.kinds)
        F = one - one
        for v, kind in enumerate(net.kinds):
            if kind in ("input", "bias"):
                value[v] = z(seed, a, nums[v], p) * one
                continue
            acc = one - one
            for s, d, par, val in net.edges:
                if d == v:
                    w = t[par] if par is not None else (val.numerator * pow(val.denominator, -1, p) % p) * one
                    acc += w * value[s]
            value[v] = acc * z(seed, a, nums[v], p) if net.gated(v) else acc
            if kind == "output":
                F += z(seed, a, nums[v], p) * acc
        polys.append(F)
    return polys


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_random_dag_brackets_equal_explicit_polynomials(seed):
    net, _ = graph_network(random_dag(seed))
    p = 1000003
    fam = DagGenerators(net, seed=seed, prime=p)
    explicit = PolynomialGenerators([gradient(F, net.dim) for F in combination_polynomials(net, seed, range(3), p)], prime=p)
    rng = np.random.default_rng(seed)
    point = rng.integers(1, p, size=net.dim)
    words = _words(rng, (1, 2, 3), 4, 3)
    assert np.array_equal(fam.evaluate(words, point), explicit.evaluate(words, point))


def explicit_family(G: nx.DiGraph, p: int) -> PolynomialGenerators:
    """The explicit route: ``∇φ_key`` of the expanded path-lifting, denominators cleared."""
    import flint

    names, coords = graph_path_lifting(G)
    ctx = flint.fmpz_mpoly_ctx.get(("t", len(names)), "deglex")
    fields = []
    for coord in coords:
        scale = lcm(*(c.denominator for c in coord.values()))
        f = ctx.from_dict({m: int(c * scale) for m, c in coord.items()})
        if not f.is_constant():
            fields.append(gradient(f, len(names)))
    return PolynomialGenerators(fields, prime=p)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_dag_lie_rank_equals_explicit_route(seed):
    G = random_dag(seed)
    net, _ = graph_network(G)
    point = np.random.default_rng(seed).integers(1, P, size=net.dim)
    explicit = explicit_family(G, P)
    expected = lie_rank(explicit, point).rank if explicit.fields else 0
    assert lie_rank(DagGenerators(net, seed=seed, prime=P), point).rank == expected


@pytest.mark.parametrize("layers,acts,bias", [((2, 3, 2), ("relu",), True), ((2, 2, 2, 1), ("linear", "relu"), False)])
def test_graph_built_mlp_matches_explicit_route(layers, acts, bias):
    G = mlp_graph(layers, acts, bias, [f"w{i}" for i in range(GraphNetwork.layered(layers, acts, bias).dim)])
    net, _ = graph_network(G)  # parameters in the graph's edge order: column-major runs
    point = np.random.default_rng(1).integers(1, P, size=net.dim)
    assert lie_rank(DagGenerators(net, seed=0, prime=P), point).rank == lie_rank(explicit_family(G, P), point).rank


def explicit_phase_family(G: nx.DiGraph, drift: Drift, p: int) -> PolynomialGenerators:
    """Explicit phase-space fields ``(s, θ, v)``: the drift, then ``(0, 0, ∇φ_key)`` per coordinate."""
    import flint

    names, coords = graph_path_lifting(G)
    D = len(names)
    ctx = flint.fmpz_mpoly_ctx.get(("u", 2 * D + 1), "deglex")
    g = ctx.gens()
    zero, one = ctx.from_dict({}), ctx.from_dict({(0,) * (2 * D + 1): 1})
    s, v = g[0], g[D + 1 :]
    if drift.kind == "exp":
        chi = [drift.a * s] + [drift.b * vj for vj in v] + [-drift.a * vj for vj in v]
    elif drift.kind == "time":
        chi = [one] + list(v) + [zero] * D
    else:
        chi = [s] + [s * vj for vj in v] + [-3 * vj for vj in v]
    fields = [tuple(chi)]
    for coord in coords:
        scale = lcm(*(c.denominator for c in coord.values()))
        f = ctx.from_dict({(0,) + m + (0,) * D: int(c * scale) for m, c in coord.items()})
        if not f.is_constant():
            fields.append(tuple([zero] * (D + 1) + [f.derivative(1 + j) for j in range(D)]))
    return PolynomialGenerators(fields, prime=p)


@pytest.mark.parametrize("drift", [Drift("exp", 1, 1), Drift("time"), Drift("nesterov")])
@pytest.mark.parametrize("seed", range(0, 40, 2))
def test_random_dag_phase_rank_equals_explicit_route(seed, drift):
    G = random_dag(seed)
    net, _ = graph_network(G)
    x = np.random.default_rng(seed).integers(1, P, size=2 * net.dim + 1)
    fam = PhaseNetworkGenerators(net, drift, seed=seed, prime=P)
    assert isinstance(fam.base, DagGenerators)
    lifts = fam.evaluate([(k,) for k in range(1, 4)], x)
    grads = DagGenerators(net, seed=seed, prime=P).evaluate([(k,) for k in range(3)], x[1 : net.dim + 1])
    assert np.array_equal(lifts[:, net.dim + 1 :], grads) and not lifts[:, : net.dim + 1].any()
    assert drift_lie_rank(fam, x).rank == lie_rank(explicit_phase_family(G, drift, P), x).rank


# -- bad input ----------------------------------------------------------------------------


def _frozen_graph(value) -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_node("x", kind="input")
    G.add_node("h", kind="hidden", activation="relu")
    G.add_node("y", kind="output")
    G.add_edge("x", "h", param="a")
    G.add_edge("h", "y", trainable=False, value=value)
    return G


def test_prime_dividing_a_frozen_denominator_is_refused():
    net, _ = graph_network(_frozen_graph("2/7"))
    with pytest.raises(InvalidArgument, match="prime=7 divides the denominator of the frozen weight 2/7"):
        DagGenerators(net, seed=0, prime=7)
    fam = DagGenerators(net, seed=0, prime=11)  # 2/7 = 2 * 8 mod 11
    v = fam.evaluate([(0,)], np.array([5]))[0, 0]
    assert v == z(0, 0, 0, 11) * z(0, 0, 1, 11) * 16 * z(0, 0, 2, 11) % 11


def test_parallel_edges_are_refused():
    net = GraphNetwork(("input", "output"), (None, None), ((0, 1, 0, None), (0, 1, 1, None)), 2)
    with pytest.raises(InvalidArgument, match="two edges 0->1"):
        DagGenerators(net, seed=0, prime=P)
