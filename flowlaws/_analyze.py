"""``analyze``: the certified count and the explicit laws of a flow."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .algebra._laws import independent_subset
from .algebra._lie import LieRank, lie_rank
from .algebra._modular import DEFAULT_PRIME
from .errors import BudgetExceeded, FlowlawsError, InvalidArgument
from .laws import Law
from ._flows import (
    Flow, MatrixMetric, check_flow, generator_family, generators_json, law_search, model_json, uses_network_route,
)
from .algebra._network_laws import structural_candidates
from .models._model import Model

__all__ = ["analyze", "compare_flows", "Result", "SCHEMA"]

SCHEMA = "flowlaws-certificate/1"
DEFAULT_MAX_DEGREE = 4
DEFAULT_MAX_DIM = 20_000


def _word_json(word: tuple[int, ...]) -> Any:
    return word[0] if len(word) == 1 else [word[0], _word_json(word[1:])]


def _law_from_poly(h: dict, variables: tuple[str, ...], tau: Any = 0) -> Law:
    """A found law as a :class:`Law`; on the momentum phase space (``tau > 0``) a
    power ``s^k`` common to every term is factored out as ``exp(k·τ·t)``."""
    terms = [(int(c), tuple(mono)) for mono, c in h.items()]
    rate: Any = 0
    if tau:
        powers = {mono[0][1] if mono and mono[0][0] == 0 else 0 for _, mono in terms}
        if len(powers) == 1 and (k := powers.pop()):
            terms = [(c, mono[1:]) for c, mono in terms]
            rate = k * tau
    terms.sort(key=lambda t: ([v for v, _ in t[1]], [-e for _, e in t[1]]))
    return Law(tuple(terms), variables, rate)


@dataclass
class Result:
    """What :func:`analyze` proved.

    Attributes
    ----------
    count : int
        The maximal number of independent laws: exact when ``complete``,
        otherwise the proved upper bound (see ``bounds``).
    dim : int
        Dimension of the phase space.
    rank : int
        Certified lower bound of the trace dimension at the certificate's point.
    laws : list of Law
        Exact, independent laws (each checked as a polynomial identity).
    bounds : (int, int)
        ``(len(laws), dim - rank)``: proved lower and upper bounds of the count.
    complete : bool
        True when the bounds meet: the count is certified and the laws are complete.
    certificate : dict
        JSON-serialisable proof; re-check it with ``flowlaws.verify.check_certificate``.
    interrupted : bool
        True when Ctrl-C stopped the search (``analyze(..., on_interrupt="partial")``):
        the bounds are proved, the search did not finish.
    """

    model: Model
    flow: Flow
    dim: int
    rank: int
    laws: list[Law]
    certificate: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def bounds(self) -> tuple[int, int]:
        return (len(self.laws), self.dim - self.rank)

    @property
    def count(self) -> int:
        return self.dim - self.rank

    @property
    def complete(self) -> bool:
        return len(self.laws) == self.dim - self.rank

    def to_sympy(self) -> list[Any]:
        """The laws as SymPy expressions."""
        return [law.to_sympy() for law in self.laws]

    def to_json(self) -> dict[str, Any]:
        """The stable summary printed by ``flowlaws analyze --json``."""
        from ._display import group_laws

        groups = group_laws(self)
        return {
            "model": self.model.name,
            "flow": self.flow.to_json(),
            "count": self.count,
            "dim": self.dim,
            "rank": self.rank,
            "complete": self.complete,
            "bounds": list(self.bounds),
            "laws": [str(law) for law in self.laws],
            "notes": list(self.notes),
            "timings": self.timings,
            "interrupted": self.interrupted,
            "readable": [t for _, t in sorted((i, t) for g in groups for i, t in zip(g["indices"], g["text"]))],
            "groups": [
                {"kind": g["kind"], "layer": g["layer"], "laws": list(g["indices"])} for g in groups
            ],
        }

    def save(self, path: str) -> None:
        """Write the certificate as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.certificate, fh, indent=1)

    def __str__(self) -> str:
        lo, hi = self.bounds
        head = (
            f"{self.model.name} under {self.flow} flow: {self.count} independent conservation law(s), certified exact"
            if self.complete
            else f"{self.model.name} under {self.flow} flow: between {lo} and {hi} independent laws (not certified exact)"
        )
        lines = [head, f"  dim = {self.dim}, certified rank = {self.rank}"]
        lines += self._law_lines(expand=False)
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _law_lines(self, *, expand: bool) -> list[str]:
        if expand or not self.laws:
            return [f"  {law}" for law in self.laws]
        from ._display import format_groups

        return format_groups(self)

    def expanded(self) -> str:
        """Like ``str(result)`` with every law fully expanded (one per line), not grouped."""
        lines = str(self).splitlines()[:2] + self._law_lines(expand=True)
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])

    def groups(self) -> list[dict[str, Any]]:
        """The laws grouped by structure (per neuron, layer-matrix entries, other);
        see :func:`flowlaws._display.group_laws`."""
        from ._display import group_laws

        return group_laws(self)

    def to_latex(self, **options: Any) -> str:
        r"""The laws as a LaTeX ``align*`` block for a paper (``per-neuron`` and matrix forms).

        Examples
        --------
        >>> import flowlaws as fl
        >>> tex = fl.analyze(fl.models.parse("relu:3x4x3")).to_latex()
        >>> r"\lVert W_{1}[i,:]\rVert^2 - \lVert W_{2}[:,i]\rVert^2" in tex
        True
        """
        from ._display import to_latex

        return to_latex(self, **options)

    def _repr_latex_(self) -> str:
        from ._display import to_latex

        return to_latex(self, max_laws=40).split("\n", 1)[1]  # drop the % comment line

    def _repr_html_(self) -> str:
        from ._display import to_html

        return to_html(self)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value}: must be at least {minimum}")
    return int(value)


