"""What the strategies of :mod:`flowlaws.verify.strategies` share: lazy imports and argument checks.

Arguments are validated when a strategy is built (Hypothesis style), each
error naming the value, its type and what to pass instead. Hypothesis and the
model builders (:mod:`flowlaws.models`) are imported on first use only; the
size of φ is measured with the checker's own reading of ``model.to_json()``.

>>> _size("max_depth", 3, lo=1, hi=8)
3
>>> _size("max_depth", True, lo=1)
Traceback (most recent call last):
...
flowlaws.errors.InvalidArgument: max_depth=True (type=bool): expected an int; pass e.g. max_depth=3
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import InvalidArgument

#: Largest number of input-output paths (``max_width ** (max_depth + 1)``) a
#: network strategy may draw: exact law checks expand every path.
MAX_PATHS = 100_000

_ACTIVATIONS = ("linear", "relu", "leaky_relu")


# -- lazy imports -----------------------------------------------------------------------------
def _st() -> Any:
    """``hypothesis.strategies``, with a message that says how to get it."""
    try:
        from hypothesis import strategies as st
    except ImportError as err:  # pragma: no cover - hypothesis is installed with the test extra
        raise ImportError(
            "flowlaws.verify.strategies needs Hypothesis: pip install 'flowlaws[test]' (or pip install hypothesis)"
        ) from err
    return st


def _models() -> Any:
    """The public model builders, ``flowlaws.models`` (loaded on first draw)."""
    import flowlaws

    return flowlaws.models


# -- validation (Hypothesis style: at call time, naming the value and its type) ---------------
def _describe(name: str, value: Any) -> str:
    return f"{name}={value!r} (type={type(value).__name__})"


def _size(name: str, value: Any, *, lo: int = 0, hi: int | None = None, example: int = 3) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{_describe(name, value)}: expected an int; pass e.g. {name}={example}")
    if value < lo:
        raise InvalidArgument(f"{_describe(name, value)}: must be at least {lo}; pass e.g. {name}={max(lo, example)}")
    if hi is not None and value > hi:
        raise InvalidArgument(
            f"{_describe(name, value)}: must be at most {hi}; these strategies draw small models that exact "
            f"checks expand fully (build larger ones directly with flowlaws.models)"
        )
    return value


def _order(lo_name: str, lo: int, hi_name: str, hi: int) -> None:
    if lo > hi:
        raise InvalidArgument(
            f"{lo_name}={lo} > {hi_name}={hi}: {lo_name} must not exceed {hi_name}; "
            f"raise {hi_name} or lower {lo_name}"
        )


def _flag(name: str, value: Any, *, optional: bool = False) -> bool | None:
    if value is None and optional:
        return None
    if not isinstance(value, bool):
        allowed = "True, False or None (draw both)" if optional else "True or False"
        raise InvalidArgument(f"{_describe(name, value)}: expected {allowed}")
    return value


def _activations(value: Any) -> tuple[str, ...]:
    acts = (value,) if isinstance(value, str) else value
    try:
        acts = tuple(acts)
    except TypeError:
        raise InvalidArgument(
            f"{_describe('activations', value)}: expected a list of names from {list(_ACTIVATIONS)}, "
            "e.g. activations=['relu']"
        ) from None
    if not acts:
        raise InvalidArgument(
            f"activations={value!r}: give at least one activation, e.g. activations=['relu']"
        )
    for a in acts:
        if a not in _ACTIVATIONS:
            raise InvalidArgument(
                f"{_describe('activations', value)}: {a!r} is not one of {list(_ACTIVATIONS)} "
                "(only linear and positively homogeneous activations have a polynomial path-lifting)"
            )
    return tuple(dict.fromkeys(acts))


def _paths(max_width: int, layers: int, what: str) -> None:
    if max_width**layers > MAX_PATHS:
        raise InvalidArgument(
            f"{what}: up to {max_width}**{layers} = {max_width ** layers} paths, more than "
            f"MAX_PATHS={MAX_PATHS} that exact checks can expand quickly; lower max_width or the depth"
        )


def _model_variables(model: Any) -> tuple[str, ...]:
    variables = getattr(model, "variables", None)
    if variables is None or isinstance(variables, str):
        raise InvalidArgument(
            f"model={model!r} (type={type(model).__name__}): expected a flowlaws model with .variables, "
            "e.g. flowlaws.models.mlp([2, 2, 1])"
        )
    variables = tuple(variables)
    if not variables:
        raise InvalidArgument(f"model={model!r}: the model has no parameters")
    return variables


@lru_cache(maxsize=64)
def _phi_size(key: str) -> int:
    import json

    from .checker import parse_model, path_budget_problem
    from ..errors import BudgetExceeded, CertificateError

    data = json.loads(key)
    try:
        reparam = parse_model(data["model"], data["dim"])
    except CertificateError as err:
        raise InvalidArgument(f"model.to_json() is not a valid certificate model: {err}") from err
    problem = path_budget_problem(reparam)
    if problem:
        raise BudgetExceeded(problem)
    return len(reparam.coordinates())


def _phi_dim(model: Any) -> int:
    import json

    variables = _model_variables(model)
    to_json = getattr(model, "to_json", None)
    if not callable(to_json):
        raise InvalidArgument(
            f"model={model!r} (type={type(model).__name__}): expected a flowlaws model with .to_json()"
        )
    return _phi_size(json.dumps({"dim": len(variables), "model": to_json()}, sort_keys=True))
