"""The phase space of a flow on a model, for :func:`~flowlaws.verify.is_conserved`.

A :class:`_PhaseSpace` holds the coordinates (parameters, or time, parameters
and velocities for momentum and Nesterov) and the generator fields ``χ`` over
Z, built by the checker's own code (:mod:`flowlaws.verify.checker`) from
``model.to_json()``; :func:`_space` caches it per model and flow.

>>> from flowlaws.verify.checker._flows import FlowSpec
>>> class Product:
...     variables = ("u", "v")
...     def to_json(self):
...         return {"kind": "polynomials", "phi": [[["1", [[0, 1], [1, 1]]]]]}
>>> space = _space(_model_key(Product()), FlowSpec("momentum", "euclidean", 1))
>>> space.variables, [f.label for f in space.fields][1:]
(('s', 'u', 'v', "u'", "v'"), ['(0, 0, grad phi[0])'])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import BudgetExceeded, CertificateError, InvalidArgument
from .checker import parse_model, path_budget_problem
from .checker._flows import FlowSpec, law_fields
from .checker._polys import Field


@dataclass(frozen=True)
class _FlowField:
    index: int
    label: str
    components: Field  # over Z


@dataclass(frozen=True)
class _PhaseSpace:
    spec: FlowSpec
    params: tuple[str, ...]
    variables: tuple[str, ...]
    fields: tuple[_FlowField, ...]

    @property
    def flow(self) -> str:
        return self.spec.name

    @property
    def time_index(self) -> int | None:
        """Index of ``s``/``t`` (``None`` for gradient flows)."""
        return 0 if self.spec.has_drift else None

    @property
    def positive(self) -> frozenset[int]:
        """Coordinates whose counterexample values are taken positive: the time (``s = e^{τt} > 0``,
        ``t > 0``) and, under the NMF metric, the parameters (``θ > 0``)."""
        out = set()
        if self.spec.has_drift:
            out.add(0)
        if self.spec.metric == "nmf":
            start = 1 if self.spec.has_drift else 0
            out.update(range(start, start + len(self.params)))
        return frozenset(out)


def _model_key(model: Any) -> str:
    variables = getattr(model, "variables", None)
    to_json = getattr(model, "to_json", None)
    if variables is None or not callable(to_json):
        raise InvalidArgument(
            f"model={type(model).__name__}: expected a flowlaws model with .variables and .to_json() "
            "(for example fl.models.mlp([2, 2, 1]))"
        )
    variables = tuple(variables)
    if not variables or not all(isinstance(v, str) for v in variables):
        raise InvalidArgument(f"model.variables must be a non-empty sequence of str, got {variables[:5]!r}")
    if len(set(variables)) != len(variables):
        raise InvalidArgument("model.variables has repeated names; each coordinate needs its own name")
    data = to_json()
    try:
        return json.dumps({"variables": list(variables), "model": data}, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise InvalidArgument(f"model.to_json() is not JSON-serialisable: {err}") from err


def _gradient_coordinates(key: str) -> tuple[tuple[str, ...], tuple[tuple[str, Field], ...]]:
    """The parameter names and ``(description, ∇φ_k)`` over Z of a model."""
    data = json.loads(key)
    variables = tuple(data["variables"])
    try:
        reparam = parse_model(data["model"], len(variables))
    except CertificateError as err:
        raise InvalidArgument(f"model.to_json() is not a valid certificate model: {err}") from err
    problem = path_budget_problem(reparam)
    if problem:
        raise BudgetExceeded(problem)
    return variables, tuple((desc, grad) for desc, _phi, grad in reparam.coordinate_gradients())


@lru_cache(maxsize=32)
def _space(key: str, spec: FlowSpec) -> _PhaseSpace:
    params, coords = _gradient_coordinates(key)
    if spec.has_drift:
        reserved = sorted({"s", "t"} & set(params))
        if reserved:
            raise InvalidArgument(
                f"parameters named {reserved}: under the {spec.describe()} 's' and 't' denote time "
                "(s = exp(tau*t)); rename those parameters"
            )
    variables = tuple(spec.phase_names(params))
    if len(set(variables)) != len(variables):
        seen: set[str] = set()
        clash = [v for v in variables if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
        raise InvalidArgument(
            f"the {spec.describe()} has the phase coordinates {spec.time_name!r}, the parameters and their "
            f"velocities (name + \"'\"), but the names {clash[:3]} clash; rename those parameters"
        )
    fields = tuple(_FlowField(i, label, chi) for i, label, chi in law_fields(spec, len(params), coords))
    return _PhaseSpace(spec, params, variables, fields)


#: The cache of :func:`_space` under its historical name (``_gradient_space.cache_clear()``).
_gradient_space = _space


def _parameter_space(variables: Sequence[str]) -> _PhaseSpace:
    """A gradient-flow phase space on ``variables`` without fields (for parsing only)."""
    names = tuple(variables)
    return _PhaseSpace(FlowSpec("gradient"), names, names, ())
