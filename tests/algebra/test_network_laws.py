"""The structural route for networks (grading, local verifier, symmetry candidates)
against the explicit route on small networks."""

import random

import pytest

import flowlaws as fl
from flowlaws.engine.fields import flint_context as _ctx, explicit_fields
from flowlaws.algebra._laws import FieldVerifier, grading_from_fields
from flowlaws.algebra._network_fields import LayeredNetwork
from flowlaws.algebra._network_laws import LocalVerifier, network_grading, structural_candidates

CASES = [
    ((2, 3, 2), ("relu",), False),
    ((2, 2, 3, 2), ("linear", "relu"), True),
    ((3, 2, 2, 2), ("linear", "linear"), True),
    ((2, 3, 3, 2), ("relu", "leaky_relu"), True),
    ((1, 2, 2, 2, 1), ("relu", "linear", "relu"), False),
]


def _add(a, b, sign=1):
    out = dict(a)
    for m, c in b.items():
        out[m] = out.get(m, 0) + sign * c
    return {m: c for m, c in out.items() if c}


@pytest.mark.parametrize("layers,acts,bias", CASES)
def test_local_verifier_agrees_with_explicit_fields(layers, acts, bias):
    model = fl.models.mlp(list(layers), list(acts), bias=bias)
    net = LayeredNetwork(layers, acts, bias)
    local = LocalVerifier(net)
    explicit = FieldVerifier(explicit_fields(model), _ctx(model.dim))
    rng = random.Random(1)
    cands = structural_candidates(net)
    cases = list(cands)
    for h in cands:  # perturbed coefficients are not laws
        k = next(iter(h))
        cases.append({**h, k: h[k] + 1})
    for a, b in zip(cands, cands[1:]):  # sums across layers stay laws
        cases.append(_add(a, b))
        cases.append(_add(a, b, -2))
    for _ in range(15):
        u, v = rng.randrange(model.dim), rng.randrange(model.dim)
        cases.append({((u, 2),) if u == v else tuple(sorted(((u, 1), (v, 1)))): 1})
    verdicts = [(local(h), explicit(h)) for h in cases]
    assert all(a == b for a, b in verdicts)
    assert all(local(h) for h in cands)


@pytest.mark.parametrize("layers,acts,bias", CASES)
def test_structural_grading_equals_the_fields_grading(layers, acts, bias):
    model = fl.models.mlp(list(layers), list(acts), bias=bias)
    structural = network_grading(LayeredNetwork(layers, acts, bias))
    from_fields = grading_from_fields(explicit_fields(model))
    for i in range(model.dim):
        for j in range(i, model.dim):
            mono = (1 << i) ^ (1 << j)
            assert (structural.reduce(mono) == structural.reduce(0)) == (from_fields.reduce(mono) == from_fields.reduce(0))
    # the same subspace: every relation of one reduces to zero in the other
    for row in from_fields.rows.values():
        assert structural.reduce(row) == 0
    for row in structural.rows.values():
        assert from_fields.reduce(row) == 0