def _phase_network_start(model, family, flow, point, law_point, *, max_degree, max_monomials, seed, notes, timings,
                         progress):
    """Momentum / Nesterov on a layered network: ``(polys, basis, rank_res, search, t_laws, t_rank)``.

    The Noether charges of the linear hidden layers, verified exactly by the
    local phase verifier, then the rank of the phase fields on jets with the
    target ``dim − #charges``: when it is met the count is certified and no
    law search runs (for ReLU nets the rank alone proves 0 laws). Otherwise
    ``search`` is the generic law search on the explicit fields, when the phase
    space is small enough for its budget at degree 3 (else None, and the
    result states its bounds).
    """
    from math import comb

    from .algebra._laws import jacobian_rows
    from .algebra._lie import drift_lie_rank
    from .algebra._modular import rank_mod
    from .algebra._network_laws import PhaseLocalVerifier, momentum_candidates

    D = family.dim
    prime = family.prime
    drift = family.drift
    t = time.perf_counter()
    polys: list = []
    basis = None
    if max_degree >= 2 + drift.time_power:
        check = PhaseLocalVerifier(family.network, drift.kind, drift.a, drift.b)
        candidates = [h for h in momentum_candidates(family.network, drift.time_power) if check(h)]
        # in the regime of DESIGN section 4 the charges are independent: one dense rank proves it
        if candidates and rank_mod(jacobian_rows(candidates, law_point, prime, D), prime) == len(candidates):
            polys = candidates
        else:
            polys, basis = independent_subset(candidates, law_point, prime, D)
    t_laws = time.perf_counter() - t
    t = time.perf_counter()
    rank_res = drift_lie_rank(family, point, target=D - len(polys), progress=progress)
    t_rank = time.perf_counter() - t
    search = None
    if rank_res.rank + len(polys) < D:
        if comb(D + 2, 3) <= max_monomials:
            t = time.perf_counter()
            if basis is None:  # the search extends the charges' Jacobian basis
                polys, basis = independent_subset(polys, law_point, prime, D)
            explicit = generator_family(model, flow, prime=prime, seed=seed, explicit=True)
            search = law_search(model, explicit, flow, prime=prime, max_monomials=max_monomials, seed=seed + 1,
                                explicit=True)
            timings["setup"] = timings.get("setup", 0.0) + time.perf_counter() - t
        else:
            notes.append(
                f"only the {len(polys)} structural charge(s) were looked for: the generic law search on the "
                f"phase space of dimension {D} is over max_monomials={max_monomials} from degree 3"
            )
    return polys, basis, rank_res, search, t_laws, t_rank


