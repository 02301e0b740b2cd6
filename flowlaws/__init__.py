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
from ._load import load
from .laws import Law
from .sweep import sweep

__all__ = ["analyze", "compare_flows", "Result", "Law", "models", "verify", "dynamics", "errors", "load", "sweep", "__version__"]


def __getattr__(name: str) -> Any:
    # flowlaws.verify and flowlaws.dynamics load on first use: the checker and the
    # simulations stay out of the engine's import time, and the reverse.
    if name in ("verify", "dynamics"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'flowlaws' has no attribute {name!r}")
