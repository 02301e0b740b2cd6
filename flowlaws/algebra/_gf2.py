"""Linear algebra over GF(2) with Python ints as bit masks.

Used for gradings: the class of a monomial is its parity vector modulo a
subspace of relations.

Examples
--------
>>> B = GF2Basis()
>>> B.add(0b0110)
>>> B.reduce(0b0100) == B.reduce(0b0010)
True
"""

from __future__ import annotations

__all__ = ["GF2Basis"]


class GF2Basis:
    """A subspace of GF(2)^D in reduced echelon form.

    Every row has its own top bit (its pivot) and no other row's pivot, so the
    canonical representative of ``v`` is ``v`` xor the rows of the pivots set in ``v``.
    """

    def __init__(self) -> None:
        self.rows: dict[int, int] = {}  # pivot bit -> row

    def __bool__(self) -> bool:
        return bool(self.rows)

    def reduce(self, v: int) -> int:
        """The canonical representative of ``v`` modulo the subspace (no pivot bit set)."""
        out = v
        rest = v
        while rest:
            low = rest & -rest
            rest ^= low
            row = self.rows.get(low.bit_length() - 1)
            if row is not None:
                out ^= row
        return out

    def add(self, v: int) -> None:
        """Add ``v`` to the subspace."""
        v = self.reduce(v)
        if v:
            top = v.bit_length() - 1
            for bit, row in self.rows.items():
                if (row >> top) & 1:
                    self.rows[bit] = row ^ v
            self.rows[top] = v
