"""The PNG figures of the implicit-bias lab (matplotlib, imported only when drawing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require


_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _series_style(i: int) -> dict[str, Any]:
    """Line style of the ``i``-th init scale: series that coincide (e.g. ranks stuck at ``m``) stay
    visible as nested hollow markers of different shapes and sizes."""
    return {"marker": _MARKERS[i % len(_MARKERS)], "ms": 3 + 1.6 * (i % len(_MARKERS)), "mfc": "none",
            "lw": 1.4, "markevery": 1}


def _legend_below(fig: Any, axes: Any, ncol: int) -> None:
    """One legend under the panels (never over the curves), from the first panel's lines plus
    any reference lines of the others."""
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    rows = -(-len(labels) // ncol)
    fig.tight_layout(rect=(0, 0.02 + 0.045 * rows, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, frameon=False)


def _plot_stable_rank(path: str, results: dict[str, Any], ref: dict[str, float]) -> None:
    matplotlib = require("matplotlib", extra="plots", what="the bias-lab plots")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="the bias-lab plots")

    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    ax = axes[0]
    for i, (key, series) in enumerate(results["stable_rank"].items()):
        ax.plot(series["steps"], series["values"], label=f"init scale {key}", **_series_style(i))
    # reference lines drawn over the curves (zorder), in black, so the curves at the same height do not hide them
    ax.axhline(ref["gaussian"], color="black", ls=(0, (6, 3)), lw=1.6, zorder=5,
               label=f"Gaussian estimate {ref['gaussian']:.1f}")
    ax.axhline(ref["leaky"], color="black", ls=":", lw=1.6, zorder=5,
               label=f"1+((1-γ)/(1+γ))² = {ref['leaky']:.2f}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("stable rank ‖W‖_F² / ‖W‖₂²")
    ax.set_title("Stable rank of the first layer (second layer fixed)")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.6)  # headroom: the Gaussian line is not on the frame
    ax = axes[1]
    for i, (key, series) in enumerate(results["numerical_rank"].items()):
        ax.plot(series["steps"], series["values"], label=f"init scale {key}", **_series_style(i))
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("numerical rank (σ_i > 0.01 σ_1)")
    ax.set_title("Numerical rank of the first layer")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.6)
    _legend_below(fig, axes, ncol=4)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_margin(path: str, results: dict[str, Any]) -> None:
    matplotlib = require("matplotlib", extra="plots", what="the bias-lab plots")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="the bias-lab plots")

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.0))
    for i, (key, series) in enumerate(results["normalized_margin"].items()):
        axes[0].plot(series["steps"], series["values"], label=f"init scale {key}", **_series_style(i))
    for i, (key, series) in enumerate(results["train_loss"].items()):
        axes[1].plot(series["steps"], series["values"], label=f"init scale {key}", **_series_style(i))
    for i, (key, series) in enumerate(results.get("kkt_stationarity", {}).items()):
        axes[2].plot(series["steps"], series["values"], label=f"init scale {key}", **_series_style(i))
    axes[2].set_ylabel("KKT stationarity residual (relative)")
    axes[2].set_title("Distance to a max-margin KKT point")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_xlabel("GD step (symlog)")
    axes[0].set_ylabel("normalized margin min_i y_i f(x_i) / ‖W‖_F")
    axes[0].set_title("Normalized margin (second layer fixed)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("mean logistic loss")
    axes[1].set_title("Training loss")
    _legend_below(fig, axes, ncol=5)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_drift(path: str, drift: dict[str, Any]) -> None:
    matplotlib = require("matplotlib", extra="plots", what="the bias-lab plots")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="the bias-lab plots")

    fig, ax = plt.subplots(figsize=(7, 5))
    for key, label, slope in (("fixed_steps", "fixed number of steps", 2), ("fixed_time", "fixed training time", 1)):
        part = drift.get(key) or {}
        lrs, vals = part.get("lrs", []), part.get("max_drift", [])
        if not vals:
            continue
        line = ax.loglog(lrs, vals, marker="o", label=f"GD, {label} ({part.get('description', '')})")[0]
        # anchored a factor 4 below the smallest step's value: parallel to the data, never on top of it
        ref = vals[-1] / 4 * (np.asarray(lrs) / lrs[-1]) ** slope
        ax.loglog(lrs, ref, ls="--", lw=1, color=line.get_color(), label=f"slope {slope} reference (offset)")
    gf = drift.get("gradient_flow") or {}
    if "max_drift" in gf:
        ax.axhline(max(gf["max_drift"], 1e-18), color="black", ls=":",
                   label=f"gradient flow ODE (rtol {gf['rtol']:g}, first {gf['n']} points, "
                   f"width {gf['width']}), t = {gf['t_end']:.3g}")
    ax.set_xlabel("step size η")
    ax.set_ylabel("max_j,t |h_j(θ_t) − h_j(θ_0)|,  h_j = a_j² − ‖w_j‖²")
    ax.set_title("Drift of the per-neuron laws, both layers trained")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
