"""Flows → generator families: what ``analyze`` brackets and what laws must annihilate.

* gradient flow ``θ' = −M(θ)∇L``: generators ``M∇φ_i`` (``M = I``, NMF's ``diag(θ)``
  or a user matrix ``M = P/q`` of rational functions, see :func:`metric_matrix`:
  generators ``P∇φ_i = q·M∇φ_i``);
* heavy ball ``θ'' + τθ' = −∇L`` and Nesterov (``τ = 3/t``): on the phase space
  ``(s, θ, v)`` with ``s = e^{τt}`` (or ``t``), the drift ``χ_0`` and the lifts
  ``(0, 0, ∇φ_i)`` (``docs/certificate-format.md``, "Other flows").

Euclidean flows of a network (gradient, momentum, Nesterov) use the
point-evaluation route (seeded combinations, jets, never listing φ); every
other case uses explicit python-flint fields (the path-lifting is expanded,
within a budget).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .algebra._network_fields import LayeredNetwork, NetworkGenerators
from .algebra._phase_fields import Drift, PhaseNetworkGenerators
from .algebra._polynomial_fields import PolynomialGenerators, sparse_gradient
from .errors import DomainError, InvalidArgument
from ._metric import MatrixMetric, metric_matrix
from .models._model import Model

__all__ = [
    "FLOWS", "METRICS", "Flow", "MatrixMetric", "metric_matrix", "check_flow", "generator_family", "explicit_fields",
    "sampler", "law_search",
]

FLOWS = ("gradient", "momentum", "nesterov")
METRICS = ("euclidean", "nmf")
_SAMPLE_OFFSET = 1 << 40  # generator indices used by the law search, apart from the rank's


@dataclass(frozen=True)
class Flow:
    """A flow: ``name`` in FLOWS, exact damping ``tau`` (momentum only), ``metric``
    (a name in METRICS or a :class:`MatrixMetric`)."""

    name: str
    tau: Fraction | None = None
    metric: str | MatrixMetric = "euclidean"

    @property
    def phase(self) -> bool:
        return self.name != "gradient"

    @property
    def time_name(self) -> str:
        return "s" if (self.name == "momentum" and self.tau) else "t"

    def dim(self, D: int) -> int:
        return 2 * D + 1 if self.phase else D

    def variables(self, params: tuple[str, ...]) -> tuple[str, ...]:
        if not self.phase:
            return params
        return (self.time_name,) + params + tuple(f"{p}'" for p in params)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.name == "momentum":
            out["tau"] = str(self.tau)
        if self.metric != "euclidean":
            out["metric"] = self.metric if isinstance(self.metric, str) else self.metric.to_json()
        return out

    def __str__(self) -> str:
        text = self.name if self.name != "momentum" else f"momentum (tau={self.tau})"
        return text + ("" if self.metric == "euclidean" else f", {self.metric} metric")


def _exact_tau(tau: Any) -> Fraction:
    if isinstance(tau, bool):
        raise InvalidArgument(f"tau={tau!r}: expected an exact rational such as 1, '1/2' or Fraction(1, 2)")
    if isinstance(tau, float):
        raise DomainError(
            f"tau={tau!r} is a float{'' if math.isfinite(tau) else ' and not finite'}; "
            "pass an exact value: an int, Fraction or a string like '1/2'"
        )
    try:
        value = Fraction(tau)
    except (TypeError, ValueError, ZeroDivisionError) as err:
        raise DomainError(f"tau={tau!r} (type={type(tau).__name__}) is not an exact rational; e.g. tau='1/2'") from err
    if value < 0:
        raise InvalidArgument(f"tau={tau!r}: the damping must be >= 0")
    return value


def check_flow(flow: Any, tau: Any = None, metric: Any = None, *, model: Model | None = None) -> Flow:
    """Validate ``flow``, ``tau`` and ``metric`` (default: the model's own metric).

    ``metric`` is a name in METRICS or a ``D×D`` matrix (see :func:`metric_matrix`,
    which needs the ``model`` for its parameter names).
    """
    if isinstance(flow, Flow):
        return flow
    if not isinstance(flow, str) or flow not in FLOWS:
        raise InvalidArgument(f"flow={flow!r}: expected one of {FLOWS}")
    if metric is None:
        metric = getattr(model, "metric", "euclidean") if model is not None else "euclidean"
    if isinstance(metric, str):
        if metric not in METRICS:
            raise InvalidArgument(
                f"metric={metric!r}: expected one of {METRICS} or a D×D matrix M(θ) (list of lists, "
                "SymPy Matrix or dict {(i, j): entry})"
            )
    else:
        if model is None:
            raise InvalidArgument("a matrix metric needs the model (its parameter names); pass model=...")
        metric = metric_matrix(metric, model.variables)
    if flow == "momentum":
        value = Fraction(1) if tau is None else _exact_tau(tau)
        return Flow("momentum", value, metric)
    if tau is not None:
        raise InvalidArgument(f"tau={tau!r}: tau is the damping of flow='momentum'; leave it unset for flow={flow!r}")
    if flow == "nesterov" and metric != "euclidean":
        raise InvalidArgument("flow='nesterov' is available with the euclidean metric only")
    return Flow(flow, None, metric)


# -- explicit fields -------------------------------------------------------------------
def _ctx(n: int):
    import flint

    return flint.fmpz_mpoly_ctx.get(("x", n), "deglex")


def explicit_fields(model: Model, flow: Flow | None = None, *, max_terms: int | None = None) -> list[dict]:
    """The generator fields of ``flow`` as sparse python-flint fields ``{variable: component}``.

    For phase-space flows field 0 is the drift ``χ_0`` and field ``k ≥ 1`` the
    lift of ``∇φ_{k-1}`` (``docs/certificate-format.md``).
    """
    flow = flow or Flow("gradient")
    kwargs = {} if max_terms is None else {"max_terms": max_terms}
    phi = model.phi_polynomials(**kwargs)
    D = model.dim
    if not flow.phase:
        ctx = _ctx(D)
        gens = ctx.gens()
        fields = [sparse_gradient(ctx.from_dict(coord)) for coord in phi if coord]
        if flow.metric == "nmf":
            fields = [{j: gens[j] * c for j, c in X.items()} for X in fields]
        elif isinstance(flow.metric, MatrixMetric):
            P = flow.metric.numerators(ctx)
            fields = [_times_matrix(P, X, 0, 0) for X in fields]
        return fields
    n = 2 * D + 1
    ctx = _ctx(n)
    g = ctx.gens()
    s, v = g[0], g[D + 1 :]
    one = ctx.from_dict({(0,) * n: 1})
    drift: dict[int, Any] = {}
    if flow.name == "momentum" and flow.tau:
        a, b = flow.tau.numerator, flow.tau.denominator
        drift[0] = a * s
        for j in range(D):
            drift[1 + j] = b * v[j]
            drift[D + 1 + j] = -a * v[j]
    elif flow.name == "momentum":
        drift[0] = one
        for j in range(D):
            drift[1 + j] = v[j]
    else:  # nesterov, multiplied by t
        drift[0] = s
        for j in range(D):
            drift[1 + j] = s * v[j]
            drift[D + 1 + j] = -3 * v[j]
    fields = [drift]
    P = flow.metric.numerators(ctx, 1) if isinstance(flow.metric, MatrixMetric) else None
    for coord in phi:
        if not coord:
            continue
        lifted = ctx.from_dict({(0,) + m + (0,) * D: c for m, c in coord.items()})
        G = sparse_gradient(lifted)  # components on θ (indices 1..D)
        if P is not None:  # (0, 0, P(θ) ∇φ): the metric at the position θ
            fields.append(_times_matrix(P, G, 1, D + 1))
            continue
        H = {}
        for j, comp in G.items():
            if flow.metric == "nmf":
                if flow.tau:
                    weight = flow.tau.numerator * g[j] + flow.tau.denominator * g[D + j]
                else:
                    weight = g[D + j]
                comp = weight * comp
            H[D + j] = comp  # θ index j (1-based) -> velocity index D + j
        fields.append(H)
    return fields


def _times_matrix(P: dict[tuple[int, int], Any], G: dict[int, Any], source: int, target: int) -> dict[int, Any]:
    """``P·G``: component ``target + i`` is ``Σ_j P_ij G[source + j]`` (zero components dropped)."""
    out: dict[int, Any] = {}
    for (i, j), pij in P.items():
        g = G.get(source + j)
        if g is not None:
            out[target + i] = out[target + i] + pij * g if target + i in out else pij * g
    return {k: v for k, v in sorted(out.items()) if not v.is_zero()}


def fields_homogeneous(fields: list[dict], weights: list[int] | None = None) -> bool:
    """True when every field ``Σ χ_e ∂_e`` shifts the (weighted) degree by one amount.

    With ``weights`` a term ``m ∂_e`` shifts by ``w·m − w_e``; without, every
    variable weighs 1 and the test is on total degree.
    """
    for X in fields:
        shifts = set()
        for e, comp in X.items():
            for m in comp.monoms():
                shifts.add(sum(mi * (weights[i] if weights else 1) for i, mi in enumerate(m)) - (weights[e] if weights else 1))
        if len(shifts) > 1:
            return False
    return True


def degree_weights(flow: Flow, D: int) -> list[int] | None:
    """Weights making the phase-space fields homogeneous when total degree does not."""
    if flow.name == "nesterov":
        return [1] + [1] * D + [0] * D
    if flow.name == "momentum" and not flow.tau:
        return [0] + [1] * D + [1] * D
    return None


def _dense(fields: list[dict], n: int) -> list[tuple]:
    zero = _ctx(n).from_dict({})
    return [tuple(X.get(v, zero) for v in range(n)) for X in fields]


def uses_network_route(model: Model, flow: Flow) -> bool:
    """True for layered networks under a euclidean flow: gradient, momentum or Nesterov.

    Such models are evaluated at points (seeded generator combinations, jets)
    and certified with ``{"kind": "network-combinations"}`` generators; the
    path-lifting is never expanded (except by the fallback law search of
    momentum flows on small networks).
    """
    return model.kind == "network" and model.layers is not None and flow.metric == "euclidean"


def phase_drift(flow: Flow) -> Drift:
    """The drift ``χ_0`` of a momentum or Nesterov flow, with integer coefficients."""
    if flow.name == "nesterov":
        return Drift("nesterov")
    if flow.tau:
        return Drift("exp", flow.tau.numerator, flow.tau.denominator)
    return Drift("time")


def generator_family(model: Model, flow: Flow | None = None, *, prime: int, seed: int, explicit: bool = False):
    """The family whose brackets give the rank.

    ``NetworkGenerators`` (gradient flow) or ``PhaseNetworkGenerators``
    (momentum, Nesterov) for the network route, ``PolynomialGenerators``
    otherwise or when ``explicit`` (explicit python-flint fields of φ).
    """
    flow = flow or Flow("gradient")
    if uses_network_route(model, flow) and not explicit:
        net = LayeredNetwork(tuple(model.layers), tuple(model.activations), bool(model.bias))
        if flow.phase:
            return PhaseNetworkGenerators(net, phase_drift(flow), seed=seed, prime=prime)
        return NetworkGenerators(net, seed=seed, prime=prime)
    fields = explicit_fields(model, flow)
    return PolynomialGenerators(_dense(fields, flow.dim(model.dim)), prime=prime, homogeneous=fields_homogeneous(fields))


def generators_json(model: Model, flow: Flow, seed: int, *, explicit: bool = False) -> dict[str, Any]:
    """The certificate's ``generators`` object for the route taken."""
    if uses_network_route(model, flow) and not explicit:
        return {"kind": "network-combinations", "seed": seed}
    return {"kind": "coordinates"}


def model_json(model: Model, flow: Flow, *, explicit: bool = False) -> dict[str, Any]:
    """The certificate's model: explicit-route certificates of networks list φ's coordinates."""
    if model.kind == "network" and (explicit or not uses_network_route(model, flow)):
        return {"kind": "polynomials", "phi": Model(variables=model.variables, kind="polynomials", name=model.name,
                                                   phi=model.phi_polynomials()).to_json()["phi"]}
    return model.to_json()


def sampler(family):
    """``sample(count, rng) -> (points, values)`` for the law search."""
    from .algebra._modular import matmul_mod

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
                vals = matmul_mod(C, gens, p)
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
    from .algebra._laws import FieldVerifier, LawSearch, grading_from_fields
    from .algebra._network_laws import LocalVerifier, network_grading, parameter_layers

    flow = flow or Flow("gradient")
    groups = None
    network = uses_network_route(model, flow) and not flow.phase and not explicit
    if network:
        grading = network_grading(family.network)
        verifier = LocalVerifier(family.network)
        groups = parameter_layers(family.network)
        homogeneous = model.homogeneous()
    else:
        fields = explicit_fields(model, flow)
        grading = grading_from_fields(fields)
        verifier = FieldVerifier(fields, _ctx(flow.dim(model.dim)))
        homogeneous = fields_homogeneous(fields)
        weights = degree_weights(flow, model.dim)
        if not homogeneous and weights is not None and not fields_homogeneous(fields, weights):
            weights = None
    return LawSearch(
        flow.dim(model.dim), sampler(family), prime=prime, homogeneous=homogeneous, grading=grading,
        verifier=verifier, max_monomials=max_monomials, seed=seed, groups=groups,
        weights=None if homogeneous or network else weights,
    )
