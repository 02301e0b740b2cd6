"""The result of a sweep: its rows, in request order, and what was found.

Examples
--------
>>> res = SweepResults([{"spec": "relu:2x2x1", "flow": "gradient", "certified": True, "error": None}])
>>> res.computed = 1
>>> print(res.summary())
1 rows (1 computed, 0 already in the table) in 0.0 s; 1 certified, 0 with an error
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["SweepResults"]


class SweepResults(list):  # type: ignore[type-arg]
    """The rows of a sweep (a ``list`` of dicts, in request order) and what was found.

    Attributes
    ----------
    computed, skipped : int
        Rows computed now / already in ``out``.
    checked : int
        Rows whose count was compared with ``expect``.
    mismatches : list of dict
        With ``expect``: rows whose count differs from the formula (``expected``
        set) or where it cannot be evaluated (``problem`` set).
    errors : list of dict
        Rows with ``error`` set.
    out, plot : str or None
        The table and the plot written.
    expect : str or None
    seconds : float
        Wall time of the sweep.
    """

    def __init__(self, rows: Iterable[dict[str, Any]] = ()) -> None:
        super().__init__(rows)
        self.computed = 0
        self.skipped = 0
        self.checked = 0
        self.mismatches: list[dict[str, Any]] = []
        self.out: str | None = None
        self.plot: str | None = None
        self.expect: str | None = None
        self.seconds = 0.0

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [r for r in self if r.get("error")]

    def summary(self) -> str:
        """A few lines: rows, certified, errors, and the formula check."""
        certified = sum(1 for r in self if r.get("certified"))
        lines = [
            f"{len(self)} rows ({self.computed} computed, {self.skipped} already in the table) in {self.seconds:.1f} s; "
            f"{certified} certified, {len(self.errors)} with an error"
        ]
        for r in self.errors[:10]:
            lines.append(f"  error  {r['spec']} [{r['flow']}]: {r['error']}")
        if len(self.errors) > 10:
            lines.append(f"  ... {len(self.errors) - 10} more errors")
        if self.expect is not None:
            total = self.checked + sum(1 for r in self.mismatches if r.get("problem"))
            what = f"({self.expect})" if ";" in self.expect else self.expect
            lines.append(f"expect {what}: {total - len(self.mismatches)} of {total} rows match")
            for r in self.mismatches[:20]:
                if r.get("problem"):
                    lines.append(f"  cannot check {r['spec']} [{r['flow']}]: {r['problem']}")
                else:
                    lines.append(f"  differs {r['spec']} [{r['flow']}]: count {r['count']}, expected {r['expected']}")
            if len(self.mismatches) > 20:
                lines.append(f"  ... {len(self.mismatches) - 20} more")
        if self.out:
            lines.append(f"table: {self.out}" + (f"; plot: {self.plot}" if self.plot else ""))
        return "\n".join(lines)
