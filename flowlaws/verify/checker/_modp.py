"""Arithmetic mod a prime for the checker: primality, ranks, bracket words.

* :func:`is_prime`: deterministic Miller–Rabin (bases 2..41, exact below
  3.3e24; the checker only accepts primes below 2**64).
* :class:`Echelon`: incremental Gaussian elimination mod ``p`` on sparse
  vectors ``{index: value}``.
* :class:`WordEvaluator`: values of bracket words at an integer point mod
  ``p``. A word's value needs the *polynomials* of its two children only for
  their Jacobians at the point, so a top-level bracket costs two directional
  derivatives; the polynomial of a bracket is built (and memoized) only when
  that bracket is itself inside a bigger word.

What this module does not check: word shapes and generator indices (the
schema and generators steps do).

Examples
--------
>>> is_prime(16777213), is_prime(16777215)
(True, False)
>>> e = Echelon(7)
>>> [e.add(v) for v in ({0: 1, 1: 2}, {0: 2, 1: 4}, {1: 1})]
[True, False, True]
>>> e.rank
2
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from ._polys import Field, WorkLimitExceeded, bracket_field, bracket_work, field_at, field_directional_at

__all__ = ["MR_BASES", "is_prime", "Echelon", "rank_mod_p", "WordEvaluator", "Word"]

#: The first 13 primes: Miller–Rabin with these bases is deterministic for
#: n < 3 317 044 064 679 887 385 961 981 (about 3.3e24).
MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
MR_LIMIT = 3_317_044_064_679_887_385_961_981

#: Largest dimension for which :class:`Echelon` stores dense rows.
DENSE_LIMIT = 4096


def is_prime(n: int) -> bool:
    """Deterministic primality test for ``n < 3.3e24`` (Miller–Rabin).

    Raises
    ------
    ValueError
        If ``n`` is too large for the fixed bases to be a proof.
    """
    if n < 2:
        return False
    if n >= MR_LIMIT:
        raise ValueError(f"n={n} is too large for the deterministic Miller-Rabin bases (< {MR_LIMIT})")
    for q in MR_BASES:
        if n % q == 0:
            return n == q
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in MR_BASES:
        x = pow(a, d, n)
        if x == 1 or x == n - 1:
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


class Echelon:
    """Row echelon basis mod ``p`` of sparse vectors, grown one vector at a time.

    Vectors are given as ``{index: value}``. With ``dim`` (at most
    :data:`DENSE_LIMIT`) rows are stored as dense lists, which is faster for
    the short, fairly full vectors of small models.
    """

    def __init__(self, p: int, dim: int | None = None) -> None:
        self.p = p
        self.dim = dim if dim is not None and dim <= DENSE_LIMIT else None
        self._rows: list[tuple[int, Any]] = []  # (pivot column, row with 1 there)

    @property
    def rank(self) -> int:
        """Number of independent vectors added so far."""
        return len(self._rows)

    def reduce(self, vec: Mapping[int, int]) -> dict[int, int]:
        """``vec`` minus its projection on the current basis (mod ``p``)."""
        p = self.p
        if self.dim is not None:
            dense = [0] * self.dim
            for i, x in vec.items():
                dense[i] = x
            for col, row in self._rows:
                c = dense[col] % p
                if c:
                    # no reduction inside the loop: entries grow by at most p^2 per row
                    dense = [x - c * y for x, y in zip(dense, row)]
            return {i: x % p for i, x in enumerate(dense) if x % p}
        v = {i: x % p for i, x in vec.items() if x % p}
        for col, row in self._rows:
            c = v.get(col, 0)
            if not c:
                continue
            for i, x in row.items():
                y = (v.get(i, 0) - c * x) % p
                if y:
                    v[i] = y
                else:
                    v.pop(i, None)
        return v

    def add(self, vec: Mapping[int, int]) -> bool:
        """Add a vector; return whether it raised the rank."""
        v = self.reduce(vec)
        if not v:
            return False
        p = self.p
        col = min(v)
        inv = pow(v[col], -1, p)
        if self.dim is not None:
            row: Any = [0] * self.dim
            for i, x in v.items():
                row[i] = x * inv % p
        else:
            row = {i: x * inv % p for i, x in v.items()}
        self._rows.append((col, row))
        return True


def rank_mod_p(vectors: Sequence[Mapping[int, int]], p: int, dim: int | None = None) -> int:
    """Rank mod ``p`` of sparse vectors ``{index: value}``.

    Examples
    --------
    >>> rank_mod_p([{0: 1, 1: 1}, {0: 3, 1: 3}], 5)
    1
    """
    e = Echelon(p, dim)
    for v in vectors:
        e.add(v)
    return e.rank


Word = Union[int, tuple["Word", "Word"]]


class WordEvaluator:
    """Memoized values (and, when needed, polynomials) of bracket words mod ``p``.

    Parameters
    ----------
    generator_field : callable
        ``a -> {var: Poly mod p}``, the polynomial field of generator ``a``.
    point : sequence of int
        The evaluation point, already reduced mod ``p``.
    p : int
        The prime.
    generator_value : callable, optional
        ``a -> {var: value}``, generator ``a`` at the point, when that is
        cheaper than building its field (e.g. ``∇F_a`` straight from ``F_a``).
    generator_jvp : callable, optional
        ``(a, u) -> D(generator a)(point) · u``, likewise (a Hessian-vector
        product for a gradient field).
    max_work : int, optional
        Most term products all bracket polynomials together may take; past it
        :class:`~._polys.WorkLimitExceeded` is raised *before* the bracket is
        computed (a small certificate with deep words cannot hang the check).
    """

    def __init__(
        self,
        generator_field: Callable[[int], Field],
        point: Sequence[int],
        p: int,
        generator_value: Callable[[int], dict[int, int]] | None = None,
        generator_jvp: Callable[[int, dict[int, int]], dict[int, int]] | None = None,
        max_work: int | None = None,
    ) -> None:
        self.max_work = max_work
        self.work = 0
        self._gen = generator_field
        self._gen_value = generator_value
        self._gen_jvp = generator_jvp
        self.point = list(point)
        self.p = p
        self._fields: dict[Word, Field] = {}
        self._values: dict[Word, dict[int, int]] = {}

    def field(self, word: Word) -> Field:
        """The polynomial field of a word (memoized)."""
        got = self._fields.get(word)
        if got is None:
            if isinstance(word, int):
                got = self._gen(word)
            else:
                u, v = self.field(word[0]), self.field(word[1])
                if self.max_work is not None:
                    self.work += bracket_work(u, v)
                    if self.work > self.max_work:
                        raise WorkLimitExceeded(
                            f"its bracket polynomials need more than {self.max_work} term products"
                        )
                got = bracket_field(u, v, self.p)
            self._fields[word] = got
        return got

    def _directional(self, word: Word, vector: dict[int, int]) -> dict[int, int]:
        """``D(word)(point) · vector``."""
        if isinstance(word, int) and word not in self._fields and self._gen_jvp is not None:
            return self._gen_jvp(word, vector)
        return field_directional_at(self.field(word), self.point, vector)

    def value(self, word: Word) -> dict[int, int]:
        """The value of a word at the point, as a sparse vector mod ``p``."""
        got = self._values.get(word)
        if got is None:
            if isinstance(word, int) and word not in self._fields and self._gen_value is not None:
                got = self._gen_value(word)
            elif isinstance(word, int) or word in self._fields:
                got = field_at(self.field(word), self.point)
            else:
                u, v = word
                uval, vval = self.value(u), self.value(v)
                a = self._directional(v, uval)
                b = self._directional(u, vval)
                p = self.p
                got = dict(a)
                for i, x in b.items():
                    y = (got.get(i, 0) - x) % p
                    if y:
                        got[i] = y
                    else:
                        got.pop(i, None)
            self._values[word] = got
        return got
