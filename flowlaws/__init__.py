"""flowlaws: exact, certified conservation laws of training dynamics.

>>> import flowlaws as fl
>>> res = fl.analyze(fl.models.mlp([3, 4, 3], activation="relu"))
>>> res.count, res.dim, res.rank, res.complete
(4, 24, 20, True)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from . import errors, models
from ._analyze import Result, analyze, compare_flows
from .laws import Law
from ._sweep import sweep

__all__ = ["analyze", "compare_flows", "Result", "Law", "models", "verify", "dynamics", "errors", "load", "sweep", "__version__"]


def __getattr__(name: str) -> Any:
    # flowlaws.verify and flowlaws.dynamics load on first use: the checker and the
    # simulations stay out of the engine's import time, and the reverse.
    if name in ("verify", "dynamics"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'flowlaws' has no attribute {name!r}")


def load(path: str) -> dict[str, Any]:
    """Read a certificate written by ``Result.save`` (JSON only, never pickle).

    Raises
    ------
    CertificateError
        The file is not valid JSON or not a JSON object.
    """
    import json

    from .errors import CertificateError

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as err:
        raise CertificateError(f"cannot read a JSON certificate from {path!r}: {err}", step="schema") from err
    if not isinstance(data, dict):
        raise CertificateError(f"{path!r} holds a JSON {type(data).__name__}, not a certificate object", step="schema")
    return data
