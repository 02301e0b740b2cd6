"""The one error tree of flowlaws.

Every public function raises a subclass of :class:`FlowlawsError` with a
message that names the bad value and says what to do instead.

Examples
--------
>>> import flowlaws as fl
>>> try:
...     fl.models.mlp([2, 0, 2])
... except fl.errors.InvalidArgument as err:
...     print(type(err).__name__)
InvalidArgument
"""

from __future__ import annotations

__all__ = [
    "FlowlawsError",
    "InvalidArgument",
    "DomainError",
    "UnsupportedArchitecture",
    "CertificateError",
    "BudgetExceeded",
]


class FlowlawsError(Exception):
    """Base class of every error raised on purpose by flowlaws."""


class InvalidArgument(FlowlawsError, ValueError, TypeError):
    """An argument has the wrong type, size or value (also a ValueError/TypeError)."""


class DomainError(InvalidArgument):
    """A value is not exact (float, NaN, inf) where an exact number is needed."""


class UnsupportedArchitecture(InvalidArgument):
    """The architecture cannot be turned into a polynomial reparametrization."""


class CertificateError(FlowlawsError):
    """A certificate is malformed or does not prove its claim.

    ``step`` names the verification step that failed (for example ``"rank"``).
    """

    def __init__(self, message: str, *, step: str = "schema") -> None:
        super().__init__(f"[{step}] {message}")
        self.step = step


class BudgetExceeded(FlowlawsError):
    """The requested computation is larger than the stated budget."""
