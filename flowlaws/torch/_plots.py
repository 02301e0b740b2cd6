"""Plots of a :class:`~flowlaws.torch.LawMonitor` (matplotlib, the ``flowlaws[plots]`` extra).

Left: each law's value minus its value at step 0, over the recorded steps. Right: the
cumulative observed drift of each law (solid) and the cumulative predicted drift (dots),
with the predicted drift's first-order part (dashed): zero under plain SGD, where the whole
drift is second order, and most of it under momentum, Adam or weight decay.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require

__all__ = ["plot_monitor"]


def plot_monitor(monitor: Any, path: str | None = None, *, title: str | None = None, max_laws: int = 6) -> Any:
    """Draw the monitor's records; save to ``path`` (PNG) when given; return the figure."""
    matplotlib = require("matplotlib", extra="plots", what="LawMonitor.plot")
    if path is not None:
        matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="LawMonitor.plot")
    values, rsteps = monitor.values, monitor.record_steps
    per = monitor.per_step()
    steps = np.arange(1, per["observed"].shape[0] + 1)
    shown = list(range(min(len(monitor.laws), max_laws)))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    for i in shown:
        ax.plot(rsteps, values[:, i] - values[0, i], lw=1.4, label=f"law {i}")
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("h(θ_t) − h(θ_0)")
    ax.set_title("Law values (minus their start)")
    ax.legend(fontsize=8, ncol=2)
    ax = axes[1]
    cum_obs = np.cumsum(per["observed"], axis=0)
    cum_pred = np.cumsum(per["predicted"], axis=0)
    cum_first = np.cumsum(per["first_order"], axis=0)
    mark = max(1, len(steps) // 25)
    for i in shown:
        color = f"C{i % 10}"
        ax.plot(steps, cum_obs[:, i], color=color, lw=1.4)
        ax.plot(steps[::mark], cum_pred[::mark, i], "o", color=color, ms=3.5)
        ax.plot(steps, cum_first[:, i], "--", color=color, lw=1.0)
    handles = [plt.Line2D([], [], color="gray", lw=1.4, label="observed Σ h(θ⁺) − h(θ)"),
               plt.Line2D([], [], color="gray", marker="o", ls="", ms=3.5, label="predicted (Taylor, from the update)"),
               plt.Line2D([], [], color="gray", ls="--", lw=1.0, label="its first-order part")]
    ax.legend(handles=handles, fontsize=8)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cumulative drift")
    s = monitor.summary()
    ax.set_title(f"Predicted vs observed drift (max rel. error {s.max_relative_error:.1e})")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
