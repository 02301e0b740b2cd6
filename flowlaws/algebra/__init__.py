"""The exact engine: polynomial vector fields, brackets, ranks mod p, laws.

Public names are re-exported here; the implementation lives in private modules
(``_modular``: linear algebra mod p; ``_jets``: Taylor arithmetic;
``_polynomial_fields``: explicit fields with python-flint; ``_network_fields``:
network generators evaluated at a point; ``_lie``: trace dimension;
``_laws``: exact law search).
"""

from ._lie import LieRank, lie_rank
from ._laws import LawSearch, independent_subset, jacobian_rows
from ._modular import (
    DEFAULT_PRIME,
    IncrementalBasis,
    matmul_mod,
    nullspace_rref_mod,
    rank_mod,
    rational_reconstruction,
)
from ._network_fields import LayeredNetwork, NetworkGenerators
from ._polynomial_fields import PolynomialGenerators, bracket, evaluate_field, gradient

__all__ = [
    "DEFAULT_PRIME",
    "IncrementalBasis",
    "LawSearch",
    "LayeredNetwork",
    "LieRank",
    "NetworkGenerators",
    "PolynomialGenerators",
    "bracket",
    "evaluate_field",
    "gradient",
    "independent_subset",
    "jacobian_rows",
    "lie_rank",
    "matmul_mod",
    "nullspace_rref_mod",
    "rank_mod",
    "rational_reconstruction",
]
