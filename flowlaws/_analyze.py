"""``analyze``: the certified count and the explicit laws of a flow, as a pipeline of stages.

::

    pose            (engine/problem.py)      the validated question: flow, points, prime, budgets
    generator_family(engine/family.py)       what to bracket: network route (jets) or explicit fields
    law_search      (engine/search.py)       the exact search's samples, grading and verifier
    structural laws (engine/structural.py)   network route: symmetry laws, rank towards dim − #laws
    search_by_degree(engine/degree_search.py) laws degree by degree, the rank as upper bound
    certificate     (engine/certificate.py)  the JSON proof, re-checked by flowlaws.verify
    Result          (_result.py)             count, bounds, laws, displays

Every stage passes a frozen :class:`~flowlaws.engine.bounds.Bounds` on; see ``docs/architecture.md``.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from .algebra._lie import LieRank
from .engine.bounds import Bounds
from .engine.certificate import SCHEMA, certificate
from .engine.degree_search import search_by_degree
from .engine.constant import constant_phi_bounds, constant_phi_stage
from .engine.darboux import darboux_stage
from .engine.family import generator_family, uses_network_route
from .engine.frobenius import frobenius_stage
from .engine.problem import DEFAULT_MAX_DEGREE, DEFAULT_MAX_DIM, pose
from .engine.search import law_search
from .engine.time_charges import time_charges_stage
from .engine.triangular import triangular_stage
from .engine.structural import gradient_structural_laws, phase_structural_laws
from .errors import InvalidArgument
from ._result import Result, law_from_poly, log_law_from_dict
from .models._model import Model

__all__ = ["analyze", "compare_flows", "Result", "SCHEMA", "DEFAULT_MAX_DEGREE", "DEFAULT_MAX_DIM"]


def analyze(
    model: Model,
    *,
    flow: str = "gradient",
    tau: Any = None,
    metric: Any = None,
    weight_decay: Any = None,
    max_degree: int | None = None,
    max_dim: int = DEFAULT_MAX_DIM,
    max_monomials: int = 60_000,
    seed: int = 0,
    rank_proof: str = "auto",
    progress: Callable[[str, int, int], None] | None = None,
    on_interrupt: str = "raise",
) -> Result:
    """Count, find and certify the conservation laws of a flow.

    Parameters
    ----------
    model : Model
        From :mod:`flowlaws.models`.
    flow : {"gradient", "momentum", "nesterov", "sign", "adam"}
        Gradient flow, heavy-ball momentum ``θ'' + τθ' = −∇L`` or Nesterov's
        ``θ'' + (3/t)θ' = −∇L``; momentum flows live on the phase space
        ``(s = e^{τt} or t, θ, θ')`` of dimension ``2D + 1``. ``"sign"`` is sign-GD
        ``θ' = −sign(∇L)`` and ``"adam"`` the Adam-type flow ``θ' = −P(t)∇L`` (``P`` any
        positive diagonal): their laws are counted near a point (``docs/flows.md``).
    tau : int, Fraction or str, optional
        The exact damping ``τ ≥ 0`` of ``flow="momentum"`` (default 1); floats are refused.
    metric : {"euclidean", "nmf"}, list of lists, SymPy Matrix or dict, optional
        Mirror metric ``M(θ)`` of ``θ' = −M(θ)∇L`` (momentum: ``θ'' + τθ' = −M(θ)∇L``):
        ``"nmf"`` is ``diag(θ)``; a ``D×D`` matrix (rows of entries, or a sparse
        dict ``{(i, j): entry}``) of ints, Fractions, strings such as
        ``"1/(1 + x0^2)"`` or SymPy expressions in the parameters is a user metric
        (see ``docs/flows.md``, "Your own metric"). Default: the model's own
        (``models.nmf`` carries ``"nmf"``), else euclidean.
    weight_decay : int, Fraction or str, optional
        Exact ``λ ≥ 0`` of ``θ' = −∇L − λθ`` (gradient flow, phase space ``(s = e^{λt}, θ)``)
        or ``θ'' + τθ' = −∇L − λθ`` (momentum); floats are refused, ``0`` is the plain flow
        (see ``docs/flows.md``, "Weight decay").
    max_degree : int, optional
        Largest degree of the law search (default 4); the search stops earlier
        as soon as the laws found meet the proved upper bound.
    max_dim : int
        Budget: refuse models with more parameters.
    max_monomials : int
        Budget of unknown coefficients per degree of the law search.
    seed : int
        Seeds the point, the prime's generator combinations and the sampling.
    rank_proof : {"auto", "dense", "triangular"}
        How the rank is proved: ``"dense"`` brackets words and takes a dense rank mod p;
        ``"triangular"`` (layered ReLU / leaky-ReLU MLPs under gradient flow) lists one path
        per pivot so that the checker's work is linear in ``D`` (``engine/triangular.py``);
        ``"auto"`` takes the triangular route for such models from 2,000 parameters on.
    progress : callable, optional
        ``progress(stage, done, total)``.
    on_interrupt : {"raise", "partial"}
        What Ctrl-C (``KeyboardInterrupt``) during the search does: propagate it (default), or
        return the partial result proved so far (``interrupted`` is True, ``complete`` usually
        False, and its certificate proves the bounds it states).

    Returns
    -------
    Result

    Raises
    ------
    InvalidArgument
        Not a model, unknown flow, bad options, a metric of the wrong shape, with
        unknown names or a zero row.
    DomainError
        A float ``tau`` or a float metric entry.
    BudgetExceeded
        More than ``max_dim`` parameters.

    Examples
    --------
    >>> import flowlaws as fl
    >>> res = fl.analyze(fl.models.mlp([2, 2, 1], activation="relu"))
    >>> res.count, res.complete
    (2, True)
    >>> print(res.laws[0])
    W1[0,0]^2 + W1[0,1]^2 - W2[0,0]^2
    """
    if on_interrupt not in ("raise", "partial"):
        raise InvalidArgument(f"on_interrupt={on_interrupt!r}: expected 'raise' or 'partial'")
    if flow in ("sign", "adam"):  # local laws near a point, not a Lie-algebra count (docs/flows.md)
        from ._sign import analyze_sign

        if tau is not None or metric is not None or weight_decay:
            raise InvalidArgument(f"flow={flow!r} takes no tau, metric or weight_decay")
        return analyze_sign(model, flow, seed=seed, max_dim=max_dim)
    if weight_decay is not None:
        from ._weight_decay import analyze_weight_decay

        return analyze_weight_decay(analyze, model, weight_decay, flow=flow, tau=tau, metric=metric, max_degree=max_degree,
                                    max_dim=max_dim, max_monomials=max_monomials, seed=seed, progress=progress,
                                    on_interrupt=on_interrupt)
    problem = pose(model, flow=flow, tau=tau, metric=metric, max_degree=max_degree, max_dim=max_dim,
                   max_monomials=max_monomials, seed=seed, rank_proof=rank_proof)
    if (constant := constant_phi_bounds(problem)) is not None:
        return _result(problem, constant, False)
    t = time.perf_counter()
    triangular = problem.rank_proof == "triangular"  # the network's graph is never built
    family = None if triangular else generator_family(problem.model, problem.flow, prime=problem.prime, seed=problem.seed)
    network, phase = not triangular and uses_network_route(problem.model, problem.flow), problem.flow.phase
    search = None if (network and phase) or triangular else law_search(
        problem.model, family, problem.flow, prime=problem.prime, max_monomials=problem.max_monomials,
        seed=problem.seed + 1)
    bounds = Bounds(search=search, seconds={"setup": time.perf_counter() - t, "laws": 0.0, "rank": 0.0})
    stages = []
    if triangular:
        stages.append(triangular_stage)
    elif network:
        stages.append(phase_structural_laws if phase else gradient_structural_laws)
    stages.append(time_charges_stage)
    stages.append(lambda pb, fam, b, pr: search_by_degree(pb, fam, b, pr, fixed_rank=network and phase))
    stages += [darboux_stage, frobenius_stage, constant_phi_stage]
    interrupted = False
    try:
        for stage in stages:
            for bounds in stage(problem, family, bounds, progress):
                pass
    except KeyboardInterrupt:
        if on_interrupt != "partial":
            raise
        interrupted = True  # bounds only ever holds proved, verified values
        bounds = bounds.note("interrupted: partial result; its bounds are proved but the search did not finish")
    return _result(problem, bounds, interrupted)


def _result(problem, bounds: Bounds, interrupted: bool) -> Result:
    """The :class:`Result` of the final bounds, with the notes a reader needs."""
    if bounds.rank is None:  # interrupted before any bracket was evaluated: the trivial bound dim
        bounds = bounds.with_rank(LieRank(rank=0, words=[]))
    if bounds.search is not None and bounds.search.rejected:
        bounds = bounds.note(f"{bounds.search.rejected} sampled candidate(s) failed the exact check and were dropped")
    lo, hi = len(bounds.laws) + len(bounds.log_laws), problem.dim - bounds.rank_value
    if lo < hi and not interrupted and bounds.frobenius is None:
        bounds = bounds.note(
            f"the count is between {lo} and {hi}: laws of degree <= {problem.max_degree} do not reach the upper "
            f"bound{'' if bounds.rank.saturated else ' and the bracket search stopped at its depth limit'}"
        )
    rate = problem.flow.tau if (problem.flow.name == "momentum" and problem.flow.tau) else 0
    laws = (bounds.laws.law_objects(problem.variables) if hasattr(bounds.laws, "law_objects")  # built on access
            else [law_from_poly(h, problem.variables, rate) for h in bounds.laws])
    return Result(model=problem.model, flow=problem.flow, dim=problem.dim, rank=bounds.rank_value, laws=laws,
                  certificate=certificate(problem, bounds, interrupted=interrupted), timings=dict(bounds.seconds),
                  notes=[*getattr(problem.model, "notes", ()), *bounds.notes],  # what an import idealized
                  interrupted=interrupted, frobenius=bounds.frobenius is not None,
                  nonpolynomial_laws=[log_law_from_dict(h, problem.variables) for h in bounds.log_laws])


def compare_flows(
    model: Model, *, flows: tuple[tuple[str, Any], ...] = (("gradient", None), ("momentum", 1), ("momentum", 0), ("nesterov", None)),
    **options: Any,
) -> list[dict[str, Any]]:
    """The count of laws under several flows side by side (the "conservation loss" table).

    Parameters
    ----------
    model : Model
    flows : sequence of (flow, tau)
        Default: gradient, momentum with τ = 1 and τ = 0, Nesterov.
    **options
        Passed to :func:`analyze` (e.g. ``max_degree``).

    Returns
    -------
    list of dict
        One row per flow: ``flow``, ``tau``, ``dim``, ``count``, ``rank``, ``complete``,
        ``laws`` (strings), ``seconds``; or ``error`` for a flow the model does not support.

    Examples
    --------
    >>> import flowlaws as fl
    >>> rows = compare_flows(fl.models.mlp([2, 2, 1], activation="relu"), flows=(("gradient", None), ("momentum", 1)))
    >>> [(r["flow"], r["count"]) for r in rows]
    [('gradient', 2), ('momentum', 0)]
    """
    rows = []
    for name, tau in flows:
        t = time.perf_counter()
        try:
            res = analyze(model, flow=name, tau=tau, **options)
        except InvalidArgument as err:  # a flow this model does not support (e.g. Nesterov with a metric)
            rows.append({"flow": name, "tau": None if tau is None else str(tau), "error": str(err)})
            continue
        rows.append({
            "flow": name, "tau": None if tau is None else str(tau), "dim": res.dim, "count": res.count,
            "rank": res.rank, "complete": res.complete, "bounds": list(res.bounds),
            "laws": [str(law) for law in res.laws], "seconds": round(time.perf_counter() - t, 4),
        })
    return rows
