"""The PNG figures of the implicit-bias lab (matplotlib, imported only when drawing)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import require


def _plot_stable_rank(path: str, results: dict[str, Any], ref: dict[str, float]) -> None:
    matplotlib = require("matplotlib", extra="plots", what="the bias-lab plots")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="the bias-lab plots")

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    for key, series in results["stable_rank"].items():
        ax.plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    ax.axhline(ref["gaussian"], color="grey", ls="--", lw=1, label=f"Gaussian estimate {ref['gaussian']:.1f}")
    ax.axhline(ref["leaky"], color="black", ls=":", lw=1, label=f"1+((1-γ)/(1+γ))² = {ref['leaky']:.2f}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("stable rank ‖W‖_F² / ‖W‖₂²")
    ax.set_title("Stable rank of the first layer (second layer fixed)")
    ax.legend(fontsize=8)
    ax = axes[1]
    for key, series in results["numerical_rank"].items():
        ax.plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0)
    ax.set_yscale("log")
    ax.set_xlabel("GD step (symlog)")
    ax.set_ylabel("numerical rank (σ_i > 0.01 σ_1)")
    ax.set_title("Numerical rank of the first layer")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_margin(path: str, results: dict[str, Any]) -> None:
    matplotlib = require("matplotlib", extra="plots", what="the bias-lab plots")

    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", extra="plots", what="the bias-lab plots")

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    for key, series in results["normalized_margin"].items():
        axes[0].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    for key, series in results["train_loss"].items():
        axes[1].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    for key, series in results.get("kkt_stationarity", {}).items():
        axes[2].plot(series["steps"], series["values"], marker="o", ms=3, label=f"init scale {key}")
    axes[2].set_ylabel("KKT stationarity residual (relative)")
    axes[2].set_title("Distance to a max-margin KKT point")
    for ax in axes:
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(left=0)
        ax.set_xlabel("GD step (symlog)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("normalized margin min_i y_i f(x_i) / ‖W‖_F")
    axes[0].set_title("Normalized margin (second layer fixed)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("mean logistic loss")
    axes[1].set_title("Training loss")
    fig.tight_layout()
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
        ref = vals[-1] * (np.asarray(lrs) / lrs[-1]) ** slope  # anchored at the smallest step
        ax.loglog(lrs, ref, ls="--", lw=1, color=line.get_color(), label=f"slope {slope} reference")
    gf = drift.get("gradient_flow") or {}
    if "max_drift" in gf:
        ax.axhline(max(gf["max_drift"], 1e-18), color="black", ls=":",
                   label=f"gradient flow ODE (rtol {gf['rtol']:g}, first {gf['n']} points, "
                   f"width {gf['width']}), t = {gf['t_end']:.3g}")
    ax.set_xlabel("step size η")
    ax.set_ylabel("max_j,t |h_j(θ_t) − h_j(θ_0)|,  h_j = a_j² − ‖w_j‖²")
    ax.set_title("Drift of the per-neuron laws, both layers trained")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
