"""The plot of a sweep: number of laws against number of parameters, coloured by flow.

What it does not check: anything about the rows; rows with an error or no count
are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._optional import require

__all__ = ["plot_counts"]


def plot_counts(rows: Sequence[Mapping[str, Any]], path: Path, title: str) -> str | None:
    """Scatter count vs number of parameters, one colour per flow (certified ``o``, not ``x``).

    Returns the path written, or None when no row has a count. Uses
    :class:`matplotlib.figure.Figure`, not pyplot: the user's backend is left
    alone (an Agg canvas).

    Raises
    ------
    MissingDependency
        matplotlib is not installed (``flowlaws[plots]``).
    """
    Figure = require("matplotlib.figure", extra="plots", what="the sweep's plot").Figure

    good = [r for r in rows if not r.get("error") and r.get("count") is not None and r.get("params") is not None]
    if not good:
        return None
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    flows = list(dict.fromkeys(r["flow"] for r in good))
    for i, flow in enumerate(flows):
        color = f"C{i % 10}"
        for certified, marker in ((True, "o"), (False, "x")):
            pts = [(r["params"], r["count"]) for r in good if r["flow"] == flow and bool(r["certified"]) is certified]
            if pts:
                xs, ys = zip(*pts)
                ax.scatter(xs, ys, c=color, marker=marker, alpha=0.7,
                           label=f"{flow}" + ("" if certified else " (not certified)"))
    ax.set_xlabel("number of parameters D")
    ax.set_ylabel("number of conservation laws")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return str(path)