def analyze(
    model: Model,
    *,
    flow: str = "gradient",
    tau: Any = None,
    metric: Any = None,
    max_degree: int | None = None,
    max_dim: int = DEFAULT_MAX_DIM,
    max_monomials: int = 60_000,
    seed: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
    on_interrupt: str = "raise",
) -> Result:
    """Count, find and certify the conservation laws of a flow.

    Parameters
    ----------
    model : Model
        From :mod:`flowlaws.models`.
    flow : {"gradient", "momentum", "nesterov"}
        Gradient flow, heavy-ball momentum ``θ'' + τθ' = −∇L`` or Nesterov's
        ``θ'' + (3/t)θ' = −∇L``; momentum flows live on the phase space
        ``(s = e^{τt} or t, θ, θ')`` of dimension ``2D + 1``.
    tau : int, Fraction or str, optional
        The exact damping ``τ ≥ 0`` of ``flow="momentum"`` (default 1); floats are refused.
    metric : {"euclidean", "nmf"}, list of lists, SymPy Matrix or dict, optional
        Mirror metric ``M(θ)`` of ``θ' = −M(θ)∇L`` (momentum: ``θ'' + τθ' = −M(θ)∇L``):
        ``"nmf"`` is ``diag(θ)``; a ``D×D`` matrix (rows of entries, or a sparse
        dict ``{(i, j): entry}``) of ints, Fractions, strings such as
        ``"1/(1 + x0^2)"`` or SymPy expressions in the parameters is a user metric
        (see ``docs/flows.md``, "Your own metric"). Default: the model's own
        (``models.nmf`` carries ``"nmf"``), else euclidean.
    max_degree : int, optional
        Largest degree of the law search (default 4); the search stops earlier
        as soon as the laws found meet the proved upper bound.
    max_dim : int
        Budget: refuse models with more parameters.
    max_monomials : int
        Budget of unknown coefficients per degree of the law search.
    seed : int
        Seeds the point, the prime's generator combinations and the sampling.
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
    if not isinstance(model, Model):
        raise InvalidArgument(
            f"model={model!r} (type={type(model).__name__}): build one with flowlaws.models.mlp, "
            "factorization, from_polynomials or parse"
        )
    flow = check_flow(flow, tau, metric, model=model if isinstance(model, Model) else None)
    if max_degree is None:  # Nesterov's laws carry t^3: degree 5
        max_degree = DEFAULT_MAX_DEGREE + (1 if flow.name == "nesterov" else 0)
    else:
        max_degree = _check_int("max_degree", max_degree, 1)
    seed = _check_int("seed", seed, 0)
    if on_interrupt not in ("raise", "partial"):
        raise InvalidArgument(f"on_interrupt={on_interrupt!r}: expected 'raise' or 'partial'")
    if model.dim > max_dim:
        raise BudgetExceeded(
            f"{model.name} has D={model.dim} parameters, over max_dim={max_dim}; pass a larger max_dim to try"
        )
    D = flow.dim(model.dim)
    variables = flow.variables(model.variables)
    prime = DEFAULT_PRIME
    rng = np.random.default_rng(seed)
    point = rng.integers(1, prime, size=D, dtype=np.int64)
    law_point = rng.integers(1, prime, size=D, dtype=np.int64)
    if isinstance(flow.metric, MatrixMetric):  # the rank point must not make the metric's denominator vanish
        while not flow.metric.denominator_at(point[1 : model.dim + 1] if flow.phase else point, prime):
            point = rng.integers(1, prime, size=D, dtype=np.int64)
    timings: dict[str, float] = {}
    notes: list[str] = []

    t0 = time.perf_counter()
    family = generator_family(model, flow, prime=prime, seed=seed)
    # momentum / Nesterov on a network: structural charges and the phase rank first (see below)
    phase_network = uses_network_route(model, flow) and flow.phase
    search = None if phase_network else law_search(model, family, flow, prime=prime, max_monomials=max_monomials,
                                                   seed=seed + 1)
    degrees = range(1, max_degree + 1)
    timings["setup"] = time.perf_counter() - t0

    polys: list = []
    basis = None
    rank_res = None
    t_laws = t_rank = 0.0
    interrupted = False
    try:
        if phase_network:
            polys, basis, rank_res, search, t_laws, t_rank = _phase_network_start(
                model, family, flow, point, law_point, max_degree=max_degree, max_monomials=max_monomials,
                seed=seed, notes=notes, timings=timings, progress=progress,
            )
        elif uses_network_route(model, flow) and max_degree >= 2:
            # fast path: the laws the architecture's symmetries suggest, verified exactly
            t = time.perf_counter()
            candidates = [h for h in structural_candidates(family.network) if search.verifier(h)]
            polys, basis = independent_subset(candidates, law_point, prime, D)
            t_laws += time.perf_counter() - t
            if polys:
                t = time.perf_counter()
                rank_res = lie_rank(family, point, target=D - len(polys), progress=progress)
                t_rank += time.perf_counter() - t
                if rank_res.rank + len(polys) == D:
                    search = None  # certified: no generic search needed
                else:
                    polys, basis, rank_res = [], None, None
        for degree in degrees if search is not None or rank_res is None else ():
            if search is not None:
                t = time.perf_counter()
                try:
                    new = search.laws_of_degree(degree)
                except BudgetExceeded as err:
                    notes.append(f"law search stopped before degree {degree}: {err}")
                    search = None
                    new = []
                kept, basis = independent_subset(new, law_point, prime, D, basis)
                polys += kept
                t_laws += time.perf_counter() - t
                if progress is not None:
                    progress(f"laws of degree {degree}", len(polys), D)
            if degree < min(2, max_degree) and search is not None:
                continue
            if rank_res is None or (rank_res.rank < D - len(polys) and not rank_res.saturated and not phase_network):
                t = time.perf_counter()
                rank_res = lie_rank(family, point, target=D - len(polys), progress=progress)
                t_rank += time.perf_counter() - t
            if rank_res.rank + len(polys) > D:
                raise FlowlawsError(
                    f"internal inconsistency: rank {rank_res.rank} + {len(polys)} laws > D={D}; please report this"
                )
            if rank_res.rank + len(polys) == D or search is None:
                break
    except KeyboardInterrupt:
        if on_interrupt != "partial":
            raise
        interrupted = True  # polys and rank_res only ever hold proved, verified values
        notes.append("interrupted: partial result; its bounds are proved but the search did not finish")
    if rank_res is None:  # interrupted before any bracket was evaluated: the trivial bound dim
        rank_res = LieRank(rank=0, words=[])
    timings["laws"] = t_laws
    timings["rank"] = t_rank
    if search is not None and search.rejected:
        notes.append(f"{search.rejected} sampled candidate(s) failed the exact check and were dropped")
    time_rate = flow.tau if (flow.name == "momentum" and flow.tau) else 0
    laws = [_law_from_poly(h, variables, time_rate) for h in polys]
    if rank_res.rank + len(laws) < D and not interrupted:
        notes.append(
            f"the count is between {len(laws)} and {D - rank_res.rank}: laws of degree <= {max_degree} "
            f"do not reach the upper bound{'' if rank_res.saturated else ' and the bracket search stopped at its depth limit'}"
        )
    from . import __version__

    lo, hi = len(laws), D - rank_res.rank
    certificate = {
        "schema": SCHEMA,
        "library": {"name": "flowlaws", "version": __version__},
        "dim": D,
        "variables": list(variables),
        "model": model_json(model, flow),
        "flow": flow.to_json(),
        "generators": generators_json(model, flow, seed),
        "rank": {
            "prime": prime,
            "point": [int(v) for v in point],
            "words": [_word_json(w) for w in rank_res.words],
            "value": rank_res.rank,
        },
        "laws": [[[str(c), [[v, e] for v, e in mono]] for mono, c in sorted(h.items())] for h in polys],
        "independence": {"prime": prime, "point": [int(v) for v in law_point], "value": len(laws)},
        "bounds": {"lower": lo, "upper": hi},
        "count": hi,
        "complete": lo == hi,
        "timings": {k: round(v, 6) for k, v in timings.items()},
        "meta": {  # information only: the checker ignores it for the proof
            "model_name": model.name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "interrupted": interrupted,
        },
    }
    return Result(model=model, flow=flow, dim=D, rank=rank_res.rank, laws=laws, certificate=certificate,
                  timings=timings, notes=notes, interrupted=interrupted)


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
