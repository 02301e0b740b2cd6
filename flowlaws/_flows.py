"""Flows → generator families: what ``analyze`` brackets and what laws must annihilate.

Gradient flow ``θ' = −∇L(θ)``: the generators are ``∇φ_i``. For a network they
are evaluated at points through seeded combinations (never listing φ); for
explicit polynomials they are the coordinates' gradients.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .algebra._network_fields import LayeredNetwork, NetworkGenerators
from .algebra._polynomial_fields import PolynomialGenerators, sparse_gradient
from .errors import InvalidArgument
from .models._model import Model

__all__ = ["FLOWS", "check_flow", "generator_family", "explicit_fields", "sampler", "law_search"]

FLOWS = ("gradient", "momentum", "nesterov")
_SAMPLE_OFFSET = 1 << 40  # generator indices used by the law search, apart from the rank's


def check_flow(flow: Any, tau: Any) -> str:
    if not isinstance(flow, str) or flow not in FLOWS:
        raise InvalidArgument(f"flow={flow!r}: expected one of {FLOWS}")
    if flow != "gradient":
        raise InvalidArgument(
            f"flow={flow!r} is not available in this version yet; use flow='gradient' "
            "(momentum and Nesterov flows are being added)"
        )
    if tau is not None:
        raise InvalidArgument(f"tau={tau!r}: tau is the damping of momentum flows; leave it unset for flow='gradient'")
    return flow


def generator_family(model: Model, *, prime: int, seed: int):
    """The family whose brackets give the rank (``NetworkGenerators`` or ``PolynomialGenerators``)."""
    if model.kind == "network":
        net = LayeredNetwork(tuple(model.layers), tuple(model.activations), bool(model.bias))
        return NetworkGenerators(net, seed=seed, prime=prime)
    zero = None
    dense = []
    for X in explicit_fields(model):
        if zero is None:
            zero = next(iter(X.values())).context().from_dict({}) if X else None
        dense.append(tuple(X.get(v, zero) for v in range(model.dim)))
    return PolynomialGenerators(dense, prime=prime, homogeneous=model.homogeneous())


def generators_json(model: Model, seed: int) -> dict[str, Any]:
    if model.kind == "network":
        return {"kind": "network-combinations", "seed": seed}
    return {"kind": "coordinates"}


def explicit_fields(model: Model, *, max_terms: int | None = None) -> list[dict]:
    """The generator fields ``∇φ_i`` as sparse python-flint fields ``{variable: component}``."""
    import flint

    kwargs = {} if max_terms is None else {"max_terms": max_terms}
    phi = model.phi_polynomials(**kwargs)
    ctx = flint.fmpz_mpoly_ctx.get(("x", model.dim), "deglex")
    return [sparse_gradient(ctx.from_dict(coord)) for coord in phi if coord]


def sampler(family):
    """``sample(count, rng) -> (points, values)`` for the law search."""
    p = family.prime
    per_point = 8
    state = {"next": _SAMPLE_OFFSET}

    def sample(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        n_points = -(-count // per_point)
        pts = rng.integers(1, p, size=(n_points, family.dim), dtype=np.int64)
        all_pts, all_vals = [], []
        for pt in pts:
            if family.finite_generators is None:
                words = [(state["next"] + i,) for i in range(per_point)]
                state["next"] += per_point
                vals = family.evaluate(words, pt)
            else:
                gens = family.evaluate([(i,) for i in range(family.finite_generators)], pt)
                C = rng.integers(0, p, size=(per_point, gens.shape[0]), dtype=np.int64)
                from .algebra._modular import matmul_mod

                vals = matmul_mod(C, gens, p)
            all_pts.append(np.broadcast_to(pt, vals.shape))
            all_vals.append(vals)
        return np.vstack(all_pts)[:count], np.vstack(all_vals)[:count]

    return sample


def law_search(model: Model, family, *, prime: int, max_monomials: int, seed: int):
    """A :class:`~flowlaws.algebra._laws.LawSearch` for the model's gradient flow.

    Networks get the structural grading and the local exact verifier (no
    path expansion); explicit polynomial models get both from their fields.
    """
    import flint

    from .algebra._laws import FieldVerifier, LawSearch, grading_from_fields
    from .algebra._network_laws import LocalVerifier, network_grading, parameter_layers

    groups = None
    if model.kind == "network":
        grading = network_grading(family.network)
        verifier = LocalVerifier(family.network)
        groups = parameter_layers(family.network)
    else:
        fields = explicit_fields(model)
        grading = grading_from_fields(fields)
        ctx = flint.fmpz_mpoly_ctx.get(("x", model.dim), "deglex")
        verifier = FieldVerifier(fields, ctx)
    return LawSearch(
        model.dim, sampler(family), prime=prime, homogeneous=model.homogeneous(), grading=grading,
        verifier=verifier, max_monomials=max_monomials, seed=seed, groups=groups,
    )
