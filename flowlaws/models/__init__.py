"""Architectures and their reparametrizations φ.

Builders return a :class:`Model`; :func:`parse` reads the CLI's spec strings.
"""

from ._builders import factorization, from_polynomials, mlp, symmetric_factorization
from ._model import Model
from ._spec import parse

__all__ = ["Model", "mlp", "factorization", "symmetric_factorization", "from_polynomials", "parse"]
