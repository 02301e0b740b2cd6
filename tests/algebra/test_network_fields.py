"""The point-evaluation route (jets over backprop) against explicit polynomial brackets."""

import flint
import numpy as np
import pytest

import flowlaws as fl
from flowlaws.algebra import PolynomialGenerators, lie_rank
from flowlaws.algebra._modular import DEFAULT_PRIME, splitmix_values
from flowlaws.algebra._network_fields import HOMOGENEOUS, LayeredNetwork, NetworkGenerators
from flowlaws.algebra._polynomial_fields import gradient
from flowlaws.models._paths import path_lifting

P = DEFAULT_PRIME


def combination_polynomial(net: LayeredNetwork, seed: int, a: int, ctx):
    """F_a = Σ_key c_key(a) φ_key, from an independent path enumeration with keys."""
    layers, acts = net.layers, net.activations
    offsets = [sum(layers[:l]) for l in range(len(layers) + 1)]

    def z(v):
        return int(splitmix_values(seed, np.array([a]), np.array([v]), P)[0])

    # enumerate all paths explicitly (inputs and bias entries) with their monomials
    slices = net.slices()
    total = ctx.from_dict({})
    gens = ctx.gens()

    def walk(layer, node, mono, coef):
        nonlocal total
        if layer == len(layers) - 1:
            total += coef * z(offsets[layer] + node) * mono
            return
        nxt = layer + 1
        ws, _ = slices[nxt - 1]
        for i in range(layers[nxt]):
            g = z(offsets[nxt] + i) if (nxt < len(layers) - 1 and acts[nxt - 1] in HOMOGENEOUS) else 1
            walk(nxt, i, mono * gens[ws.start + i * layers[layer] + node], coef * g)

    for j in range(layers[0]):
        walk(0, j, ctx.from_dict({(0,) * net.dim: 1}), z(offsets[0] + j))
    if net.bias:
        for l, (_, bs) in enumerate(slices, start=1):
            for i in range(layers[l]):
                g = z(offsets[l] + i) if (l < len(layers) - 1 and acts[l - 1] in HOMOGENEOUS) else 1
                walk(l, i, gens[bs.start + i], z(offsets[-1]) * g)
    return total


@pytest.mark.parametrize(
    "layers,acts,bias",
    [((2, 2, 2), ("linear",), False), ((2, 3, 1), ("relu",), True), ((1, 2, 2, 1), ("relu", "linear"), True)],
)
def test_words_match_explicit_brackets(layers, acts, bias):
    net = LayeredNetwork(layers, acts, bias)
    seed = 3
    fam = NetworkGenerators(net, seed=seed, prime=P)
    ctx = flint.fmpz_mpoly_ctx.get(("x", net.dim), "deglex")
    fields = [gradient(combination_polynomial(net, seed, a, ctx), net.dim) for a in range(4)]
    explicit = PolynomialGenerators(fields, prime=P)
    point = np.random.default_rng(0).integers(1, P, size=net.dim)
    words = [(0,), (1,), (0, 1), (2, 0, 1), (3, 2, 0, 1)]
    assert (fam.evaluate(words, point) == explicit.evaluate(words, point)).all()


@pytest.mark.parametrize("spec", ["linear:2x3x2", "relu:2x3x2", "relu+bias:2x2x2", "linear:2x2x2x2"])
def test_both_routes_reach_the_same_rank(spec):
    model = fl.models.parse(spec)
    net = LayeredNetwork(model.layers, model.activations, model.bias)
    point = np.random.default_rng(1).integers(1, P, size=model.dim)
    network_rank = lie_rank(NetworkGenerators(net, seed=0, prime=P), point).rank
    ctx = flint.fmpz_mpoly_ctx.get(("x", model.dim), "deglex")
    phi = path_lifting(model.layers, model.activations, model.bias, max_terms=10**5)
    fields = [gradient(ctx.from_dict(c), model.dim) for c in phi]
    explicit_rank = lie_rank(PolynomialGenerators(fields, prime=P), point).rank
    assert network_rank == explicit_rank
