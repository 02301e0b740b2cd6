"""PyTorch training monitor: do the conservation laws hold in real training? (``flowlaws[torch]``)

:class:`LawMonitor` hooks an optimizer's steps and, at every step, accounts for the change of
each law: the change predicted by the exact Taylor expansion along the update the optimizer
applied (split into first order — zero for the gradient's part, non-zero for momentum, Adam or
weight decay — second order and the rest) against the change observed. See
``docs/training-drift.md``.

Importing :mod:`flowlaws` never imports this package (nor PyTorch); importing it without
PyTorch raises :class:`~flowlaws._optional.MissingDependency` naming the extra to install.
"""

from __future__ import annotations

from .._optional import require

require("torch", extra="torch", what="flowlaws.torch (the training monitor)")

from ._monitor import DriftSummary, LawMonitor  # noqa: E402

__all__ = ["LawMonitor", "DriftSummary"]
