"""Stage 0 of ``analyze``: the flow — its name, exact damping and metric, validated.

* gradient flow ``θ' = −M(θ)∇L`` (``M = I``, NMF's ``diag(θ)`` or a user
  matrix, :mod:`flowlaws.engine.metric`);
* heavy ball ``θ'' + τθ' = −∇L`` and Nesterov (``τ = 3/t``), which live on the
  phase space ``(s, θ, v)`` with ``s = e^{τt}`` (or ``t``)
  (``docs/certificate-format.md``, "Other flows").

Examples
--------
>>> f = check_flow("momentum", "1/2")
>>> f.tau, f.dim(3), f.variables(("a", "b", "c"))
(Fraction(1, 2), 7, ('s', 'a', 'b', 'c', "a'", "b'", "c'"))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..algebra._phase_fields import Drift
from ..errors import BudgetExceeded, DomainError, InvalidArgument
from ..models._model import Model
from ..verify.checker._flows import tau_size_error
from .metric import MatrixMetric, metric_matrix

__all__ = ["FLOWS", "SIGN_FLOWS", "ANALYZE_FLOWS", "METRICS", "Flow", "check_flow", "phase_drift", "drift_scale"]

FLOWS = ("gradient", "momentum", "nesterov")
#: Flows counted near a point from sign patterns (engine.sign_flow), not by the pipeline.
SIGN_FLOWS = ("sign", "adam")
#: Every flow ``analyze`` takes.
ANALYZE_FLOWS = FLOWS + SIGN_FLOWS
METRICS = ("euclidean", "nmf")


@dataclass(frozen=True)
class Flow:
    """A flow: ``name`` in FLOWS, exact damping ``tau`` (momentum only), ``metric``
    (a name in METRICS or a :class:`MatrixMetric`)."""

    name: str
    tau: Fraction | None = None
    metric: str | MatrixMetric = "euclidean"
    weight_decay: Fraction = Fraction(0)

    @property
    def phase(self) -> bool:
        return self.name not in ("gradient", "sign", "adam")

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
        if self.weight_decay:
            out["weight_decay"] = str(self.weight_decay)
        return out

    def __str__(self) -> str:
        text = self.name if self.name != "momentum" else f"momentum (tau={self.tau})"
        if self.weight_decay:
            text += f" + weight decay {self.weight_decay}"
        return text + ("" if self.metric == "euclidean" else f", {self.metric} metric")


def _exact_tau(tau: Any) -> Fraction:
    if isinstance(tau, bool):
        raise InvalidArgument(f"tau={tau!r}: expected an exact rational such as 1, '1/2' or Fraction(1, 2)")
    if isinstance(tau, float):
        raise DomainError(
            f"tau={tau!r} is a float{'' if math.isfinite(tau) else ' and not finite'}; "
            "pass an exact value: an int, Fraction or a string like '1/2'"
        )
    too_long = tau_size_error(tau)
    if too_long:
        raise BudgetExceeded(too_long)
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


def phase_drift(flow: Flow) -> Drift:
    """The drift ``χ_0`` of a momentum or Nesterov flow, with integer coefficients."""
    if flow.name == "nesterov":
        return Drift("nesterov")
    a, b, k = drift_scale(flow)
    return Drift("exp" if flow.tau else "time", a, b, k)


def drift_scale(flow: Flow) -> tuple[int, int, int]:
    """``(a, b, k)`` with ``τ = a/b`` and weight decay ``λ = k/b``: ``χ_0`` scaled by ``b`` has integer coefficients.

    >>> drift_scale(Flow("momentum", Fraction(1, 2), "euclidean", Fraction(1, 3)))
    (3, 6, 2)
    """
    tau = flow.tau or Fraction(0)
    lam = flow.weight_decay
    b = tau.denominator * lam.denominator // math.gcd(tau.denominator, lam.denominator)
    return int(tau * b), b, int(lam * b)
