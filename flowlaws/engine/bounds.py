"""What is proved so far: the data passed from stage to stage of ``analyze``.

A :class:`Bounds` holds exact, independent laws (the lower bound ``len(laws)``)
and a certified rank (the upper bound ``dim − rank``). Stages never mutate
one: they return a new one, so whatever ``analyze`` holds when Ctrl-C
arrives is proved.

Examples
--------
>>> b = Bounds().with_laws([{((0, 2),): 1}], basis=None).timed("laws", 0.5)
>>> len(b.laws), b.rank_value, b.seconds
(1, 0, {'laws': 0.5})
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..algebra._lie import LieRank

__all__ = ["Bounds"]


@dataclass(frozen=True)
class Bounds:
    """Proved bounds of the count, and what the next stage needs to improve them.

    Attributes
    ----------
    laws : tuple of dict
        Verified, independent laws as sparse polynomials ``{monomial: coefficient}``.
    basis : object or None
        Echelon basis of their gradients at the law point (extended by later laws).
    rank : LieRank or None
        The certified rank and its words; None before any bracket was evaluated.
    search : LawSearch or None
        The exact law search still to run by degree; None when none is needed or possible.
    frobenius : dict or None
        The certificate's ``frobenius`` object once the count is proved by Frobenius
        (the lower bound is then ``dim − rank``, whatever the number of laws).
    log_laws : tuple of dict
        Verified rational / logarithmic laws ``{"polynomial": P0, "logs": [(c, p), ...]}`` (``P0 + Σ c log p``,
        sparse polynomials like ``laws``), independent of ``laws``.
    explicit : bool
        True when the rank words are those of the explicit fields of a network (the
        certificate then lists φ's coordinates and ``"coordinates"`` generators).
    rank_proof : object or None
        The triangular witness of the rank (:class:`~flowlaws.engine.triangular.Witness`) when the
        structured route proved it; None for the dense route (the rank's words).
    law_pivots : list of int or None
        With ``rank_proof``: one pivot parameter per law, making the laws' Jacobian triangular.
    notes : tuple of str
        What the result should say about how it was obtained.
    seconds : dict
        Time spent per kind of work (``"setup"``, ``"laws"``, ``"rank"``).
    """

    laws: tuple[dict, ...] = ()
    basis: Any = None
    rank: LieRank | None = None
    search: Any = None
    frobenius: dict | None = None
    explicit: bool = False
    log_laws: tuple[dict, ...] = ()
    rank_proof: Any = None
    law_pivots: Any = None
    notes: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def rank_value(self) -> int:
        return 0 if self.rank is None else self.rank.rank

    def with_laws(self, laws: list[dict], *, basis: Any) -> "Bounds":
        return replace(self, laws=tuple(laws), basis=basis)

    def with_rank(self, rank: LieRank | None) -> "Bounds":
        return replace(self, rank=rank)

    def with_rank_proof(self, witness: Any) -> "Bounds":
        return replace(self, rank_proof=witness)

    def with_law_pivots(self, pivots: Any) -> "Bounds":
        return replace(self, law_pivots=pivots)

    def with_search(self, search: Any) -> "Bounds":
        return replace(self, search=search)

    def with_frobenius(self, claim: dict, *, explicit: bool = False) -> "Bounds":
        return replace(self, frobenius=claim, explicit=explicit)

    def with_log_laws(self, laws: list[dict]) -> "Bounds":
        return replace(self, log_laws=self.log_laws + tuple(laws))

    def note(self, text: str) -> "Bounds":
        return replace(self, notes=self.notes + (text,))

    def timed(self, kind: str, seconds: float) -> "Bounds":
        return replace(self, seconds={**self.seconds, kind: self.seconds.get(kind, 0.0) + seconds})
