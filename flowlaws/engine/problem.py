"""The question ``analyze`` answers, validated once: model, flow, points, prime and budgets.

Every later stage reads a :class:`Problem`; none re-validates its options.

Examples
--------
>>> import flowlaws as fl
>>> pb = pose(fl.models.mlp([2, 2, 1], "relu"), flow="momentum")
>>> pb.flow.name, pb.dim, pb.variables[:2], pb.max_degree
('momentum', 13, ('s', 'W1[0,0]'), 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..algebra._modular import DEFAULT_PRIME
from ..errors import BudgetExceeded, InvalidArgument
from ..models._model import Model
from .family import TRIANGULAR_MIN_DIM, triangular_route
from .flow import Flow, check_flow
from .metric import MatrixMetric

__all__ = ["Problem", "pose", "DEFAULT_MAX_DEGREE", "DEFAULT_MAX_DIM"]

DEFAULT_MAX_DEGREE = 4
DEFAULT_MAX_DIM = 20_000
#: Peak bytes per entry of the ``dim × dim`` rank computation (int64 matrix, its elimination copy and
#: the word batches; measured: 0.8 GiB at dim 5,600).
DENSE_RANK_BYTES_PER_ENTRY = 32


def available_memory() -> int | None:
    """Bytes of memory available to this process now (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def memory_problem(dim: int, available: int | None = None) -> str | None:
    """Why a dense rank of a ``dim × dim`` matrix would not fit in memory, or None.

    >>> memory_problem(80_000, available=22 * 2**30)
    'a dense rank for dim=80000 needs about 191 GiB (32 bytes per entry of a dim x dim matrix), more than the 22 GiB available; analyse a smaller model'
    >>> memory_problem(1_000, available=2**30) is None
    True
    """
    if dim < 4_096:
        return None
    available = available_memory() if available is None else available
    need = DENSE_RANK_BYTES_PER_ENTRY * dim * dim
    if available is None or need <= available:
        return None
    return (f"a dense rank for dim={dim} needs about {need / 2**30:.0f} GiB ({DENSE_RANK_BYTES_PER_ENTRY} bytes per entry "
            f"of a dim x dim matrix), more than the {available / 2**30:.0f} GiB available; analyse a smaller model")


@dataclass(frozen=True)
class Problem:
    """A validated analysis: what every stage of ``analyze`` reads.

    Attributes
    ----------
    model : Model
    flow : Flow
    dim : int
        Dimension of the space the flow lives on (``D``, or ``2D + 1`` on a phase space).
    variables : tuple of str
        Its coordinates' names.
    prime : int
        The rank and independence are computed mod this prime.
    point, law_point : numpy.ndarray
        Seeded points mod ``prime``: the rank's and the laws' independence check's.
    max_degree, max_monomials, seed : int
        The law search's budgets and seed.
    rank_proof : {"dense", "triangular"}
        How the rank is proved: words of brackets and a dense rank, or the triangular witness of a
        layered ReLU network (``engine/triangular.py``).
    """

    model: Model
    flow: Flow
    dim: int
    variables: tuple[str, ...]
    prime: int
    point: np.ndarray
    law_point: np.ndarray
    max_degree: int
    max_monomials: int
    seed: int
    rank_proof: str = "dense"


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidArgument(f"{name}={value!r} (type={type(value).__name__}): expected an integer")
    if value < minimum:
        raise InvalidArgument(f"{name}={value}: must be at least {minimum}")
    return int(value)


def pose(model: Model, *, flow: Any = "gradient", tau: Any = None, metric: Any = None,
         max_degree: int | None = None, max_dim: int = DEFAULT_MAX_DIM, max_monomials: int = 60_000,
         seed: int = 0, rank_proof: str = "auto") -> Problem:
    """Validate ``analyze``'s arguments and draw its points (see :func:`flowlaws.analyze`)."""
    if not isinstance(model, Model):
        raise InvalidArgument(
            f"model={model!r} (type={type(model).__name__}): build one with flowlaws.models.mlp, "
            "factorization, from_polynomials or parse"
        )
    flow = check_flow(flow, tau, metric, model=model)
    if max_degree is None:  # Nesterov's laws carry t^3: degree 5
        max_degree = DEFAULT_MAX_DEGREE + (1 if flow.name == "nesterov" else 0)
    max_degree = _check_int("max_degree", max_degree, 1)
    max_dim = _check_int("max_dim", max_dim, 1)
    max_monomials = _check_int("max_monomials", max_monomials, 1)
    seed = _check_int("seed", seed, 0)
    if seed >= 2**64:
        raise InvalidArgument(f"seed={seed}: must be below 2**64 (the certificate's seed is an unsigned 64-bit integer)")
    if model.dim > max_dim:
        raise BudgetExceeded(
            f"{model.name} has D={model.dim} parameters, over max_dim={max_dim}; raise the limit with "
            f"max_dim={model.dim} (CLI: --max-dim {model.dim}) to try"
        )
    D = flow.dim(model.dim)
    proof = _rank_proof(rank_proof, model, flow)
    too_big = None if proof == "triangular" else memory_problem(D)  # before any allocation: the OS would kill the process instead
    if too_big:
        raise BudgetExceeded(too_big)
    prime = DEFAULT_PRIME
    rng = np.random.default_rng(seed)
    point = rng.integers(1, prime, size=D, dtype=np.int64)
    law_point = rng.integers(1, prime, size=D, dtype=np.int64)
    if isinstance(flow.metric, MatrixMetric):  # the rank point must not make the metric's denominator vanish
        while not flow.metric.denominator_at(point[1 : model.dim + 1] if flow.phase else point, prime):
            point = rng.integers(1, prime, size=D, dtype=np.int64)
    return Problem(model=model, flow=flow, dim=D, variables=flow.variables(model.variables), prime=prime,
                   point=point, law_point=law_point, max_degree=max_degree, max_monomials=max_monomials, seed=seed,
                   rank_proof=proof)


def _rank_proof(option: Any, model: Model, flow: Flow) -> str:
    """``"dense"`` or ``"triangular"`` for the ``rank_proof`` option (``"auto"``: triangular when
    the model allows it and has at least ``TRIANGULAR_MIN_DIM`` parameters)."""
    if option not in ("auto", "dense", "triangular"):
        raise InvalidArgument(f"rank_proof={option!r}: expected 'auto', 'dense' or 'triangular'")
    allowed = triangular_route(model, flow)
    if option == "triangular" and not allowed:
        raise InvalidArgument("rank_proof='triangular' needs a layered network (models.mlp) with ReLU or leaky ReLU "
                              "hidden layers under plain gradient flow; use 'auto' or 'dense'")
    if option == "auto":
        return "triangular" if allowed and model.dim >= TRIANGULAR_MIN_DIM else "dense"
    return option
