"""The exact law search's set-up: samples of the generators, grading, exact verifier.

:func:`law_search` builds a :class:`~flowlaws.algebra._laws.LawSearch` for a
model's flow: networks under gradient flow get the structural grading and
the local exact verifier (no path expansion); everything else gets both from
its explicit fields.
"""

from __future__ import annotations

import numpy as np

from ..models._model import Model
from .family import uses_network_route
from .fields import degree_weights, explicit_fields, fields_homogeneous, flint_context
from .flow import Flow

__all__ = ["sampler", "law_search"]

_SAMPLE_OFFSET = 1 << 40  # generator indices used by the law search, apart from the rank's


def sampler(family):
    """``sample(count, rng) -> (points, values)`` for the law search."""
    from ..algebra._modular import matmul_mod

    from ..algebra._modular import rank_mod

    p = family.prime
    state = {"next": _SAMPLE_OFFSET, "per_point": 8}

    def sample(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        per_point = state["per_point"]
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
                vals = matmul_mod(C, gens, p)
            if "measured" not in state:
                # a family spanning fewer than 8 directions at a point (a scalar φ has one) gives
                # dependent rows: sample as many points as rows then, or the nullspace is spurious
                state["measured"] = True
                state["per_point"] = max(1, min(per_point, rank_mod(vals % p, p)))
            all_pts.append(np.broadcast_to(pt, vals.shape))
            all_vals.append(vals)
        return np.vstack(all_pts)[:count], np.vstack(all_vals)[:count]

    return sample


def law_search(model: Model, family, flow: Flow | None = None, *, prime: int, max_monomials: int, seed: int,
               explicit: bool = False):
    """A :class:`~flowlaws.algebra._laws.LawSearch` for the model's flow.

    Euclidean gradient flow of a network gets the structural grading and the
    local exact verifier (no path expansion); everything else gets both from
    its explicit fields. ``family`` provides the samples: for momentum flows
    pass the explicit family (``generator_family(..., explicit=True)``).
    """
    from ..algebra._laws import FieldVerifier, LawSearch, grading_from_fields
    from ..algebra._dag_candidates import parameter_levels
    from ..algebra._dag_laws import DagLocalVerifier, dag_grading

    flow = flow or Flow("gradient")
    groups = None
    network = uses_network_route(model, flow) and not flow.phase and not explicit
    if network:
        grading = dag_grading(family.network)
        verifier = DagLocalVerifier(family.network)
        groups = parameter_levels(family.network)
        homogeneous = model.homogeneous()
    else:
        fields = explicit_fields(model, flow)
        grading = grading_from_fields(fields)
        verifier = FieldVerifier(fields, flint_context(flow.dim(model.dim)))
        homogeneous = fields_homogeneous(fields)
        weights = degree_weights(flow, model.dim)
        if not homogeneous and weights is not None and not fields_homogeneous(fields, weights):
            weights = None
    return LawSearch(
        flow.dim(model.dim), sampler(family), prime=prime, homogeneous=homogeneous, grading=grading,
        verifier=verifier, max_monomials=max_monomials, seed=seed, groups=groups,
        weights=None if homogeneous or network else weights,
    )
